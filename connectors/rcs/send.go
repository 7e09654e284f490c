package rcs

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/switchboard-dev/switchboard/connectors"
)

// RBM's limits on one agent message.
const (
	MaxText           = 3072 // characters of a text message
	MaxSuggestions    = 11   // suggestions on one message
	MaxSuggestionText = 25   // characters of a suggestion's text
	MaxPostbackData   = 2048 // bytes of a suggestion's postbackData
)

// How long a capability check is believed: a number gains or loses RCS
// when its owner changes phone or settings, rarely within a day; one
// without RCS is checked again sooner, as turning RCS on is one tap.
const (
	capableTTL   = 24 * time.Hour
	incapableTTL = time.Hour
)

// capability is what a number's capability check said, and when.
type capability struct {
	rcs bool
	at  time.Time
}

// agentMessage is the body of agentMessages.create.
type agentMessage struct {
	ContentMessage contentMessage `json:"contentMessage"`
}

type contentMessage struct {
	Text        string       `json:"text,omitempty"`
	ContentInfo *contentInfo `json:"contentInfo,omitempty"`
	Suggestions []suggestion `json:"suggestions,omitempty"`
}

type contentInfo struct {
	FileURL string `json:"fileUrl"`
}

type suggestion struct {
	Reply *suggestedReply `json:"reply"`
}

type suggestedReply struct {
	Text         string `json:"text"`
	PostbackData string `json:"postbackData"`
}

// ErrNoRCS marks (errors.Is) a Send error saying that the recipient's
// phone cannot receive RCS: the message must go another way, by SMS.
var ErrNoRCS = errors.New("the number cannot receive RCS")

// Send checks the recipient's RCS capability (once, then cached) and
// delivers m's parts, each with a messageId derived from m.Key and the
// part's index, so that a retry creates nothing twice: RBM answers 409
// for a messageId it already has. It returns the last part's id, which
// the DELIVERED and READ events name.
func (c *connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if m.Key == "" {
		return "", connectors.Permanent(errorf("outbound message has no key"))
	}
	if m.Channel != "" && m.Channel != Channel {
		return "", errorf("channel %q: %w (this connector sends rcs)", m.Channel, connectors.ErrUnsupported)
	}
	to, err := phone(m.To)
	if err != nil {
		return "", connectors.Permanent(errorf("%v", err))
	}
	msgs := messages(m)
	if len(msgs) == 0 {
		return "", connectors.Permanent(errorf("outbound message %s has no text, media or choices", m.Key))
	}
	if err := c.checkCapability(ctx, to, m.Key); err != nil {
		return "", err
	}
	var id string
	for i := range msgs {
		id, err = c.post(ctx, to, MessageID(m.Key+"#"+strconv.Itoa(i)), &msgs[i])
		if err != nil {
			if len(msgs) > 1 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(msgs), err)
			}
			return "", err
		}
	}
	return id, nil
}

// phone checks that to is an E.164 number, the only address RBM has.
func phone(to string) (string, error) {
	digits := strings.TrimPrefix(to, "+")
	if !strings.HasPrefix(to, "+") || len(digits) < 7 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return "", fmt.Errorf("%q is not an E.164 phone number (+ and 7 to 15 digits)", to)
	}
	return to, nil
}

// messages builds the agent messages of m, in order: the text's parts,
// then each media by URL; the choices, as suggested replies, ride on the
// last one, or are folded into the text when RBM's limits refuse them.
func messages(m *connectors.Outbound) []agentMessage {
	text := m.Text
	native := suggestible(m.Choices)
	if len(m.Choices) > 0 && (!native || (strings.TrimSpace(text) == "" && len(m.Media) == 0)) {
		text, native = connectors.MenuText(text, m.Choices), false
	}
	var out []agentMessage
	for _, part := range connectors.SplitText(text, MaxText, nil) {
		out = append(out, agentMessage{contentMessage{Text: part}})
	}
	for _, u := range m.Media {
		out = append(out, agentMessage{contentMessage{ContentInfo: &contentInfo{FileURL: u}}})
	}
	if native && len(out) > 0 {
		last := &out[len(out)-1].ContentMessage
		for _, ch := range m.Choices {
			last.Suggestions = append(last.Suggestions, suggestion{&suggestedReply{Text: ch.Title, PostbackData: ch.ID}})
		}
	}
	return out
}

// suggestible reports whether the choices fit RBM's suggested replies.
func suggestible(choices []connectors.Choice) bool {
	if len(choices) == 0 || len(choices) > MaxSuggestions {
		return false
	}
	for _, ch := range choices {
		n := 0
		for _, r := range ch.Title {
			n += utf16.RuneLen(r)
		}
		if n == 0 || n > MaxSuggestionText || ch.ID == "" || len(ch.ID) > MaxPostbackData {
			return false
		}
	}
	return true
}

// checkCapability asks RBM, unless it said recently, whether to can
// receive RCS; a number that cannot fails with ErrNoRCS.
func (c *connector) checkCapability(ctx context.Context, to, key string) error {
	c.mu.Lock()
	known, ok := c.capable[to]
	c.mu.Unlock()
	now := c.now()
	if ok && (known.rcs && now.Sub(known.at) < capableTTL || !known.rcs && now.Sub(known.at) < incapableTTL) {
		if !known.rcs {
			return c.noRCS(to)
		}
		return nil
	}
	q := url.Values{"requestId": {MessageID(key + "#capabilities")}}
	resp, err := c.api.call(ctx, http.MethodGet, phonePath(to)+"/capabilities", q, nil)
	if err != nil {
		return errorf("capability check of %s: %w", to, err)
	}
	switch {
	case resp.status == http.StatusOK:
		c.remember(to, true)
		return nil
	case resp.status == http.StatusNotFound:
		c.remember(to, false)
		return c.noRCS(to)
	}
	return classify(resp, "capability check of "+to, c.now())
}

func (c *connector) remember(to string, rcs bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.capable) >= maxCapabilities {
		clear(c.capable) // bounded memory: every number is checked again once
	}
	c.capable[to] = capability{rcs: rcs, at: c.now()}
}

// maxCapabilities bounds the numbers whose capability is remembered.
const maxCapabilities = 100_000

// noRCS is the permanent error of a send to a number without RCS; with an
// SMS fallback configured, it asks the runtime to send the message by SMS
// through that twilio instance instead.
func (c *connector) noRCS(to string) error {
	if c.fallback != "" {
		return &connectors.FallbackError{Connector: "twilio", Instance: c.fallback, Channel: "sms",
			Reason: connectors.Permanent(errorf("%s: %w", to, ErrNoRCS))}
	}
	return connectors.Permanent(errorf("%s: %w (RBM has no RCS capability for it, or the agent is not launched to its carrier "+
		"and the number is not a tester)", to, ErrNoRCS))
}

// post creates one agent message and returns its id.
func (c *connector) post(ctx context.Context, to, id string, msg *agentMessage) (string, error) {
	resp, err := c.api.call(ctx, http.MethodPost, phonePath(to)+"/agentMessages", url.Values{"messageId": {id}}, msg)
	if err != nil {
		return "", errorf("sending to %s: %w", to, err)
	}
	switch resp.status {
	case http.StatusOK:
		var ans struct {
			Name string `json:"name"` // phones/{number}/agentMessages/{messageId}
		}
		if jsonErr := decode(resp.body, &ans); jsonErr == nil && ans.Name != "" {
			return ans.Name[strings.LastIndexByte(ans.Name, '/')+1:], nil
		}
		return id, nil
	case http.StatusConflict:
		// An earlier attempt created it: the retry of a send whose answer
		// was lost.
		return id, nil
	case http.StatusNotFound:
		c.remember(to, false)
		return "", c.noRCS(to)
	}
	return "", classify(resp, "sending to "+to, c.now())
}

// classify turns a failed answer into a Send error: 408, 429 and 5xx are
// temporary (with Retry-After's delay), any other is permanent.
func classify(resp *response, what string, now time.Time) error {
	err := errorf("%s: RBM answered %d %s", what, resp.status, resp.reason())
	switch {
	case resp.status == http.StatusTooManyRequests || resp.status == http.StatusRequestTimeout || resp.status >= 500:
		if d, ok := connectors.ParseRetryAfter(resp.header.Get("Retry-After"), now); ok {
			return connectors.RetryAfter(err, d)
		}
		return err
	case resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden:
		return connectors.Permanent(fmt.Errorf("%w (check that the service account belongs to the agent's partner account and the RBM API is enabled)", err))
	}
	return connectors.Permanent(err)
}

// phonePath is the API path of a number: /v1/phones/+14155550100.
func phonePath(to string) string { return "/v1/phones/" + url.PathEscape(to) }

// MessageID derives the RBM messageId of a part from its key: a
// name-based UUID (version 5, RFC 9562) in a namespace of the connector's
// own, so the same key always gives the same id.
func MessageID(key string) string {
	h := sha1.New()
	h.Write(idNamespace[:])
	h.Write([]byte(key))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// idNamespace is the UUID namespace of the ids MessageID derives.
var idNamespace = [16]byte{0x6f, 0x1c, 0x2b, 0x8e, 0x53, 0x0d, 0x4a, 0x2f, 0x9b, 0x61, 0x3e, 0x7a, 0xc4, 0x05, 0xd2, 0x98}

func excerpt(b []byte) string { return connectors.Excerpt(b, 200) }

func permanent(err error) error { return connectors.Permanent(err) }
