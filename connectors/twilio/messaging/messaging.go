// Package messaging is the Twilio Programmable Messaging connector,
// registered as "twilio": SMS, MMS and WhatsApp through a Twilio number
// or Messaging Service.
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default. Inbound, Twilio POSTs (or GETs) a form to the
// instance's webhook, /v1/webhooks/twilio/{instance}, for each message a
// customer sends and for each status callback of a message Switchboard
// sent; Receive checks X-Twilio-Signature (connectors/twilio/twilioapi)
// and turns the form into an Inbound on the channel "sms" or "whatsapp"
// (a status callback into an Inbound whose Status reports on the
// message). The flow's immediate replies go back in the webhook's answer
// as TwiML <Message> verbs (connectors.InlineResponder); replies decided
// later are created with the REST API's Messages resource by Send, split
// at Twilio's 1600-character limit, with the status callback URL set so
// that their delivery is reported (connectors.DeliveryReporter).
// docs/CONNECTORS.md is the reference for operators.
package messaging

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// Name is the connector's registered name.
const Name = "twilio"

// The channels of the instance's messages.
const (
	ChannelSMS      = "sms"
	ChannelWhatsApp = "whatsapp"
)

// DefaultRetries is how many times Send retries a part itself after a
// temporary failure, by default.
const DefaultRetries = 2

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "SMS, MMS and WhatsApp through Twilio Programmable Messaging",
		Description: "Receives the messages Twilio posts to the webhook of a number or Messaging Service (\"A message comes in\"), " +
			"checked with X-Twilio-Signature, answers with the flow's immediate replies as TwiML, and sends later replies " +
			"with Twilio's Messages API, with status callbacks. See docs/CONNECTORS.md.",
		Fields: []connectors.Field{
			{Name: "account_sid", Required: true, Example: "ACa1b2c3d4e5f60718293a4b5c6d7e8f90",
				Description: "The Twilio account's SID (`AC…`), from the Console's dashboard."},
			{Name: "auth_token", Secret: true, Required: true, Example: "f0e1d2c3b4a5968778695a4b3c2d1e0f",
				Description: "The account's auth token: Twilio signs webhooks with it, and it authenticates API calls unless an API key is set."},
			{Name: "api_key_sid", Example: "SK0123456789abcdef0123456789abcdef",
				Description: "An API key (`SK…`) to authenticate API calls with instead of the auth token; set `api_key_secret` with it."},
			{Name: "api_key_secret", Secret: true, Example: "Hx7…",
				Description: "The API key's secret."},
			{Name: "from", Example: "+14155550199",
				Description: "The sender of SMS and MMS: a Twilio number in E.164, a short code or an alphanumeric sender ID."},
			{Name: "messaging_service_sid", Example: "MG0123456789abcdef0123456789abcdef",
				Description: "A Messaging Service (`MG…`) to send through instead of `from`: Twilio picks the sender from its pool."},
			{Name: "whatsapp_from", Example: "whatsapp:+14155238886",
				Description: "The WhatsApp sender, `whatsapp:` and the number in E.164. Default: `from` with the prefix, when there is no Messaging Service."},
			{Name: "webhook_url", Type: connectors.TypeURL, Example: "https://switchboard.example.com/v1/webhooks/twilio/default",
				Description: "The webhook URL exactly as set in the Twilio Console, without query: Twilio signs it. " +
					"Default: the server's public URL followed by /v1/webhooks/twilio/{instance}."},
			{Name: "api_base_url", Type: connectors.TypeURL, Default: twilioapi.DefaultBaseURL, Example: "http://127.0.0.1:8099",
				Description: "Base URL of Twilio's REST API; tests point it at a fake."},
			{Name: "status_callbacks", Type: connectors.TypeBool, Example: "false",
				Description: "Ask Twilio to report each sent message's delivery to the webhook URL. Default: true when the webhook URL is known."},
			{Name: "send_retries", Type: connectors.TypeInt, Default: "2", Example: "0",
				Description: "How many times a send retries a message part itself after a 429, a 5xx or a network failure, " +
					"before the outbox's own retry takes over (0 to 10)."},
		},
	}
}

// connector is one configured instance.
type connector struct {
	client     *twilioapi.Client
	authToken  string
	webhookURL string // the URL Twilio signs, and the status callback URL; "" if unknown
	from       string
	service    string
	waFrom     string
	callbacks  bool
	retries    int
	now        func() time.Time
	log        *slog.Logger
	sleep      func(context.Context, time.Duration) error

	sent *connectors.Accepted // Outbound.Key + "#" + part → the sid Twilio gave it
}

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	s, err := settingsOf(cfg, res)
	if err != nil {
		return nil, err
	}
	c := &connector{
		client: twilioapi.New(twilioapi.Config{AccountSID: s.accountSID, AuthToken: s.authToken,
			APIKeySID: s.apiKeySID, APIKeySecret: s.apiKeySecret, BaseURL: s.baseURL}, res.HTTPClient),
		authToken: s.authToken, webhookURL: s.webhookURL, from: s.from, service: s.service, waFrom: s.waFrom,
		callbacks: s.callbacks, retries: s.retries, now: res.Now, log: res.Logger, sleep: sleep,
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.sent = connectors.NewAccepted(sentTTL, maxRemembered, c.now)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// settings is a checked configuration.
type settings struct {
	accountSID, authToken, apiKeySID, apiKeySecret string
	from, service, waFrom, webhookURL, baseURL     string
	callbacks                                      bool
	retries                                        int
}

// settingsOf checks cfg beyond what the spec's types do.
func settingsOf(cfg connectors.Config, res connectors.Resources) (settings, error) {
	s := settings{accountSID: cfg.String("account_sid"), authToken: cfg.String("auth_token"),
		apiKeySID: cfg.String("api_key_sid"), apiKeySecret: cfg.String("api_key_secret"),
		from: strings.TrimSpace(cfg.String("from")), service: cfg.String("messaging_service_sid"),
		waFrom: strings.TrimSpace(cfg.String("whatsapp_from")), baseURL: twilioapi.DefaultBaseURL, retries: DefaultRetries}
	var err error
	for _, f := range []struct{ field, value, prefix, what string }{
		{"account_sid", s.accountSID, "AC", "an account SID"},
		{"api_key_sid", s.apiKeySID, "SK", "an API key SID"},
		{"messaging_service_sid", s.service, "MG", "a Messaging Service SID"},
	} {
		if f.value != "" && !strings.HasPrefix(f.value, f.prefix) {
			return s, &connectors.FieldError{Field: f.field, Problem: "must be " + f.what + ", starting with " + f.prefix}
		}
	}
	if s.accountSID == "" || s.authToken == "" {
		_, err = cfg.Required("account_sid")
		if err == nil {
			_, err = cfg.Required("auth_token")
		}
		return s, err
	}
	if (s.apiKeySID == "") != (s.apiKeySecret == "") {
		return s, &connectors.FieldError{Field: "api_key_secret", Problem: "api_key_sid and api_key_secret go together: set both or neither"}
	}
	if strings.HasPrefix(strings.ToLower(s.from), "whatsapp:") {
		return s, &connectors.FieldError{Field: "from", Problem: "a WhatsApp sender goes in whatsapp_from"}
	}
	if s.waFrom != "" {
		if !strings.HasPrefix(s.waFrom, "whatsapp:") {
			return s, &connectors.FieldError{Field: "whatsapp_from", Problem: `must be "whatsapp:" and the number in E.164, like whatsapp:+14155238886`}
		}
		if _, ok := twilioapi.E164(s.waFrom); !ok {
			return s, &connectors.FieldError{Field: "whatsapp_from", Problem: "the number after whatsapp: must be in E.164, like +14155238886"}
		}
	}
	if s.from == "" && s.service == "" && s.waFrom == "" {
		return s, &connectors.FieldError{Field: "from", Problem: "set from, messaging_service_sid or whatsapp_from: sending needs a sender"}
	}
	if cfg.Has("api_base_url") {
		u, err := cfg.URL("api_base_url")
		if err != nil {
			return s, err
		}
		s.baseURL = u.String()
	}
	if s.webhookURL, err = webhookURL(cfg, res); err != nil {
		return s, err
	}
	s.callbacks = s.webhookURL != ""
	if cfg.Has("status_callbacks") {
		if s.callbacks, err = cfg.Bool("status_callbacks"); err != nil {
			return s, err
		}
		if s.callbacks && s.webhookURL == "" {
			return s, &connectors.FieldError{Field: "status_callbacks", Problem: "needs webhook_url, or the server's public URL, to send the callbacks to"}
		}
	}
	if cfg.Has("send_retries") {
		if s.retries, err = cfg.Int("send_retries"); err != nil {
			return s, err
		}
		if s.retries < 0 || s.retries > 10 {
			return s, &connectors.FieldError{Field: "send_retries", Problem: "must be from 0 to 10"}
		}
	}
	return s, nil
}

// webhookURL is the configured webhook URL, or the one the server's
// public URL gives, or "".
func webhookURL(cfg connectors.Config, res connectors.Resources) (string, error) {
	if cfg.Has("webhook_url") {
		u, err := cfg.URL("webhook_url")
		if err != nil {
			return "", err
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return "", &connectors.FieldError{Field: "webhook_url", Problem: "give the URL without query or fragment: the query Twilio calls with is added to it"}
		}
		return cfg.String("webhook_url"), nil
	}
	if res.PublicURL == "" {
		return "", nil
	}
	return strings.TrimRight(res.PublicURL, "/") + connectors.WebhookPath(Name, res.Instance), nil
}

// Receive verifies the request's signature and parses the message or
// status callback it carries.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	params, err := twilioapi.Verify(r, c.webhookURL, c.authToken)
	if err != nil {
		return nil, err
	}
	return parse(params)
}

// ReportsDelivery is true when Twilio is asked for status callbacks.
func (c *connector) ReportsDelivery() bool { return c.callbacks }

// Channels returns the channels of the instance's messages
// (connectors.ChannelLister).
func (c *connector) Channels() []string { return []string{ChannelSMS, ChannelWhatsApp} }

// address splits a Twilio address into its channel and the address
// flows see: "whatsapp:+14155550100" is whatsapp and +14155550100.
func address(a string) (channel, addr string) {
	if rest, ok := strings.CutPrefix(a, "whatsapp:"); ok {
		return ChannelWhatsApp, rest
	}
	return ChannelSMS, a
}

// twilioAddress is the inverse of address, for To and From of a send.
func twilioAddress(channel, addr string) string {
	if channel == ChannelWhatsApp && !strings.HasPrefix(addr, "whatsapp:") {
		return "whatsapp:" + addr
	}
	return addr
}
