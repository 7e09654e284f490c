// Package discord is the Discord connector, registered as "discord": a
// bot's direct messages, its buttons and its slash commands.
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default. Discord delivers a bot's direct messages only
// over the Gateway, a WebSocket the bot keeps open: Pull
// (connectors.Puller) holds it, identified with the DIRECT_MESSAGES
// intent, heartbeats, resumes after a drop, and delivers each DM's
// MESSAGE_CREATE as an Inbound. Buttons and slash commands come to the
// instance's webhook, /v1/webhooks/discord/{instance}, set as the app's
// Interactions Endpoint URL: Receive verifies the Ed25519 signature over
// timestamp and body, and Respond answers inline (PONG, a reply, or a
// deferral within Discord's 3 seconds). Send posts to
// /channels/{channel.id}/messages with the bot token, choices as buttons
// (connectors.ChoiceRenderer).
//
// An Inbound's From is the DM channel's id, not the user's: Send posts to
// a channel, and a DM channel is the one address that reaches the user
// without creating it first. The user's id is Attributes["user_id"].
// docs/CONNECTORS.md is the reference for operators.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Name is the connector's registered name; Channel is its messages'.
const (
	Name    = "discord"
	Channel = "discord"
)

// Defaults of the endpoints: the REST API's version 10 and the Gateway
// Discord names in GET /gateway/bot.
const (
	DefaultAPIURL     = "https://discord.com/api/v10"
	DefaultGatewayURL = "wss://gateway.discord.gg"
)

// The interaction webhook's signature headers.
const (
	HeaderSignature = "X-Signature-Ed25519"
	HeaderTimestamp = "X-Signature-Timestamp"
)

// IntentDirectMessages is the Gateway intent (1 << 12) that brings
// MESSAGE_CREATE for DMs; a DM's content needs no privileged intent.
const IntentDirectMessages = 1 << 12

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "Discord direct messages to a bot, over the Gateway, with buttons and slash commands by the interactions endpoint",
		Description: "Holds the bot's Gateway connection for its direct messages, takes button taps and slash commands " +
			"at the Interactions Endpoint URL, checked with Ed25519, and sends replies with the REST API, choices as buttons. " +
			"See docs/CONNECTORS.md.",
		Fields: []connectors.Field{
			{Name: "bot_token", Secret: true, Required: true, Example: "MTE5NzA0ODI1NjQ4NTk2MzkzNg.GxY2aB.…",
				Description: "The bot's token (**Bot → Reset Token** in the Developer Portal): the Gateway's identify and every REST call."},
			{Name: "public_key", Required: true, Example: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
				Description: "The application's public key (**General Information**), 64 hex digits: interactions are signed with its private half."},
			{Name: "application_id", Example: "1197048256485963936",
				Description: "The application's id; when set, interactions of any other application are refused."},
			{Name: "api_url", Type: connectors.TypeURL, Default: DefaultAPIURL, Example: "http://127.0.0.1:8097/api/v10",
				Description: "Base URL of the REST API, version included; tests point it at a fake."},
			{Name: "gateway_url", Default: DefaultGatewayURL, Example: "ws://127.0.0.1:8097/gateway",
				Description: "The Gateway's WebSocket URL (`ws` or `wss`), without query; tests point it at a fake."},
		},
	}
}

// Conn is one instance of the connector.
type Conn struct {
	token   string
	pub     ed25519.PublicKey
	appID   string
	api     string
	gateway string
	client  *http.Client
	dialer  *websocket.Dialer
	log     *slog.Logger
	now     func() time.Time
	sent    *connectors.Accepted // Outbound.Key + "#" + part → the id Discord gave it

	mu      sync.Mutex
	session session // the Gateway session a later Pull resumes
}

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	token, err := cfg.Required("bot_token")
	if err != nil {
		return nil, err
	}
	pub, err := publicKey(cfg.String("public_key"))
	if err != nil {
		return nil, &connectors.FieldError{Field: "public_key", Problem: err.Error()}
	}
	api, err := cfg.URL("api_url")
	if err != nil {
		return nil, err
	}
	gw := strings.TrimRight(cfg.String("gateway_url"), "/")
	if !strings.HasPrefix(gw, "wss://") && !strings.HasPrefix(gw, "ws://") {
		return nil, &connectors.FieldError{Field: "gateway_url", Problem: fmt.Sprintf("%q is not a ws:// or wss:// URL", gw)}
	}
	if strings.ContainsAny(gw, "?#") {
		return nil, &connectors.FieldError{Field: "gateway_url", Problem: "the connector adds the query (v=10&encoding=json) itself"}
	}
	dialer := *websocket.DefaultDialer
	if t, ok := res.HTTPClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		dialer.TLSClientConfig = t.TLSClientConfig.Clone()
	}
	return &Conn{
		token: token, pub: pub, appID: cfg.String("application_id"),
		api: strings.TrimRight(api.String(), "/"), gateway: gw,
		client: res.HTTPClient, dialer: &dialer, log: res.Logger, now: res.Now,
		sent: connectors.NewAccepted(24*time.Hour, 100_000, res.Now),
	}, nil
}

func publicKey(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("want the application's public key as %d hex digits, got %d characters", 2*ed25519.PublicKeySize, len(s))
	}
	return ed25519.PublicKey(b), nil
}

// RendersChoices reports that Discord shows choices as buttons or a
// select menu.
func (c *Conn) RendersChoices(channel string) bool { return channel == Channel }

// Close forgets the Gateway session: the process that next pulls
// identifies anew.
func (c *Conn) Close(context.Context) error {
	c.mu.Lock()
	c.session = session{}
	c.mu.Unlock()
	return nil
}

var (
	_ connectors.Connector       = (*Conn)(nil)
	_ connectors.InlineResponder = (*Conn)(nil)
	_ connectors.ChoiceRenderer  = (*Conn)(nil)
	_ connectors.Puller          = (*Conn)(nil)
	_ connectors.Closer          = (*Conn)(nil)
)
