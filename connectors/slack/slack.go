// Package slack is the Slack connector, registered as "slack": a Slack
// app's bot talks with the people of a workspace who write to it in a
// direct message or mention it in a channel. Its messages carry the
// channel "slack".
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default; connectors/slack/slackfake is a fake of the
// Slack Web API for its tests. docs/CONNECTORS.md is the reference for
// operators.
//
// Inbound, Slack POSTs to one URL both the Events API's requests (JSON)
// and the interactivity payloads of tapped buttons (a form whose payload
// field is JSON), each signed with X-Slack-Signature over
// "v0:"+X-Slack-Request-Timestamp+":"+body. Receive checks the signature
// and the five-minute replay window first, then turns message events of
// direct messages and app_mention events of channels into Inbounds
// (deduplicated by event_id) and a tapped button into one whose Choice is
// the button's value. The url_verification request that Slack sends when
// the Request URL is saved is answered by Handshake with its challenge.
// With socket_mode the instance is a connectors.Puller instead: it opens
// a Socket Mode WebSocket with an app-level token and receives the same
// payloads in envelopes, acknowledged once delivered.
//
// Addresses keep the conversation's channel with the user:
// "<channel id>/<user id>" (D0123ABCD/U0456EFGH), so that Send posts to
// the channel the customer wrote in, and in the thread of a channel's
// mention (Outbound.Thread). Send calls chat.postMessage: text in parts
// of at most 4000 characters, media as links, choices as a Block Kit
// section with an actions block of buttons (connectors.ChoiceRenderer),
// else as a numbered menu.
package slack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Name is the connector's registered name, and Channel the channel of
// its messages.
const (
	Name    = "slack"
	Channel = "slack"
)

// DefaultAPIURL is the base URL of the Slack Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Tolerance is how far a request's timestamp may be from now: Slack's
// documented replay window.
const Tolerance = 5 * time.Minute

// maxBody is the largest request taken: an event or an interaction
// payload is a few kilobytes; a message of 40,000 characters with its
// blocks is the largest Slack sends.
const maxBody = 1 << 20

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "A Slack app's bot: direct messages and mentions in channels",
		Description: "Receives the Events API's message (direct messages) and app_mention events and the interactivity " +
			"payloads of tapped buttons, checked with X-Slack-Signature and its five-minute replay window, answers the " +
			"url_verification challenge, and replies with chat.postMessage in the customer's channel and thread, choices " +
			"as Block Kit buttons. See docs/CONNECTORS.md.",
		MaxBodyBytes: maxBody,
		Fields: []connectors.Field{
			{Name: "bot_token", Secret: true, Required: true, Example: "xoxb-1234-5678-abcdef",
				Description: "The app's Bot User OAuth Token (OAuth & Permissions), with the chat:write, im:history and app_mentions:read scopes."},
			{Name: "signing_secret", Secret: true, Required: true, Example: "8f742231b10e8888abcd99yyyzzz85a5",
				Description: "The app's Signing Secret (Basic Information > App Credentials): Slack signs every request with it."},
			{Name: "api_url", Type: connectors.TypeURL, Default: DefaultAPIURL, Example: "http://127.0.0.1:8099/api/",
				Description: "Base URL of the Slack Web API, ending in a slash; tests point it at a fake."},
			{Name: "socket_mode", Type: connectors.TypeBool, Default: "false", Example: "true",
				Description: "Receive over a WebSocket the instance opens to Slack (Socket Mode) instead of at the webhook: for installs without a public URL."},
			{Name: "app_token", Secret: true, Example: "xapp-1-A0PNCHHK2-1234-abcdef",
				Description: "An app-level token with the connections:write scope (Basic Information > App-Level Tokens); required with socket_mode."},
		},
	}
}

// connector is one configured instance.
type connector struct {
	secret string
	api    *slack.Client
	now    func() time.Time
	log    *slog.Logger
	sent   *connectors.Accepted // Outbound.Key + "#" + part → the ts Slack gave it
}

var (
	_ connectors.Handshaker     = (*connector)(nil)
	_ connectors.ChoiceRenderer = (*connector)(nil)
)

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	for _, f := range []string{"bot_token", "signing_secret"} {
		if _, err := cfg.Required(f); err != nil {
			return nil, err
		}
	}
	token := cfg.String("bot_token")
	if !strings.HasPrefix(token, "xoxb-") {
		return nil, &connectors.FieldError{Field: "bot_token", Problem: `must be a bot token, starting with "xoxb-"`}
	}
	base := DefaultAPIURL
	if cfg.Has("api_url") {
		u, err := cfg.URL("api_url")
		if err != nil {
			return nil, err
		}
		base = u.String()
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
	}
	now := res.Now
	if now == nil {
		now = time.Now
	}
	log := res.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := res.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := &connector{
		secret: cfg.String("signing_secret"),
		api:    slack.New(token, slack.OptionAPIURL(base), slack.OptionHTTPClient(hc)),
		now:    now,
		log:    log,
		sent:   connectors.NewAccepted(sentTTL, maxRemembered, now),
	}
	socket, err := cfg.Bool("socket_mode")
	if err != nil || !socket {
		return c, err
	}
	app := cfg.String("app_token")
	if !strings.HasPrefix(app, "xapp-") {
		return nil, &connectors.FieldError{Field: "app_token", Problem: `socket_mode needs an app-level token, starting with "xapp-"`}
	}
	return &socketConnector{connector: c,
		socket: slack.New(token, slack.OptionAppLevelToken(app), slack.OptionAPIURL(base), slack.OptionHTTPClient(hc))}, nil
}

// RendersChoices is true: Block Kit buttons.
func (c *connector) RendersChoices(channel string) bool { return channel == Channel || channel == "" }

// Receive verifies the request's signature and timestamp, then parses an
// Events API request or an interactivity payload.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method %s: Slack's requests are POSTs", r.Method)
	}
	if err := Verify(r.Header, r.Body, c.secret, c.now()); err != nil {
		return nil, err
	}
	if err := r.RequireMediaType("application/json", "application/x-www-form-urlencoded"); err != nil {
		return nil, err
	}
	if r.MediaType() == "application/x-www-form-urlencoded" {
		return parseInteraction(r.Body)
	}
	return parseEvent(r.Body, r.Header)
}

// Limits of the memory of accepted parts, so that the outbox's retry of
// a message split in parts does not post the accepted ones again.
const (
	sentTTL       = 24 * time.Hour
	maxRemembered = 100_000
)

// errorf prefixes the connector's name.
func errorf(format string, args ...any) error { return fmt.Errorf("slack: "+format, args...) }
