package discord

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Discord's limits on what Send makes.
const (
	MaxText        = 2000 // a message's content
	MaxButtons     = 5    // buttons in an action row
	MaxRows        = 5    // action rows of a message
	MaxButtonLabel = 80
	MaxCustomID    = 100
	MaxSelect      = 25 // options of a select menu
	MaxOptionLabel = 100
	MaxPlaceholder = 150
	MaxNonce       = 25
)

// Component types.
const (
	componentActionRow    = 1
	componentButton       = 2
	componentStringSelect = 3
	buttonPrimary         = 1
)

// outMessage is the body of POST /channels/{channel.id}/messages, and the
// data of an interaction's message answer.
type outMessage struct {
	Content      string      `json:"content"`
	Components   []component `json:"components,omitempty"`
	Nonce        string      `json:"nonce,omitempty"`
	EnforceNonce bool        `json:"enforce_nonce,omitempty"`
}

// component is an action row, a button, a string select or (in a modal's
// submission) a text input.
type component struct {
	Type        int            `json:"type"`
	Components  []component    `json:"components,omitempty"`
	Style       int            `json:"style,omitempty"`
	Label       string         `json:"label,omitempty"`
	CustomID    string         `json:"custom_id,omitempty"`
	Placeholder string         `json:"placeholder,omitempty"`
	Options     []selectOption `json:"options,omitempty"`
	Value       string         `json:"value,omitempty"`
}

type selectOption struct {
	Label       string `json:"label"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// message is the part of Discord's Message object the connector reads: a
// Gateway MESSAGE_CREATE's, a send's answer, an interaction's message.
type message struct {
	ID          string       `json:"id"`
	ChannelID   string       `json:"channel_id"`
	GuildID     string       `json:"guild_id"`
	Author      *user        `json:"author"`
	Content     string       `json:"content"`
	Timestamp   string       `json:"timestamp"`
	Type        int          `json:"type"`
	Attachments []attachment `json:"attachments"`
	Components  []component  `json:"components"`
}

type attachment struct {
	URL         string `json:"url"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
}

// label finds the title of the button customID, or of the select option
// value, among the message's components.
func (m *message) label(customID, value string) string {
	for _, row := range m.Components {
		for _, c := range row.Components {
			switch {
			case c.Type == componentButton && c.CustomID == customID:
				return c.Label
			case c.Type == componentStringSelect && c.CustomID == customID:
				for _, o := range c.Options {
					if o.Value == value {
						return o.Label
					}
				}
			}
		}
	}
	return ""
}

// selectID is the custom_id of the select menu Send makes for a Menu: the
// tapped option's value is the choice.
const selectID = "choice"

// renderChoices returns the text and the components that offer choices:
// buttons, five to a row, when they fit Discord's limits and no Menu is
// asked; a select menu for a Menu; else the numbered menu in the text.
func renderChoices(text string, choices []connectors.Choice, menu string) (string, []component) {
	if len(choices) == 0 {
		return text, nil
	}
	if menu != "" {
		if sel, ok := selectMenu(choices, menu); ok {
			return text, sel
		}
	} else if rows, ok := buttonRows(choices); ok {
		return text, rows
	}
	return connectors.MenuText(text, choices), nil
}

func buttonRows(choices []connectors.Choice) ([]component, bool) {
	if len(choices) > MaxButtons*MaxRows {
		return nil, false
	}
	var rows []component
	for i, ch := range choices {
		if ch.Title == "" || ch.ID == "" || !fits(ch.Title, MaxButtonLabel) || !fits(ch.ID, MaxCustomID) {
			return nil, false
		}
		if i%MaxButtons == 0 {
			rows = append(rows, component{Type: componentActionRow})
		}
		row := &rows[len(rows)-1]
		row.Components = append(row.Components, component{Type: componentButton, Style: buttonPrimary, Label: ch.Title, CustomID: ch.ID})
	}
	return rows, true
}

func selectMenu(choices []connectors.Choice, menu string) ([]component, bool) {
	if len(choices) > MaxSelect || !fits(menu, MaxPlaceholder) {
		return nil, false
	}
	sel := component{Type: componentStringSelect, CustomID: selectID, Placeholder: menu}
	for _, ch := range choices {
		if ch.Title == "" || ch.ID == "" || !fits(ch.Title, MaxOptionLabel) || !fits(ch.ID, MaxCustomID) || !fits(ch.Description, MaxOptionLabel) {
			return nil, false
		}
		sel.Options = append(sel.Options, selectOption{Label: ch.Title, Value: ch.ID, Description: ch.Description})
	}
	return []component{{Type: componentActionRow, Components: []component{sel}}}, true
}

// fits reports whether s is within max characters; Discord counts
// characters, not bytes.
func fits(s string, max int) bool { return utf8.RuneCountInString(s) <= max }

// withMedia is a message's text with its media's URLs after it, a line
// each: Discord shows a linked image or video inline.
func withMedia(m *connectors.Outbound) string {
	if len(m.Media) == 0 {
		return m.Text
	}
	return strings.TrimSpace(m.Text + "\n" + strings.Join(m.Media, "\n"))
}

// Send posts the message to the channel m.To (an Inbound's From), in
// parts of at most 2000 characters, the choices under the last. Each part
// carries a nonce made from Key with enforce_nonce, so Discord answers a
// retry with the message it already made; the parts Discord accepted are
// also remembered, so a retry sends only the rest. It returns the last
// part's id.
func (c *Conn) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if m.To == "" || strings.Trim(m.To, "0123456789") != "" {
		return "", connectors.Permanent(fmt.Errorf("discord: recipient %q is not a channel id (a snowflake, the Inbound's From)", m.To))
	}
	text, comps := renderChoices(withMedia(m), m.Choices, m.Menu)
	parts := connectors.SplitText(text, MaxText, nil)
	if len(parts) == 0 {
		if len(comps) == 0 {
			return "", connectors.Permanent(fmt.Errorf("discord: message %s has no text, media or choices", m.Key))
		}
		parts = []string{""}
	}
	var id string
	for i, p := range parts {
		key := m.Key + "#" + strconv.Itoa(i)
		if done, ok := c.sent.Get(key); ok {
			id = done
			continue
		}
		out := outMessage{Content: p, Nonce: Nonce(m.Key, i), EnforceNonce: true}
		if i == len(parts)-1 {
			out.Components = comps
		}
		got, err := c.post(ctx, "/channels/"+m.To+"/messages", out)
		if err != nil {
			return "", err
		}
		c.sent.Put(key, got)
		id = got
	}
	return id, nil
}

// Nonce is the nonce of part i of the message with key: Discord takes at
// most 25 characters, so it is a digest of key and part.
func Nonce(key string, part int) string {
	sum := sha256.Sum256([]byte(key + "#" + strconv.Itoa(part)))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:MaxNonce]
}

// apiError is Discord's error body.
type apiError struct {
	Code       int     `json:"code"`
	Message    string  `json:"message"`
	RetryAfter float64 `json:"retry_after"` // seconds, on 429
}

func (c *Conn) post(ctx context.Context, path string, body any) (string, error) {
	data, _ := json.Marshal(body) // only strings, numbers and slices of them: it cannot fail
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+path, bytes.NewReader(data))
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("discord: %w", err))
	}
	req.Header.Set("Authorization", "Bot "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "DiscordBot (https://github.com/switchboard-dev/switchboard, 1)")
	resp, err := c.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("discord: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("discord: POST %s: reading the answer: %w", path, err)
	}
	if resp.StatusCode/100 == 2 {
		var got message
		if err := json.Unmarshal(raw, &got); err != nil || got.ID == "" {
			return "", connectors.Permanent(fmt.Errorf("discord: POST %s: %d without a message id: %s", path, resp.StatusCode, connectors.Excerpt(raw, 200)))
		}
		return got.ID, nil
	}
	return "", c.failure(path, resp, raw)
}

// failure classifies a refused send: 429 (rate limited), 408 and 5xx are
// temporary, every other refusal permanent (403 with 50007: the user
// does not take DMs from the bot; 401: a bad token; 404: no such channel).
func (c *Conn) failure(path string, resp *http.Response, raw []byte) error {
	var ae apiError
	reason := connectors.Excerpt(raw, 200)
	if json.Unmarshal(raw, &ae) == nil && ae.Message != "" {
		reason = ae.Message
		if ae.Code != 0 {
			reason += " (" + strconv.Itoa(ae.Code) + ")"
		}
	}
	err := fmt.Errorf("discord: POST %s: %d %s", path, resp.StatusCode, reason)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		d, ok := connectors.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		if ae.RetryAfter > 0 {
			d, ok = min(time.Duration(ae.RetryAfter*float64(time.Second)), connectors.MaxRetryAfter), true
		}
		if ok {
			return connectors.RetryAfter(err, d)
		}
		return err
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode >= 500:
		return err
	}
	return connectors.Permanent(err)
}
