package webchat

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// Name is the connector's registered name, and its channel.
const Name = "webchat"

// Defaults of the config fields.
const (
	DefaultTitle    = "Chat with us"
	DefaultGreeting = "Hi! How can we help you today?"
)

// Limits. A request beyond the inbound ones is answered 400.
const (
	MaxIDBytes   = 128     // the widget's message id
	MaxNameBytes = 128     // the visitor's display name
	MaxTextBytes = 8 << 10 // a message's text
	// MaxChoiceBytes bounds a choice's id: the one a visitor's message
	// picks, and so the ones Send offers.
	MaxChoiceBytes = 256
	MaxBodyBytes   = 32 << 10 // an inbound webhook's body (Spec.MaxBodyBytes)
	MinSecretLen   = 16       // a configured secret's length, in bytes
	MailboxSize    = 200      // messages kept per visitor for the REST fallback and reloads
	MaxVisitors    = 100_000  // mailboxes kept in memory
	MailboxIdle    = 24 * time.Hour
	LongPollWait   = 25 * time.Second // how long GET messages waits for a message
)

// MaxSocketsPerVisitor caps a visitor's open WebSockets (tabs); the next
// one is refused with 429.
const MaxSocketsPerVisitor = 16

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "a chat widget served by the runtime, live over a WebSocket with a REST fallback",
		Description: "Serves a customer chat page at `/webchat/{instance}/` and an embeddable script at " +
			"`/webchat/{instance}/widget.js`. Visitors get an HMAC-signed token that keeps their identity across page reloads; " +
			"their messages arrive at the instance's webhook with that token as a bearer token, and replies reach them over a " +
			"WebSocket, or by long-polling when a socket cannot connect. See docs/CONNECTORS.md.",
		Fields: []connectors.Field{
			{Name: "secret", Secret: true, Example: "wcsec_7d1f0c9e4b2a8f63",
				Description: "Signs visitor tokens (at least 16 characters). Default: a key the runtime makes once and keeps in its " +
					"store, so visitors keep their identity and their conversation across page reloads, restarts of the server and " +
					"the nodes of a cluster."},
			{Name: "title", Default: DefaultTitle, Example: "Acme support",
				Description: "The title of the chat page and widget."},
			{Name: "greeting", Default: DefaultGreeting, Example: "Hello! Ask us anything.",
				Description: "The first line the widget shows, before the visitor writes."},
			{Name: "media_dir", Example: "/var/lib/switchboard/webchat-media",
				Description: "Where the files visitors attach are kept (at most 5 MiB each), served to whoever has a message's " +
					"signed link. Default: a directory named for the instance under the system's temporary directory."},
			{Name: "prechat", Example: "name,email",
				Description: "The fields of a form the visitor fills before the first message: `name`, `email` or both, comma " +
					"separated. The name becomes the contact's name, and the email one contact with the same address on every " +
					"channel (an email from it, for one). Default: no form."},
			{Name: "allowed_origins", Example: "https://www.example.com, https://shop.example.com",
				Description: "Origins (scheme://host[:port], comma separated, or `*`) of other sites that may embed the widget: " +
					"they get CORS access to the session, messages and webhook endpoints, WebSockets from them are accepted, and " +
					"they may frame the chat page. Default: none, the server's own origin only."},
		},
		MaxBodyBytes: MaxBodyBytes,
		QuickStart:   true,
	}
}

// Connector is a webchat instance. Besides connectors.Connector it serves
// the widget's page and endpoints (Routes) and the CORS of its webhook
// (WebhookCORS), answers its long-polls at shutdown (Drain), and closes
// its sockets on Close.
type Connector struct {
	instance  string
	publicURL string // Resources.PublicURL, for HomePage
	signer    signer
	title     string
	greeting  string
	prechat   []string // the pre-chat form's fields, in order
	media     mediaFiles
	origins   origins
	hub       *hub
	log       *slog.Logger
	now       func() time.Time
	pollWait  time.Duration // LongPollWait; shorter in tests
	pingEvery time.Duration

	relay     connectors.Relay // the other nodes (relay.go); nil: one node
	stopRelay func()
	relayDone chan struct{}
}

var (
	_ connectors.Connector      = (*Connector)(nil)
	_ connectors.Closer         = (*Connector)(nil)
	_ connectors.Drainer        = (*Connector)(nil)
	_ connectors.HomePage       = (*Connector)(nil)
	_ connectors.ChoiceRenderer = (*Connector)(nil)
	_ connectors.Notifier       = (*Connector)(nil)
	_ httpsurface.Pages         = (*Connector)(nil)
	_ httpsurface.WebhookCORS   = (*Connector)(nil)
)

// New builds a webchat instance; it is the registered
// connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	c := &Connector{instance: res.Instance, publicURL: strings.TrimRight(res.PublicURL, "/"), title: DefaultTitle, greeting: DefaultGreeting, log: res.Logger, now: res.Now,
		pollWait: LongPollWait, pingEvery: 30 * time.Second}
	if c.instance == "" {
		c.instance = connectors.DefaultInstance
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.signer = signer{instance: c.instance}
	if cfg.Has("secret") {
		s := cfg.String("secret")
		if len(s) < MinSecretLen {
			return nil, &connectors.FieldError{Field: "secret", Problem: fmt.Sprintf("too short: at least %d characters", MinSecretLen)}
		}
		c.signer.secret = []byte(s)
	} else {
		c.signer.load = keyLoader(res.Keys, c.instance, c.log)
	}
	if cfg.Has("title") {
		c.title = cfg.String("title")
	}
	if cfg.Has("greeting") {
		c.greeting = cfg.String("greeting")
	}
	c.media.dir = mediastore.DefaultDir(Name, c.instance)
	if cfg.Has("media_dir") {
		c.media.dir = cfg.String("media_dir")
	}
	if cfg.Has("prechat") {
		p, err := parsePrechat(cfg.String("prechat"))
		if err != nil {
			return nil, &connectors.FieldError{Field: "prechat", Problem: err.Error()}
		}
		c.prechat = p
	}
	if cfg.Has("allowed_origins") {
		o, err := parseOrigins(cfg.String("allowed_origins"))
		if err != nil {
			return nil, &connectors.FieldError{Field: "allowed_origins", Problem: err.Error()}
		}
		c.origins = o
	}
	c.hub = newHub(defaultHubConfig(c.now))
	if res.Relay != nil {
		payloads, cancel := res.Relay.Subscribe(c.relayTopic())
		c.relay, c.stopRelay, c.relayDone = res.Relay, cancel, make(chan struct{})
		go c.receiveRelayed(payloads)
	}
	return c, nil
}

// parsePrechat reads the prechat field: name and email, in any order,
// each once.
func parsePrechat(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		f = strings.ToLower(f)
		if f != "name" && f != "email" {
			return nil, fmt.Errorf("unknown field %q: the form asks for name, email or both", f)
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("%q is listed twice", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// keyName is the name of an instance's visitor-signing key in
// connectors.Keys.
func keyName(instance string) string { return Name + "/" + instance }

// keyLoader returns how an instance without a configured secret gets one:
// from the runtime's Keys, so that tokens survive a restart of the server
// and are valid on every node sharing its store, or, when the runtime keeps
// no keys (a test's Resources), a random one for the life of the instance.
func keyLoader(keys connectors.Keys, instance string, log *slog.Logger) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		if keys == nil {
			return randomSecret(), nil
		}
		k, err := keys.Key(ctx, keyName(instance), 32)
		if errors.Is(err, connectors.ErrNoKeys) {
			log.Warn("webchat: no key store: visitor tokens will not survive a restart (set a secret to keep them)")
			return randomSecret(), nil
		}
		return k, err
	}
}

// Token returns the token of a visitor id: what the session endpoint
// hands out. It is for tests and tools that act as a visitor.
func (c *Connector) Token(visitor string) string { return c.signer.token(visitor) }

// NewVisitor returns a fresh visitor id and its token, as the session
// endpoint does for a new visitor.
func (c *Connector) NewVisitor() (visitor, token string) {
	visitor = newVisitorID()
	return visitor, c.signer.token(visitor)
}

// Visitor returns the visitor a token belongs to, if the token is valid
// for this instance.
func (c *Connector) Visitor(token string) (string, bool) { return c.signer.verify(token) }

// inboundBody is what the widget POSTs to the webhook. Choice is the id
// of the choice a visitor tapped; Text is then its title.
type inboundBody struct {
	ID     *string `json:"id"`
	Text   *string `json:"text"`
	Name   string  `json:"name"`
	Choice *string `json:"choice"`
	// Email is the address the visitor gave the pre-chat form.
	Email *string `json:"email"`
	// Receipt, instead of a message, reports that the visitor's page
	// has a reply (delivered) or showed it (read).
	Receipt *receiptBody `json:"receipt"`
	// Typing, alone, says the visitor is typing.
	Typing bool `json:"typing"`
	// Media are the ids of files the visitor uploaded (media.go).
	Media []string `json:"media"`
}

// receiptBody is a read receipt: Message is the reply's platform id, as
// Send returned it ("{visitor}:{epoch}:{seq}").
type receiptBody struct {
	Message string `json:"message"`
	Status  string `json:"status"`
}

// RendersChoices reports that the page shows a reply's choices itself, as
// buttons or as a list, on the webchat channel.
func (c *Connector) RendersChoices(channel string) bool { return channel == Name }

// Receive checks the visitor's bearer token (401), the content type (415)
// and the body (400, naming the field), and returns the one message the
// body carries. The message is also put in the visitor's mailbox, so the
// visitor's other tabs show it and a reload finds it.
func (c *Connector) Receive(ctx context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method must be POST, not %s", r.Method)
	}
	if err := c.signer.ready(ctx); err != nil {
		return nil, err // answered 500: the widget retries
	}
	visitor, err := c.bearer(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if err := r.RequireMediaType("application/json"); err != nil {
		return nil, err
	}
	if len(r.Body) > MaxBodyBytes {
		return nil, connectors.Errorf(http.StatusRequestEntityTooLarge, "body is %d bytes; at most %d", len(r.Body), MaxBodyBytes)
	}
	m, err := parseBody(r.Body)
	if err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "%w", err)
	}
	if m.Typing {
		// Not stored: the id only has to be there.
		return []connectors.Inbound{{PlatformID: "typing:" + visitor, Channel: Name, From: visitor, To: c.instance, Typing: true}}, nil
	}
	if rc := m.Receipt; rc != nil {
		if !strings.HasPrefix(rc.Message, visitor+":") {
			return nil, connectors.Errorf(http.StatusBadRequest, `field "receipt.message" is not a message sent to this visitor`)
		}
		// One receipt per message and status: a repeated one is stored once.
		return []connectors.Inbound{{PlatformID: "receipt:" + rc.Message + ":" + rc.Status, Channel: Name, From: visitor, To: c.instance,
			At: c.now().UTC(), Status: &connectors.DeliveryStatus{PlatformID: rc.Message, Status: rc.Status}}}, nil
	}
	email := ""
	if m.Email != nil && strings.TrimSpace(*m.Email) != "" {
		var ok bool
		if email, ok = connectors.NormalizeEmail(*m.Email); !ok {
			return nil, connectors.Errorf(http.StatusBadRequest, `field "email" is not an email address`)
		}
	}
	media, err := c.mediaLinks(m.Media)
	if err != nil {
		return nil, err
	}
	at := c.now().UTC()
	var choice string
	if m.Choice != nil {
		choice = *m.Choice
	}
	in := connectors.Inbound{PlatformID: visitor + ":" + *m.ID, Channel: Name, From: visitor, To: c.instance,
		FromName: m.Name, Text: *m.Text, At: at, Choice: choice, Email: email, Media: media}
	// Echo to the visitor's mailbox; a redelivery (same id) is not echoed twice.
	_, _, _ = c.deliver(visitor, Message{ID: *m.ID, From: FromVisitor, Text: *m.Text, Media: media, At: at, Choice: choice, key: "in:" + *m.ID})
	return []connectors.Inbound{in}, nil
}

// bearer returns the visitor of an "Authorization: Bearer TOKEN" header.
func (c *Connector) bearer(auth string) (string, error) {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return "", connectors.Errorf(http.StatusUnauthorized, "missing visitor token (Authorization: Bearer TOKEN, from POST /webchat/%s/session)", c.instance)
	}
	visitor, ok := c.signer.verify(strings.TrimSpace(tok))
	if !ok {
		return "", connectors.Errorf(http.StatusUnauthorized, "invalid visitor token")
	}
	return visitor, nil
}

// parseBody decodes {"id", "text", "name", "choice"} strictly.
func parseBody(body []byte) (*inboundBody, error) {
	var m inboundBody
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return nil, jsonError(err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	if m.Typing {
		if m.ID != nil || m.Text != nil || m.Choice != nil || m.Email != nil || m.Name != "" || m.Receipt != nil || m.Media != nil {
			return nil, errors.New(`"typing" comes alone`)
		}
		return &m, nil
	}
	if m.Text == nil && len(m.Media) > 0 {
		m.Text = new(string) // a file alone
	}
	if rc := m.Receipt; rc != nil {
		switch {
		case m.ID != nil || m.Text != nil || m.Choice != nil || m.Email != nil || m.Name != "" || m.Media != nil:
			return nil, errors.New(`a receipt comes alone: no "id", "text", "name", "choice" or "email" with it`)
		case rc.Status != "delivered" && rc.Status != "read":
			return nil, errors.New(`field "receipt.status" must be "delivered" or "read"`)
		case rc.Message == "" || len(rc.Message) > visitorLen+1+64+1+20 || !printable(rc.Message):
			return nil, errors.New(`field "receipt.message" must be a message's id`)
		}
		return &m, nil
	}
	switch {
	case m.ID == nil || *m.ID == "":
		return nil, errors.New(`missing required field "id"`)
	case len(*m.ID) > MaxIDBytes:
		return nil, fmt.Errorf(`field "id" is longer than %d bytes`, MaxIDBytes)
	case !printable(*m.ID):
		return nil, errors.New(`field "id" must be printable text without spaces`)
	case len(m.Media) > MaxMedia:
		return nil, fmt.Errorf(`field "media" lists more than %d files`, MaxMedia)
	case m.Text == nil || (strings.TrimSpace(*m.Text) == "" && len(m.Media) == 0):
		return nil, errors.New(`missing required field "text"`)
	case len(*m.Text) > MaxTextBytes:
		return nil, fmt.Errorf(`field "text" is longer than %d bytes`, MaxTextBytes)
	case len(m.Name) > MaxNameBytes:
		return nil, fmt.Errorf(`field "name" is longer than %d bytes`, MaxNameBytes)
	case m.Email != nil && len(*m.Email) > connectors.MaxEmailBytes:
		return nil, fmt.Errorf(`field "email" is longer than %d bytes`, connectors.MaxEmailBytes)
	}
	if m.Choice != nil {
		if err := checkChoiceID(*m.Choice); err != nil {
			return nil, fmt.Errorf(`field "choice" %w`, err)
		}
	}
	return &m, nil
}

// checkChoiceID tells what is wrong with a choice's id, the same for one
// Send offers and one a visitor's message picks, so that every offered
// choice can come back.
func checkChoiceID(id string) error {
	switch {
	case id == "":
		return errors.New("is empty")
	case len(id) > MaxChoiceBytes:
		return fmt.Errorf("is longer than %d bytes", MaxChoiceBytes)
	case !utf8.ValidString(id):
		return errors.New("is not valid UTF-8")
	}
	for _, r := range id {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errors.New("must not contain control characters")
		}
	}
	return nil
}

// checkChoices refuses choices that break the Outbound contract: one
// without an id or a title, an id offered twice.
func checkChoices(choices []connectors.Choice) error {
	seen := make(map[string]int, len(choices))
	for i, ch := range choices {
		if ch.ID == "" {
			return fmt.Errorf("choices[%d] has no id", i)
		}
		if strings.TrimSpace(ch.Title) == "" {
			return fmt.Errorf("choices[%d] (%q) has no title", i, ch.ID)
		}
		if j, ok := seen[ch.ID]; ok {
			return fmt.Errorf("choices[%d]: id %q is also choices[%d]'s", i, ch.ID, j)
		}
		seen[ch.ID] = i
	}
	return nil
}

// tappable reports whether the page can send back every choice's id (see
// checkChoiceID); choices it cannot are offered as a numbered menu in the
// text instead, which the customer answers by number or title.
func tappable(choices []connectors.Choice) bool {
	for _, ch := range choices {
		if checkChoiceID(ch.ID) != nil {
			return false
		}
	}
	return true
}

// printable reports whether s is valid UTF-8 without spaces or control
// characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// jsonError turns a decoding error into a reason that names the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("body must be a JSON object, not %s", te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("field %q must be a string", te.Field)
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.EOF):
		return errors.New(`empty body: want {"id": "...", "text": "..."}`)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of input")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if n, uerr := strconv.Unquote(name); uerr == nil {
			name = n
		}
		return fmt.Errorf("unknown field %q", name)
	}
	return fmt.Errorf("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// Send delivers a reply to the visitor m.To: to each of the visitor's
// open WebSockets, and into the visitor's mailbox for the REST fallback
// and for a reload. Its Choices (and Menu) go with it, for the page to
// show; Menu without Choices is ignored. Choices whose ids a tap could not
// send back (longer than MaxChoiceBytes, control characters) become a
// numbered menu in the text, as on a channel without buttons. A visitor with no open socket still gets it (from the
// mailbox). Send is idempotent on m.Key while the message is in the
// mailbox: a retry returns the first delivery's id and delivers nothing.
// The platform id is "{visitor}:{epoch}:{seq}".
func (c *Connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	switch {
	case m.Key == "":
		return "", connectors.Permanent(errors.New("webchat: outbound message has no key"))
	case !validVisitorID(m.To):
		return "", connectors.Permanent(fmt.Errorf("webchat: %q is not a visitor id", m.To))
	case m.Text == "" && len(m.Media) == 0:
		return "", connectors.Permanent(errors.New("webchat: empty message"))
	}
	for i, u := range m.Media {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return "", connectors.Permanent(fmt.Errorf("webchat: media[%d] is not an absolute http or https URL", i))
		}
	}
	if err := checkChoices(m.Choices); err != nil {
		return "", connectors.Permanent(fmt.Errorf("webchat: %w", err))
	}
	msg := Message{From: FromAgent, Text: m.Text, Media: append([]string(nil), m.Media...), At: c.now().UTC(), key: "out:" + m.Key}
	if m.Agent != "" { // a person's reply, not the flow's: the page shows who
		msg.Agent = cmp.Or(m.AgentName, m.Agent)
	}
	switch {
	case len(m.Choices) == 0:
	case tappable(m.Choices):
		msg.Choices, msg.Menu = append([]connectors.Choice(nil), m.Choices...), m.Menu
	default:
		msg.Text = connectors.MenuText(m.Text, m.Choices)
	}
	stored, epoch, err := c.deliver(m.To, msg)
	if err != nil {
		return "", fmt.Errorf("%w: %w", connectors.ErrNotConnected, err)
	}
	return m.To + ":" + epoch + ":" + strconv.FormatUint(stored.Seq, 10), nil
}

// Drain answers the long-polls that wait, at once and from now on, so
// that they do not hold up a server that is shutting down: each visitor
// polls again, on a new connection (another node, or this one restarted).
// Messages and WebSockets go on until Close.
func (c *Connector) Drain() { c.hub.drain() }

// Close stops the hub: open WebSockets are closed with "going away",
// long-polls return, and Send fails from then on.
func (c *Connector) Close(context.Context) error {
	if c.stopRelay != nil {
		c.stopRelay()
		<-c.relayDone
	}
	c.hub.close()
	return nil
}
