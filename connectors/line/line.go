// Package line is the LINE Messaging API connector, registered as "line":
// the chats of a LINE Official Account with its customers. Its messages
// carry the channel "line".
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default; docs/CONNECTORS.md is the reference for
// operators.
//
// Inbound, LINE POSTs a JSON body of events to the webhook, signed with
// X-Line-Signature (base64 HMAC-SHA256 of the body with the channel
// secret). Receive checks it first, over the raw body, then turns message
// events into Inbound messages and postbacks into choices; the other
// events are acknowledged and logged. LINE's media content is kept on its
// data host for a while and handed out only with the access token, so
// Receive starts fetching it in the background into media_dir, and the
// Inbound's Media links to the instance's content route (see Routes). webhookEventId is the dedupe
// key, so a redelivery is recognised.
//
// Outbound, a message answering a webhook within a minute uses the
// event's reply token (free, single use); later, on an agent's reply or
// when the reply fails, Send pushes, with an X-Line-Retry-Key derived
// from the message's key so that a retried push is not delivered twice.
// Choices go as quick replies (connectors.ChoiceRenderer).
package line

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// Name is the connector's registered name.
const Name = "line"

// Channel is the channel of the instance's messages.
const Channel = "line"

// HeaderSignature is the header LINE signs webhooks in.
const HeaderSignature = "X-Line-Signature"

// Default hosts of the Messaging API and of its content (data) API.
const (
	DefaultAPIURL     = "https://api.line.me"
	DefaultDataAPIURL = "https://api-data.line.me"
)

// maxBody is the largest webhook body taken: LINE batches events.
const maxBody = 1 << 20

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "LINE Official Account chats through the LINE Messaging API",
		Description: "Receives the webhook events LINE posts for a Messaging API channel, checked with X-Line-Signature, " +
			"and answers with the reply token while it is valid, else with push messages; choices go as quick replies. " +
			"See docs/CONNECTORS.md.",
		MaxBodyBytes: maxBody,
		Fields: []connectors.Field{
			{Name: "channel_secret", Secret: true, Required: true, Example: "8c570fa6dd201bb328f1c1eac23a96d8",
				Description: "The channel secret (LINE Developers console, the channel's Basic settings): LINE signs webhooks with it."},
			{Name: "channel_access_token", Secret: true, Required: true, Example: "W1H0fSYm…",
				Description: "A long-lived channel access token (the channel's Messaging API tab) for sending and fetching content."},
			{Name: "api_url", Type: connectors.TypeURL, Default: DefaultAPIURL, Example: "http://127.0.0.1:8099",
				Description: "Base URL of the Messaging API (reply, push); tests point it at a fake."},
			{Name: "data_api_url", Type: connectors.TypeURL, Default: DefaultDataAPIURL, Example: "http://127.0.0.1:8099",
				Description: "Base URL of the content API, where the media customers send are fetched from; tests point it at a fake."},
			{Name: "media_dir", Example: "/var/lib/switchboard/line-media",
				Description: "Where the media customers send are kept once fetched from LINE. Default: a directory under the system's temporary directory, named for the instance."},
		},
	}
}

// connector is one configured instance.
type connector struct {
	secret  string
	token   string
	apiURL  string
	http    *http.Client
	log     *slog.Logger
	now     func() time.Time
	content *contentStore

	replies *replyTokens
	sent    *connectors.Accepted // Outbound.Key + "#" + request → the id LINE gave its last message

	mu      sync.Mutex
	offered map[string]offer // recipient → the choices last offered, to title a postback
}

// offer is the choices last sent to a recipient.
type offer struct {
	titles map[string]string
	at     time.Time
}

var (
	_ connectors.ChoiceRenderer = (*connector)(nil)
	_ httpsurface.Pages         = (*connector)(nil)
	_ connectors.Closer         = (*connector)(nil)
)

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	for _, f := range []string{"channel_secret", "channel_access_token"} {
		if _, err := cfg.Required(f); err != nil {
			return nil, err
		}
	}
	api, err := baseURL(cfg, "api_url", DefaultAPIURL)
	if err != nil {
		return nil, err
	}
	data, err := baseURL(cfg, "data_api_url", DefaultDataAPIURL)
	if err != nil {
		return nil, err
	}
	instance := res.Instance
	if instance == "" {
		instance = connectors.DefaultInstance
	}
	log := res.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := res.Now
	if now == nil {
		now = time.Now
	}
	client := res.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	dir := cfg.String("media_dir")
	if dir == "" {
		dir = mediastore.DefaultDir(Name, instance)
	}
	key := hmac.New(sha256.New, []byte(cfg.String("channel_secret")))
	key.Write([]byte("switchboard content links"))
	token := cfg.String("channel_access_token")
	content, err := newContentStore(dir, data, token, client, log, key.Sum(nil),
		strings.TrimRight(res.PublicURL, "/")+"/"+Name+"/"+instance+contentRoute)
	if err != nil {
		return nil, &connectors.FieldError{Field: "media_dir", Problem: err.Error()}
	}
	return &connector{
		secret: cfg.String("channel_secret"), token: token, apiURL: api, http: client, log: log, now: now,
		content: content,
		replies: newReplyTokens(now), sent: connectors.NewAccepted(sentTTL, maxRemembered, now),
		offered: map[string]offer{},
	}, nil
}

func baseURL(cfg connectors.Config, field, def string) (string, error) {
	if !cfg.Has(field) {
		return def, nil
	}
	u, err := cfg.URL(field)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Receive verifies the webhook's signature and parses its events; it
// starts fetching the content of their media in the background.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method %s: LINE's webhooks are POSTs", r.Method)
	}
	sig := r.Header.Get(HeaderSignature)
	if sig == "" {
		return nil, connectors.Errorf(http.StatusUnauthorized, "no %s header", HeaderSignature)
	}
	if !webhook.ValidateSignature(c.secret, sig, r.Body) {
		return nil, connectors.Errorf(http.StatusUnauthorized, "bad %s: not the body's HMAC-SHA256 with the channel secret", HeaderSignature)
	}
	if err := r.RequireMediaType("application/json"); err != nil {
		return nil, err
	}
	return c.parse(r.Body)
}

// RendersChoices is true for LINE: quick replies.
func (c *connector) RendersChoices(channel string) bool { return channel == Channel || channel == "" }

// Limits of the memories the instance keeps.
const (
	sentTTL       = 24 * time.Hour
	maxRemembered = 100_000
	offerTTL      = 24 * time.Hour
)

// errorf prefixes the connector's name.
func errorf(format string, args ...any) error { return fmt.Errorf("line: "+format, args...) }
