package connectors

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Request is one inbound webhook call as the platform made it, adapted by
// the server from its HTTP library. Body holds the raw bytes exactly as
// received: connectors verify signatures over them before parsing.
type Request struct {
	Method string
	// URL is the full URL the platform called, scheme and host included,
	// as the platform saw it (behind a proxy, the public URL, not the
	// listener's), for schemes that sign the URL.
	URL        string
	Path       string
	Header     http.Header // canonical keys, as net/http makes them
	Query      url.Values
	Body       []byte
	RemoteAddr string // host:port of the peer (or the proxy's client address)
}

// MediaType returns the request's Content-Type without parameters, in
// lower case: "application/json" for "Application/JSON; charset=utf-8".
// It returns "" when the header is missing or unreadable.
func (r *Request) MediaType() string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// RequireMediaType returns a 415 *StatusError unless the request's media
// type (see MediaType) is one of types.
func (r *Request) RequireMediaType(types ...string) error {
	mt := r.MediaType()
	for _, t := range types {
		if mt == t {
			return nil
		}
	}
	got := r.Header.Get("Content-Type")
	if got == "" {
		got = "none"
	}
	return Errorf(http.StatusUnsupportedMediaType, "content type must be %s, not %s", strings.Join(types, " or "), got)
}

// Inbound is one normalized message a customer sent on a channel.
type Inbound struct {
	// PlatformID is the platform's id for the message, the dedupe key:
	// a redelivery of the same message carries the same PlatformID. It is
	// never empty.
	PlatformID string
	// Channel names the channel the message came on (sms, whatsapp,
	// webchat, custom, …): the value flows see as message.channel.
	Channel string
	// From and To are addresses on the channel: the customer's, and the
	// one they wrote to (a phone number, a page id, …). From is never
	// empty.
	From, To string
	// FromName is the sender's display name, when the platform gives one.
	FromName   string
	Text       string
	Media      []string       // URLs of attachments
	Attributes map[string]any // anything else the connector exposes, as message.attributes
	// At is the platform's timestamp for the message; zero if it has none.
	At time.Time
	// Thread is the platform's id of the session the message belongs to,
	// when it has one: a phone call's id. The conversation's later verbs
	// carry it back (CallAction.Call).
	Thread string `json:",omitempty"`
	// Phone is the sender's phone number in E.164 (+14155550100) when the
	// channel addresses people by it (SMS, calls, WhatsApp through a
	// number): the runtime makes one contact of the senders with the same
	// number on every such channel.
	Phone string `json:",omitempty"`
	// Email is the sender's email address (NormalizeEmail's form) when the
	// channel knows it: the email connector's sender, the address a
	// visitor gave the webchat's pre-chat form. The runtime makes one
	// contact of the senders with the same address on every channel.
	Email string `json:",omitempty"`
	// Call, when set, is a call's progress rather than something the
	// customer said (see CallEvent); Status, when set, is a report on an
	// outbound message. Either still has PlatformID (its dedupe key) and
	// From.
	Call   *CallEvent      `json:",omitempty"`
	Status *DeliveryStatus `json:",omitempty"`
	// Choice is the ID of the choice the customer tapped (a button's or a
	// list row's payload), when the platform reports one; Text is then its
	// title.
	Choice string `json:",omitempty"`
	// Typing, when set, says only that the customer is typing: the
	// runtime passes it to the agent holding the conversation (their
	// stream's "typing" frame) and stores nothing. PlatformID and From are
	// still set.
	Typing bool `json:",omitempty"`
}

// Outbound is one message to deliver.
type Outbound struct {
	// Key is unique per message and stable across retries of it: the
	// platform's idempotency key where it has one.
	Key     string
	Channel string
	// To is the recipient's address on the channel; From is the sending
	// address when the platform lets the sender choose one (else empty).
	To, From       string
	Text           string
	Media          []string
	ConversationID string
	Attributes     map[string]any
	// Template, when set, is an approved template the platform sends in
	// place of Text (WhatsApp outside its 24-hour window); a connector
	// whose channel has no templates sends Text.
	Template *Template
	// Choices are options offered with the message, in order; Menu, when
	// set, asks for a list opened by a button with that label (a longer
	// menu) rather than buttons or quick replies. A ChoiceRenderer renders
	// them; to any other connector they arrive folded into Text.
	Choices []Choice
	Menu    string
	// Thread is the platform's session the message belongs to (the
	// conversation's Inbound.Thread: a Slack thread's ts, an email's
	// Message-ID to answer), when it has one.
	Thread string
	// Agent is the worker whose reply this is; empty for a flow's message.
	// Some platforms treat a person's replies apart (Meta's HUMAN_AGENT
	// tag, allowed for a week after the customer's last message).
	Agent string
	// AgentName is what the customer sees of the agent (the worker's
	// `name` attribute, else its id), for channels that show who writes
	// (the webchat).
	AgentName string
}

// Template is an approved message template and its variables.
type Template struct {
	Name      string // the platform's id or name: Twilio's ContentSid (HX…), Meta's template name
	Language  string // the template's language, where the platform needs it
	Variables map[string]string
}

// Reaction is what the flow decided while handling one webhook, for
// connectors that answer inline (see InlineResponder).
type Reaction struct {
	Replies  []Outbound     // messages to send back, in order
	Enqueued []EnqueuedTask // tasks handed to the router
	// Calls are the verbs of a call the flow decided, in order; the last
	// may wait (its WaitID set).
	Calls []CallVerb
	// Holding, when set, is the task a caller now waits for: the
	// connector keeps the caller on hold until the task's agent is
	// connected (PerformCall's connect) or the flow moves on.
	Holding string
	// Position is the held caller's place among the calls waiting for an
	// agent in the same workflow, 1 first; 0 when unknown.
	Position int
	// Hangup: the call is over for the runtime; end it.
	Hangup bool
}

// EnqueuedTask is a task a flow created for the router.
type EnqueuedTask struct {
	TaskID     string
	Workflow   string
	Priority   float64
	Attributes map[string]any
}

// WebhookPath returns the path at which a connector instance receives its
// webhooks: /v1/webhooks/{connector}/{instance}. An empty instance is
// "default". The public webhook URL is Resources.PublicURL followed by it.
func WebhookPath(connector, instance string) string {
	if instance == "" {
		instance = DefaultInstance
	}
	return "/v1/webhooks/" + url.PathEscape(connector) + "/" + url.PathEscape(instance)
}

// DefaultInstance is the name of an instance configured without one.
const DefaultInstance = "default"
