package connectors

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Connector is one configured instance of a channel: it turns the
// platform's webhooks into Inbound messages and delivers Outbound ones.
//
// Call order: the Registry's constructor returns a ready Connector; the
// server then calls Receive for every webhook of the instance and the
// outbox calls Send for every reply, concurrently and for as long as the
// instance lives; Close, when the connector implements Closer, is called
// once at shutdown, after the last Receive and Send have returned. A
// Connector must be safe for concurrent use.
type Connector interface {
	// Receive verifies and parses one webhook request. It checks the
	// request's authenticity first, over the raw Body (constant-time
	// comparison), and only then parses. It does no network I/O and
	// never blocks: it runs while the platform waits for an answer.
	//
	// It returns the messages in the request (possibly none: a status
	// callback, a verification handshake) or an error: a *StatusError
	// (see Errorf) for a request the platform must not retry as is (400
	// malformed or a missing field, 401 missing or bad signature or a stale
	// timestamp, 405, 413, 415), anything else for a failure of Switchboard
	// itself (answered 500, so the platform retries). Every returned
	// Inbound has a non-empty PlatformID and From.
	Receive(ctx context.Context, r *Request) ([]Inbound, error)

	// Send delivers one message and returns the platform's id for it ("" if
	// the platform gives none). The outbox calls it again with the same
	// Outbound (same Key) after a temporary failure, possibly after a
	// crash, so it must be safe to retry: it passes Key as the platform's
	// idempotency key where the platform has one.
	//
	// A nil error means the platform accepted the message. An error marked
	// with Permanent (or wrapping ErrUnsupported) means no retry can
	// succeed and the message is dead-lettered; any other error is
	// temporary and retried with backoff (RetryAfter may say how long to
	// wait at least). Send honours ctx's deadline and cancellation.
	Send(ctx context.Context, m *Outbound) (platformID string, err error)
}

// InlineResponder is implemented by connectors whose platform takes the
// replies in the webhook's HTTP response (as Twilio takes TwiML
// <Message> verbs). For them the server collects what the flow decided
// while handling the request and calls Respond, once, after the request's
// messages are durably stored; the replies it passes are not sent again
// with Send. Replies decided later (after a timeout, by an agent) still go
// through Send.
//
// Respond is also called when Receive returned no messages, with an empty
// Reaction, and for a redelivered message (which the flow does not handle
// again). It cannot fail: status is the 2xx to answer with.
type InlineResponder interface {
	Respond(in []Inbound, reaction Reaction) (status int, contentType string, body []byte)
}

// Handshaker is implemented by connectors whose platform verifies the
// webhook with a request of its own before it sends any (Meta's GET with
// hub.mode=subscribe, hub.verify_token and hub.challenge). The server asks
// it first for every webhook request: when handled, its answer is the
// response (the challenge echoed, or 403 for a wrong verify token) and
// Receive is not called. It does no I/O.
type Handshaker interface {
	Handshake(r *Request) (status int, contentType string, body []byte, handled bool)
}

// ChannelLister is implemented by connectors whose channel names depend on
// their configuration (the custom connector's `channel` field). Channels
// returns every name its Inbound messages may carry in Channel. The
// runtime adds them to the channel names flows may use in `channels`.
type ChannelLister interface {
	Channels() []string
}

// Drainer is implemented by connectors that hold requests open (the
// webchat's long-polls). Drain, called once when the server's shutdown
// begins, answers them, and any that still arrive, without waiting, so the
// drain does not wait out their timeouts.
type Drainer interface {
	Drain()
}

// HomePage is implemented by connectors with a page a person opens to use
// an instance (the webchat's chat page). serve prints its URL at start in
// place of the webhook's, with note after it ("open it in a browser").
type HomePage interface {
	HomePage() (url, note string)
}

// Instance is one configured instance of a connector, as the runtime
// serves it: its webhook at WebhookPath(Connector, Name).
type Instance struct {
	Connector string // the connector's name
	Name      string // the instance's name
	Conn      Connector
	// Spec is the connector's (nil: a spec with the defaults), for what
	// the server applies per connector, such as the body limit.
	Spec *Spec
}

// BodyLimit is the largest webhook body the instance takes.
func (in Instance) BodyLimit() int64 {
	if in.Spec == nil {
		return DefaultMaxBodyBytes
	}
	return in.Spec.BodyLimit()
}

// Closer is implemented by connectors that hold resources (connections,
// goroutines). Close releases them; it is called once, last.
type Closer interface {
	Close(ctx context.Context) error
}

// Resources is what a connector's constructor receives from the runtime
// instead of reaching for globals. Registry.New fills the zero fields with
// defaults, so a constructor may use them all.
type Resources struct {
	// HTTPClient makes the connector's calls to its platform. Default: a
	// client with a 30 s timeout.
	HTTPClient *http.Client
	// Logger is the instance's logger, with connector and instance
	// attributes. Default: one that discards.
	Logger *slog.Logger
	// Now is the clock, for timestamps and signature tolerances. Default:
	// time.Now.
	Now func() time.Time
	// PublicURL is the server's externally visible base URL (scheme, host
	// and any path prefix, no trailing slash), or "" if unknown. The
	// instance's webhook URL is PublicURL + WebhookPath(name, Instance).
	PublicURL string
	// Instance is the instance's name. Default: DefaultInstance.
	Instance string
	// Relay, when not nil, connects this instance with the same instance on
	// the other runtime nodes sharing the store: what one node publishes,
	// every node's subscribers receive (its own included). A connector that
	// holds live connections (the webchat's pages) publishes its deliveries
	// so that a visitor connected to another node gets them too.
	Relay Relay
	// Keys, when not nil, keeps secrets across restarts and nodes (see
	// Keys): a connector whose secret is optional takes its default from
	// it rather than making a random one per start.
	Keys Keys
}

// Relay carries small payloads (a message) between the runtime nodes that
// share a store. Delivery is best effort and at least once: subscribers
// must tolerate a payload twice.
type Relay interface {
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe receives the payloads published on topic from now on,
	// until cancel is called (which closes the channel).
	Subscribe(topic string) (payloads <-chan []byte, cancel func())
}

// Constructor builds a connector instance from a configuration that
// Registry.New has already checked against the connector's Spec (no
// unknown fields, required ones present, defaults filled in).
type Constructor func(Config, Resources) (Connector, error)
