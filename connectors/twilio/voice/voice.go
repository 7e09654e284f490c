// Package voice is the Twilio Programmable Voice connector: phone calls to
// a Twilio number become conversations on the "voice" channel that start
// the flows triggered by `trigger call`.
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default as Name. Its webhook is the number's "A call
// comes in" URL: Receive checks X-Twilio-Signature (twilioapi.Verify) and
// turns the call into an Inbound whose Thread is the CallSid. The flow's
// verbs come back in the webhook's answer as TwiML (Respond), rendered
// with the element types of twilio-go's twiml package. Every verb the
// flow waits for (a gather, a record, a dial), the caller's hold loop and
// the agent's leg call the same webhook back with a query saying what
// ended (?on=result&wait=…, ?on=hold&task=…, ?on=agent&task=…), which
// Receive turns into an Inbound whose Call is a connectors.CallEvent; the
// number's call status callback (?on=status) reports the end of the call.
// Verbs decided outside a webhook (a timeout on hold, the connection to
// the agent who accepted the call's task) replace what the live call is
// doing through the REST API's call update (PerformCall).
//
// docs/CONNECTORS.md, section "Twilio Voice", is the operator's guide.
package voice

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// Name is the connector's registered name.
const Name = "twilio_voice"

// Defaults of the config fields.
const (
	DefaultHoldMusic   = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
	DefaultHoldMessage = "Please stay on the line. An agent will be with you shortly."
	// DefaultPositionMessage announces a held caller's place in line.
	DefaultPositionMessage = "You are caller number {position}."
	DefaultRingTimeout     = 20 * time.Second
)

// MaxBodyBytes caps a webhook's body: Twilio's voice requests are a few
// kilobytes of form parameters.
const MaxBodyBytes = 64 << 10

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "phone calls to a Twilio number, answered with TwiML",
		Description: "Receives the calls of a Twilio number (its \"A call comes in\" webhook) as conversations on the `voice` channel, " +
			"answers them with the flow's verbs as TwiML, and changes live calls (hold, connecting an agent) through the REST API. " +
			"See docs/CONNECTORS.md for the console set-up.",
		MaxBodyBytes: MaxBodyBytes,
		Fields: []connectors.Field{
			{Name: "account_sid", Required: true, Example: "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
				Description: "The Twilio account's SID (AC…), in the REST API's paths."},
			{Name: "auth_token", Secret: true, Required: true, Example: "your_auth_token",
				Description: "The account's auth token: Twilio signs webhooks with it, and it authenticates REST calls unless an API key is set."},
			{Name: "api_key_sid", Example: "SKXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
				Description: "An API key (SK…) to authenticate REST calls with instead of the auth token; needs `api_key_secret`."},
			{Name: "api_key_secret", Secret: true, Example: "your_api_key_secret",
				Description: "The API key's secret."},
			{Name: "webhook_url", Type: connectors.TypeURL, Example: "https://switchboard.example.com/v1/webhooks/twilio_voice/default",
				Description: "The webhook URL exactly as entered in the Twilio console, without query: Twilio signs the URL it calls. " +
					"Default: the server's public URL followed by the instance's webhook path."},
			{Name: "api_base_url", Type: connectors.TypeURL, Default: twilioapi.DefaultBaseURL, Example: "https://api.twilio.com",
				Description: "Twilio's REST API."},
			{Name: "hold_music", Type: connectors.TypeURL, Default: DefaultHoldMusic, Example: "https://example.com/hold.mp3",
				Description: "The audio a caller waiting for an agent hears, looped."},
			{Name: "hold_message", Default: DefaultHoldMessage, Example: "Thanks for waiting, an agent will be with you soon.",
				Description: "What a caller waiting for an agent is told before each loop of the hold music; `-`: nothing."},
			{Name: "position_message", Default: DefaultPositionMessage, Example: "There are {position} callers ahead of you, including you.",
				Description: "What a caller waiting for an agent is told first in each loop of the hold music, `{position}` replaced by " +
					"its place among the calls waiting in the same workflow (1: next); `-`: nothing."},
			{Name: "voice", Example: "Polly.Joanna",
				Description: "The default voice of `say` (Twilio's `voice` attribute). Default: Twilio's."},
			{Name: "language", Example: "en-US",
				Description: "The default language of `say` and of speech recognition in `gather`. Default: Twilio's (en-US)."},
			{Name: "ring_timeout", Type: connectors.TypeDuration, Default: "20s", Example: "30s",
				Description: "How long an agent's phone rings before the call's task goes to another agent."},
		},
	}
}

type connector struct {
	authToken string
	api       *twilioapi.Client
	render    renderer
	log       *slog.Logger
}

var (
	_ connectors.Connector       = (*connector)(nil)
	_ connectors.InlineResponder = (*connector)(nil)
	_ connectors.CallPerformer   = (*connector)(nil)
	_ connectors.ChannelLister   = (*connector)(nil)
)

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	c := &connector{log: res.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	now := res.Now
	if now == nil {
		now = time.Now
	}
	account, err := cfg.Required("account_sid")
	if err != nil {
		return nil, err
	}
	if c.authToken, err = cfg.Required("auth_token"); err != nil {
		return nil, err
	}
	if cfg.Has("api_key_sid") != cfg.Has("api_key_secret") {
		return nil, &connectors.FieldError{Field: "api_key_secret", Problem: "api_key_sid and api_key_secret go together: set both or neither"}
	}
	webhook, err := webhookURL(cfg, res)
	if err != nil {
		return nil, err
	}
	ring := DefaultRingTimeout
	if cfg.Has("ring_timeout") {
		if ring, err = cfg.Duration("ring_timeout"); err != nil {
			return nil, err
		}
		if ring < time.Second {
			return nil, &connectors.FieldError{Field: "ring_timeout", Problem: "must be at least 1s"}
		}
	}
	c.api = twilioapi.New(twilioapi.Config{AccountSID: account, AuthToken: c.authToken, APIKeySID: cfg.String("api_key_sid"),
		APIKeySecret: cfg.String("api_key_secret"), BaseURL: cmp(cfg.String("api_base_url"), twilioapi.DefaultBaseURL)}, res.HTTPClient)
	c.render = renderer{webhook: webhook, voice: cfg.String("voice"), language: cfg.String("language"),
		holdMusic: cmp(cfg.String("hold_music"), DefaultHoldMusic), holdMessage: spoken(cfg.String("hold_message"), DefaultHoldMessage),
		positionMessage: spoken(cfg.String("position_message"), DefaultPositionMessage),
		ringTimeout:     ring, now: now}
	return c, nil
}

// spoken is a configured announcement: def when unset, none for "-".
func spoken(v, def string) string {
	switch v {
	case "":
		return def
	case "-":
		return ""
	}
	return v
}

// webhookURL is the URL Twilio calls, as configured or from the server's
// public URL. It must have no query: callbacks add their own, and Twilio
// signs the URL with it.
func webhookURL(cfg connectors.Config, res connectors.Resources) (string, error) {
	if !cfg.Has("webhook_url") {
		if res.PublicURL == "" {
			return "", &connectors.FieldError{Field: "webhook_url", Problem: "required when the server has no public URL: Twilio calls back absolute URLs"}
		}
		return strings.TrimRight(res.PublicURL, "/") + connectors.WebhookPath(Name, res.Instance), nil
	}
	u, err := cfg.URL("webhook_url")
	if err != nil {
		return "", err
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(cfg.String("webhook_url"), "?#") {
		return "", &connectors.FieldError{Field: "webhook_url", Problem: "must have no query or fragment: the connector adds its callbacks' query to it"}
	}
	return cfg.String("webhook_url"), nil
}

// Channels returns the voice channel (connectors.ChannelLister).
func (c *connector) Channels() []string { return []string{connectors.ChannelVoice} }

// Receive verifies X-Twilio-Signature over the URL Twilio called (the
// webhook URL and the callback's query) and the form, then parses the
// call or callback; see parse.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	params, err := twilioapi.Verify(r, c.render.webhook, c.authToken)
	if err != nil {
		return nil, err
	}
	return parse(params, callbackQuery(r))
}

// callbackQuery is the query of the URL Twilio called: the callback's
// kind and ids that the rendered TwiML put there. It is read from the
// same raw query that the signature covered, when the request has one.
func callbackQuery(r *connectors.Request) url.Values {
	if r.URL == "" {
		return r.Query
	}
	_, raw, _ := strings.Cut(r.URL, "?")
	raw, _, _ = strings.Cut(raw, "#")
	v, _ := url.ParseQuery(raw)
	return v
}

// Send is not supported: a message cannot be addressed to a call, which
// only the runtime's call verbs reach (inline, or through PerformCall).
func (c *connector) Send(context.Context, *connectors.Outbound) (string, error) {
	return "", fmt.Errorf("twilio voice: a call takes voice verbs (say), not messages: %w", connectors.ErrUnsupported)
}

// Respond answers a call's webhook with TwiML: the replies spoken, then
// the flow's verbs, then the hold loop when the caller now waits for a
// task, or <Hangup/> when the flow gave the call nothing more to do.
// Status callbacks, and a call that is over, get an empty <Response/>.
// A verb that cannot be rendered is left out and logged: the answer
// cannot fail, and Twilio would reject a document with it.
func (c *connector) Respond(in []connectors.Inbound, re connectors.Reaction) (int, string, []byte) {
	// The end of a call has nobody to answer; an agent who picked up hears
	// nothing before the caller is put through.
	if len(in) == 0 || (in[0].Call != nil && (in[0].Call.Kind == connectors.CallEndedEvent || in[0].Call.Kind == connectors.CallAnsweredEvent)) {
		return http.StatusOK, "text/xml", document(nil)
	}
	return http.StatusOK, "text/xml", document(c.answer(re))
}

// answer renders a reaction for a webhook of a live call.
func (c *connector) answer(re connectors.Reaction) []twiml.Element {
	r := &c.render
	els := make([]twiml.Element, 0, len(re.Replies)+len(re.Calls)+3)
	for _, m := range re.Replies {
		if m.Text != "" {
			els = append(els, r.say(m.Text, "", "", 0))
		}
	}
	for i, v := range re.Calls {
		vs, err := r.verb(v)
		if err != nil {
			c.log.Error("call verb left out of the answer", "verb", i+1, "kind", v.Verb, "err", err)
			continue
		}
		els = append(els, vs...)
	}
	switch {
	case re.Hangup:
		if len(els) == 0 || els[len(els)-1].GetName() != "Hangup" {
			els = append(els, twiml.VoiceHangup{})
		}
	case re.Holding != "":
		els = append(els, r.hold(re.Holding, re.Position)...)
	case len(re.Calls) == 0 && len(re.Replies) == 0:
		els = append(els, twiml.VoiceHangup{})
	}
	return els
}
