package line

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/switchboard-dev/switchboard/connectors"
)

// LINE's limits on what Send makes.
const (
	MaxText          = 5000 // a text message, in UTF-16 code units
	MaxMessages      = 5    // messages in one reply or push request
	MaxQuickReplies  = 13   // quick reply buttons
	MaxQuickLabel    = 20   // a quick reply button's label
	MaxPostbackData  = 300  // a postback action's data
	MaxDisplayText   = 300  // a postback action's displayText
	ReplyTokenWindow = 50 * time.Second
)

// HeaderRetryKey makes a push idempotent on LINE's side.
const HeaderRetryKey = "X-Line-Retry-Key"

// Send delivers m: with the reply token of the recipient's latest
// message while it is fresh (unless an agent writes: agents' replies are
// pushed, as they come late and should not use up a token the flow may
// need), else, or when the reply fails, as a push whose X-Line-Retry-Key
// is derived from the message's key. More than five messages go in
// several requests; the ones LINE accepted are remembered, so the
// outbox's retry sends only the rest. It returns the id of the last
// message LINE sent.
func (c *connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if m.Key == "" {
		return "", connectors.Permanent(errorf("outbound message has no key"))
	}
	msgs, quick, err := messages(m)
	if err != nil {
		return "", connectors.Permanent(errorf("%w", err))
	}
	if quick {
		c.remember(m.To, m.Choices)
	}
	token := ""
	if m.Agent == "" {
		token = c.replies.take(m.To)
	}
	var id string
	for i := 0; i*MaxMessages < len(msgs); i++ {
		batch := msgs[i*MaxMessages : min((i+1)*MaxMessages, len(msgs))]
		key := m.Key + "#" + strconv.Itoa(i)
		if prev, ok := c.sent.Get(key); ok {
			id, token = prev, ""
			continue
		}
		var got string
		var err error
		if token != "" {
			got, err = c.reply(ctx, token, batch)
			token = ""
			if err != nil {
				c.log.Info("reply token refused, pushing", "to", m.To, "err", err)
				got, err = c.push(ctx, m.To, RetryKey(key), batch)
			}
		} else {
			got, err = c.push(ctx, m.To, RetryKey(key), batch)
		}
		if err != nil {
			if len(msgs) > MaxMessages {
				err = fmt.Errorf("request %d of %d: %w", i+1, (len(msgs)+MaxMessages-1)/MaxMessages, err)
			}
			return "", err
		}
		id = got
		c.sent.Put(key, id)
	}
	return id, nil
}

// api is a client for one call: the SDK's client keeps the context in
// itself, so it is not shared between calls.
func (c *connector) api(ctx context.Context) (*messaging_api.MessagingApiAPI, error) {
	api, err := messaging_api.NewMessagingApiAPI(c.token, messaging_api.WithEndpoint(c.apiURL), messaging_api.WithHTTPClient(c.http))
	if err != nil {
		return nil, connectors.Permanent(errorf("%w", err))
	}
	return api.WithContext(ctx), nil
}

func (c *connector) reply(ctx context.Context, token string, msgs []messaging_api.MessageInterface) (string, error) {
	api, err := c.api(ctx)
	if err != nil {
		return "", err
	}
	res, ans, err := api.ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{ReplyToken: token, Messages: msgs})
	if err != nil {
		if accepted(res) {
			return "", nil
		}
		return "", c.failure("reply", res, err)
	}
	return lastID(ans.SentMessages), nil
}

func (c *connector) push(ctx context.Context, to, retryKey string, msgs []messaging_api.MessageInterface) (string, error) {
	api, err := c.api(ctx)
	if err != nil {
		return "", err
	}
	res, ans, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: to, Messages: msgs}, retryKey)
	if err == nil {
		return lastID(ans.SentMessages), nil
	}
	if accepted(res) {
		return "", nil
	}
	if res != nil && res.StatusCode == http.StatusConflict && res.Header.Get("X-Line-Accepted-Request-Id") != "" {
		// An earlier attempt with this retry key was accepted: the
		// messages went out once, which is what the retry wanted.
		var e messaging_api.ErrorResponse
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		_ = json.Unmarshal(body, &e)
		return lastID(e.SentMessages), nil
	}
	return "", c.failure("push", res, err)
}

// accepted: LINE answered 2xx, and only its body did not decode. The
// messages went out; sending them again would repeat them.
func accepted(res *http.Response) bool { return res != nil && res.StatusCode/100 == 2 }

func lastID(sent []messaging_api.SentMessage) string {
	if len(sent) == 0 {
		return ""
	}
	return sent[len(sent)-1].Id
}

// failure classifies a failed call: no answer, 408, 429 and 5xx are
// temporary (429 with its Retry-After), any other 4xx permanent, with
// LINE's message and details.
func (c *connector) failure(call string, res *http.Response, err error) error {
	if res == nil {
		return errorf("%s: %w", call, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var e messaging_api.ErrorResponse
	reason := connectors.Excerpt(body, 200)
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		reason = e.Message
		for _, d := range e.Details {
			reason += "; " + d.Property + ": " + d.Message
		}
	}
	out := errorf("%s: LINE answered %d: %s", call, res.StatusCode, reason)
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		if d, ok := connectors.ParseRetryAfter(res.Header.Get("Retry-After"), c.now()); ok {
			return connectors.RetryAfter(out, d)
		}
		return out
	case res.StatusCode == http.StatusRequestTimeout || res.StatusCode >= 500:
		return out
	}
	return connectors.Permanent(out)
}

// RetryKey is the X-Line-Retry-Key of the request key: a UUID made from
// its hash, so every retry of the request carries the same one.
func RetryKey(key string) string {
	h := sha256.Sum256([]byte("switchboard line retry key\x00" + key))
	h[6] = h[6]&0x0f | 0x40 // shaped as a version 4 UUID, which LINE's check expects
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// messages builds the LINE messages of m, in order, and reports whether
// the choices went as quick replies.
func messages(m *connectors.Outbound) ([]messaging_api.MessageInterface, bool, error) {
	if m.Channel != "" && m.Channel != Channel {
		return nil, false, fmt.Errorf("channel %q: %w (this connector sends line)", m.Channel, connectors.ErrUnsupported)
	}
	if m.To == "" {
		return nil, false, errors.New("outbound message has no recipient")
	}
	var out []messaging_api.MessageInterface
	text := m.Text
	for _, link := range m.Media {
		u, err := url.Parse(link)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, false, fmt.Errorf("media %q: LINE fetches media by an absolute https URL", link)
		}
		switch strings.ToLower(path.Ext(u.Path)) {
		case ".jpg", ".jpeg", ".png":
			out = append(out, &messaging_api.ImageMessage{OriginalContentUrl: link, PreviewImageUrl: link})
		default:
			// Video and audio messages need a preview image and a
			// duration that a link does not give: send the link.
			text = strings.TrimLeft(text+"\n"+link, "\n")
		}
	}
	quick := len(m.Choices) > 0 && fitQuickReplies(m.Choices)
	if len(m.Choices) > 0 && !quick {
		text = connectors.MenuText(text, m.Choices)
	}
	if quick && strings.TrimSpace(text) == "" && len(out) == 0 {
		text = connectors.MenuText("", m.Choices)
	}
	for _, part := range connectors.SplitText(text, MaxText, nil) {
		out = append(out, &messaging_api.TextMessage{Text: part})
	}
	if len(out) == 0 {
		return nil, false, errors.New("outbound message has no text, media or choices")
	}
	if quick {
		qr := quickReply(m.Choices)
		switch last := out[len(out)-1].(type) {
		case *messaging_api.TextMessage:
			last.QuickReply = qr
		case *messaging_api.ImageMessage:
			last.QuickReply = qr
		}
	}
	return out, quick, nil
}

// quickReply is the choices as postback buttons: tapping one posts back
// its id and shows its title as the customer's message.
func quickReply(choices []connectors.Choice) *messaging_api.QuickReply {
	qr := &messaging_api.QuickReply{}
	for _, ch := range choices {
		qr.Items = append(qr.Items, messaging_api.QuickReplyItem{Type: "action",
			Action: &messaging_api.PostbackAction{Label: ch.Title, Data: ch.ID, DisplayText: ch.Title}})
	}
	return qr
}

// fitQuickReplies: within LINE's limits, with distinct non-empty ids.
func fitQuickReplies(choices []connectors.Choice) bool {
	if len(choices) > MaxQuickReplies {
		return false
	}
	seen := make(map[string]bool, len(choices))
	for _, ch := range choices {
		if ch.ID == "" || ch.Title == "" || seen[ch.ID] || units(ch.Title) > MaxQuickLabel ||
			units(ch.ID) > MaxPostbackData || units(ch.Title) > MaxDisplayText {
			return false
		}
		seen[ch.ID] = true
	}
	return true
}

// units counts characters as UTF-16 code units, never fewer than LINE
// counts.
func units(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// replyTokens keeps the reply token of each recipient's latest message
// while it may still be used: LINE takes it once, within about a minute.
type replyTokens struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]replyToken
}

type replyToken struct {
	token string
	at    time.Time
}

func newReplyTokens(now func() time.Time) *replyTokens {
	return &replyTokens{now: now, m: map[string]replyToken{}}
}

// put keeps token for recipient, timed from the event's receipt rather
// than its timestamp, which comes from LINE's clock, not ours.
func (r *replyTokens) put(recipient, token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.m) >= maxRemembered {
		for k, t := range r.m {
			if now.Sub(t.at) > ReplyTokenWindow {
				delete(r.m, k)
			}
		}
	}
	if len(r.m) < maxRemembered {
		r.m[recipient] = replyToken{token, now}
	}
}

// take returns recipient's token if it is fresh, and forgets it: it is
// single use.
func (r *replyTokens) take(recipient string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.m[recipient]
	delete(r.m, recipient)
	if !ok || r.now().Sub(t.at) > ReplyTokenWindow {
		return ""
	}
	return t.token
}
