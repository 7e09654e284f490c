// Package custom is the generic signed-JSON channel: any system that can
// make and receive HTTPS requests becomes a Switchboard channel without
// Go code, the way Stripe and Slack webhooks work.
//
// It sits among the other connectors under connectors/ and registers
// itself with connectors.Default as "custom". Inbound, the system POSTs
// JSON messages to /v1/webhooks/custom/{instance}, signed with a shared
// secret:
//
//	X-Switchboard-Timestamp: 1700000000
//	X-Switchboard-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// and gets the flow's immediate replies and hand-offs in the response
// (connectors.InlineResponder). Outbound, replies the flow decides later
// are POSTed, signed the same way, to the configured outbound_url with an
// Idempotency-Key header. docs/CONNECTORS.md is the full reference.
package custom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Name is the connector's registered name.
const Name = "custom"

// Defaults of the config fields.
const (
	DefaultTolerance = 5 * time.Minute
	DefaultChannel   = "custom"
)

// Limits on inbound messages; beyond them a request is answered 400.
const (
	MaxMessages  = 1000 // messages in one request
	MaxIDBytes   = 256  // length of "id", "from" and "to"
	maxReplyBody = 64 << 10
)

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "generic signed JSON webhooks in and out, for any system",
		Description: "Receives messages POSTed as JSON and signed with HMAC-SHA256 over the timestamp and body, " +
			"answers with the flow's immediate replies, and POSTs later replies, signed the same way, to `outbound_url`. " +
			"See docs/CONNECTORS.md for the wire format.",
		Fields: []connectors.Field{
			{Name: "secret", Secret: true, Required: true, Example: "whsec_5f3c8a1e",
				Description: "Shared secret that inbound requests are signed with."},
			{Name: "outbound_url", Type: connectors.TypeURL, Example: "https://example.com/switchboard/deliveries",
				Description: "Where replies that are not answered inline are POSTed. Without it, such replies fail permanently."},
			{Name: "outbound_secret", Secret: true, Example: "whsec_91b07d44",
				Description: "Secret that outbound deliveries are signed with. Default: `secret`."},
			{Name: "tolerance", Type: connectors.TypeDuration, Default: "5m", Example: "2m",
				Description: "How far `X-Switchboard-Timestamp` may be from the server's clock, either way."},
			{Name: "channel", Default: DefaultChannel, Example: "kiosk",
				Description: "The channel name the instance's messages carry (`message.channel` in flows)."},
		},
	}
}

type connector struct {
	secret    string
	outSecret string
	outURL    string
	tolerance time.Duration
	channel   string
	client    *http.Client
	now       func() time.Time
}

// New builds a custom connector instance; it is the registered
// connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	c := &connector{now: res.Now, channel: DefaultChannel, tolerance: DefaultTolerance}
	// A copy of the client that does not follow redirects: a 301 or 302
	// would turn the POST into a GET; a redirect is reported instead.
	client := http.Client{Timeout: 30 * time.Second}
	if res.HTTPClient != nil {
		client = *res.HTTPClient
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.client = &client
	if c.now == nil {
		c.now = time.Now
	}
	var err error
	if c.secret, err = cfg.Required("secret"); err != nil {
		return nil, err
	}
	c.outSecret = c.secret
	if cfg.Has("outbound_secret") {
		c.outSecret = cfg.String("outbound_secret")
	}
	if cfg.Has("outbound_url") {
		u, err := cfg.URL("outbound_url")
		if err != nil {
			return nil, err
		}
		c.outURL = u.String()
	}
	if cfg.Has("tolerance") {
		if c.tolerance, err = cfg.Duration("tolerance"); err != nil {
			return nil, err
		}
		if c.tolerance <= 0 {
			return nil, &connectors.FieldError{Field: "tolerance", Problem: "must be positive"}
		}
	}
	if cfg.Has("channel") {
		c.channel = cfg.String("channel")
		if !connectors.ValidName(c.channel) {
			return nil, &connectors.FieldError{Field: "channel", Problem: fmt.Sprintf("invalid channel name %q (want lower-case words joined by _)", c.channel)}
		}
	}
	return c, nil
}

// Channels returns the one channel name the instance's messages carry
// (connectors.ChannelLister).
func (c *connector) Channels() []string { return []string{c.channel} }

// Receive verifies the signature and parses the messages; see the package
// documentation and docs/CONNECTORS.md.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method must be POST, not %s", r.Method)
	}
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	if err := Verify(r.Header, r.Body, c.secret, c.now(), c.tolerance); err != nil {
		return nil, connectors.Errorf(http.StatusUnauthorized, "%w", err)
	}
	in, err := parse(r.Body, c.channel)
	if err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "%w", err)
	}
	return in, nil
}

func requireJSON(r *connectors.Request) error {
	if err := r.RequireMediaType("application/json"); err != nil {
		return err
	}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return connectors.Errorf(http.StatusUnsupportedMediaType, "charset must be utf-8, not %s", cs)
	}
	return nil
}

// wireMessage is an inbound message, or with Messages a batch of them.
type wireMessage struct {
	ID         *string         `json:"id"`
	From       *string         `json:"from"`
	To         string          `json:"to"`
	Name       string          `json:"name"`
	Text       string          `json:"text"`
	Media      []string        `json:"media"`
	Attributes map[string]any  `json:"attributes"`
	Timestamp  string          `json:"timestamp"`
	Messages   json.RawMessage `json:"messages"`
}

func (m *wireMessage) isEmpty() bool {
	return m.ID == nil && m.From == nil && m.To == "" && m.Name == "" && m.Text == "" &&
		m.Media == nil && m.Attributes == nil && m.Timestamp == ""
}

// expected describes each field's JSON type, for error messages.
var expected = map[string]string{
	"id": "a string", "from": "a string", "to": "a string", "name": "a string", "text": "a string",
	"timestamp": "an RFC 3339 string", "media": "an array of URL strings", "attributes": "an object",
	"messages": "an array of message objects",
}

// decode decodes one JSON object strictly into m: unknown fields, wrong
// types and trailing data are errors naming the field, prefixed by path.
func decode(data []byte, m *wireMessage, path string) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	err := d.Decode(m)
	if err == nil {
		if _, err := d.Token(); err != io.EOF {
			return fmt.Errorf("%sunexpected data after the JSON object", path)
		}
		if string(m.Messages) == "null" { // null is absent, as for every field
			m.Messages = nil
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("%s must be a JSON object, not %s", pathOr(path, "body"), te.Value)
	case errors.As(err, &te):
		field, _, _ := strings.Cut(te.Field, ".")
		want := expected[field]
		if want == "" {
			want = "another type"
		}
		return fmt.Errorf("field %q must be %s", path+field, want)
	case errors.As(err, &se):
		return fmt.Errorf("%smalformed JSON at byte %d: %s", path, se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%sempty body", path)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%smalformed JSON: unexpected end of input", path)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			name = strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		return fmt.Errorf("unknown field %q", path+name)
	}
	return fmt.Errorf("%smalformed JSON: %s", path, strings.TrimPrefix(err.Error(), "json: "))
}

// pathOr returns path ("messages[2].") as a subject ("messages[2]"), or
// alt if it is empty.
func pathOr(path, alt string) string {
	if path == "" {
		return alt
	}
	return strings.TrimSuffix(path, ".")
}

// parse turns a verified body into messages.
func parse(body []byte, channel string) ([]connectors.Inbound, error) {
	var top wireMessage
	if err := decode(body, &top, ""); err != nil {
		return nil, err
	}
	if top.Messages == nil {
		in, err := top.inbound(channel, "")
		if err != nil {
			return nil, err
		}
		return []connectors.Inbound{in}, nil
	}
	if !top.isEmpty() {
		return nil, errors.New(`"messages" cannot be combined with message fields: send one message object, or {"messages": [...]}`)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(top.Messages, &raws); err != nil || raws == nil {
		return nil, fmt.Errorf("field %q must be %s", "messages", expected["messages"])
	}
	if len(raws) > MaxMessages {
		return nil, fmt.Errorf("too many messages: %d, at most %d per request", len(raws), MaxMessages)
	}
	out := make([]connectors.Inbound, 0, len(raws))
	seen := make(map[string]int, len(raws))
	for i, raw := range raws {
		path := fmt.Sprintf("messages[%d].", i)
		var m wireMessage
		if err := decode(raw, &m, path); err != nil {
			return nil, err
		}
		if m.Messages != nil {
			return nil, fmt.Errorf("unknown field %q", path+"messages")
		}
		in, err := m.inbound(channel, path)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[in.PlatformID]; dup {
			return nil, fmt.Errorf("field %q repeats the id of messages[%d]", path+"id", j)
		}
		seen[in.PlatformID] = i
		out = append(out, in)
	}
	return out, nil
}

func (m *wireMessage) inbound(channel, path string) (connectors.Inbound, error) {
	in := connectors.Inbound{Channel: channel, To: m.To, FromName: m.Name, Text: m.Text, Media: m.Media, Attributes: m.Attributes}
	for _, f := range []struct {
		name string
		v    *string
	}{{"id", m.ID}, {"from", m.From}} {
		if f.v == nil || *f.v == "" {
			return in, fmt.Errorf("missing required field %q", path+f.name)
		}
	}
	in.PlatformID, in.From = *m.ID, *m.From
	for _, f := range [...]struct{ name, v string }{{"id", in.PlatformID}, {"from", in.From}, {"to", in.To}} {
		if len(f.v) > MaxIDBytes {
			return in, fmt.Errorf("field %q is longer than %d bytes", path+f.name, MaxIDBytes)
		}
	}
	for i, u := range m.Media {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return in, fmt.Errorf("field %q must be an absolute http or https URL", fmt.Sprintf("%smedia[%d]", path, i))
		}
	}
	if m.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, m.Timestamp)
		if err != nil {
			return in, fmt.Errorf("field %q must be an RFC 3339 time like 2026-01-02T15:04:05Z", path+"timestamp")
		}
		in.At = t
	}
	return in, nil
}

// Respond answers a webhook with what the flow decided: 200 and
// {"replies": [...], "enqueued": [...]}.
func (c *connector) Respond(in []connectors.Inbound, r connectors.Reaction) (int, string, []byte) {
	type reply struct {
		ID           string         `json:"id"`
		Conversation string         `json:"conversation,omitempty"`
		To           string         `json:"to"`
		From         string         `json:"from,omitempty"`
		Text         string         `json:"text"`
		Media        []string       `json:"media,omitempty"`
		Attributes   map[string]any `json:"attributes,omitempty"`
	}
	type task struct {
		Task       string         `json:"task"`
		Workflow   string         `json:"workflow"`
		Priority   float64        `json:"priority"`
		Attributes map[string]any `json:"attributes,omitempty"`
	}
	out := struct {
		Replies  []reply `json:"replies"`
		Enqueued []task  `json:"enqueued"`
	}{Replies: make([]reply, 0, len(r.Replies)), Enqueued: make([]task, 0, len(r.Enqueued))}
	for _, m := range r.Replies {
		to := m.To
		if to == "" && len(in) == 1 {
			to = in[0].From
		}
		out.Replies = append(out.Replies, reply{m.Key, m.ConversationID, to, m.From, m.Text, m.Media, m.Attributes})
	}
	for _, t := range r.Enqueued {
		out.Enqueued = append(out.Enqueued, task{t.TaskID, t.Workflow, t.Priority, t.Attributes})
	}
	body, err := json.Marshal(out)
	if err != nil { // an attribute JSON cannot encode: answer without attributes rather than fail
		for i := range out.Replies {
			out.Replies[i].Attributes = nil
		}
		for i := range out.Enqueued {
			out.Enqueued[i].Attributes = nil
		}
		body, _ = json.Marshal(out)
	}
	return http.StatusOK, "application/json", body
}
