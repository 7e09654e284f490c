// Package rcs is the RCS Business Messaging connector, registered as
// "rcs": Google's RBM API (now "RCS for Business"), which reaches phone
// numbers in Google Messages through the carriers. Its messages carry the
// channel "rcs". Google Business Messages, the Maps and Search chat it
// replaced for businesses, was shut down on 31 July 2024; RBM is what is
// left, and it is closer to SMS than to a chat button.
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default. docs/CONNECTORS.md is the reference for
// operators.
//
// Inbound, Google first verifies the webhook with a POST of
// {"clientToken", "secret"}, answered by Handshake with the secret. It then
// POSTs every user message and event as a Pub/Sub push envelope whose
// message.data is the event, base64-encoded; X-Goog-Signature is
// base64(HMAC-SHA512(client token, the decoded data)), so Receive decodes
// data, checks the signature over those bytes and only then parses them.
// A text or a tapped suggested reply (its postbackData as the Inbound's
// Choice) or a file becomes an Inbound; DELIVERED and READ events become
// delivery reports (connectors.DeliveryReporter).
//
// Outbound, Send checks the number's RCS capability once (cached), then
// POSTs each part to /v1/phones/{number}/agentMessages with a messageId
// derived from the Outbound's Key, which makes a retry idempotent: text
// split at 3072 characters, media by URL, and choices as suggested replies
// (connectors.ChoiceRenderer) within RBM's limits, else a numbered menu.
// It authenticates as the agent's service account with an OAuth token
// cached until it expires.
package rcs

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Name is the connector's registered name.
const Name = "rcs"

// Channel is the channel of the instance's messages.
const Channel = "rcs"

// DefaultAPIURL is the RBM API's endpoint.
const DefaultAPIURL = "https://rcsbusinessmessaging.googleapis.com"

// Scope is the OAuth scope of the RBM API.
const Scope = "https://www.googleapis.com/auth/rcsbusinessmessaging"

// HeaderSignature carries the webhook's signature.
const HeaderSignature = "X-Goog-Signature"

// maxBody is the largest webhook body taken: one event per request, but
// a file's URIs and the envelope's base64 make it a few kilobytes.
const maxBody = 256 << 10

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "RCS Business Messaging (RCS for Business) through Google's RBM API",
		Description: "Receives the messages and events Google posts for an RBM agent, checked with X-Goog-Signature " +
			"and verified with the clientToken handshake, and sends text, media and suggested replies with the RBM API " +
			"after checking the number's RCS capability. See docs/CONNECTORS.md.",
		MaxBodyBytes: maxBody,
		Fields: []connectors.Field{
			{Name: "agent_id", Required: true, Example: "switchboard-support",
				Description: "The RBM agent's id (the part before `@rbm.goog` in the console's agent details)."},
			{Name: "service_account_json", Secret: true, Required: true, Example: "env:RBM_SERVICE_ACCOUNT",
				Description: "The service account's JSON key from the console's Service account page: its `client_email`, `private_key` and `token_uri` sign the API's OAuth tokens."},
			{Name: "client_token", Secret: true, Required: true, Example: "SJENCPGJESMGUFPY",
				Description: "The webhook's client token from the console's Integrations page: Google signs every webhook with it and sends it in the registration handshake."},
			{Name: "api_url", Type: connectors.TypeURL, Default: DefaultAPIURL, Example: "http://127.0.0.1:8099",
				Description: "Base URL of the RBM API; a regional endpoint (`https://europe-rcsbusinessmessaging.googleapis.com`), or a fake in tests."},
			{Name: "token_url", Type: connectors.TypeURL, Example: "http://127.0.0.1:8099/token",
				Description: "Where OAuth tokens are fetched. Default: the key's `token_uri`."},
			{Name: "sms_fallback", Example: "default",
				Description: "The twilio instance that should carry messages to numbers without RCS. Send names it in the error it fails with: the runtime does not re-route a message to another connector yet."},
		},
	}
}

// connector is one configured instance.
type connector struct {
	agentID     string
	clientToken []byte
	fallback    string
	api         *client
	log         *slog.Logger
	now         func() time.Time

	mu      sync.Mutex
	capable map[string]capability // E.164 number → what its capability check said
}

var (
	_ connectors.Handshaker       = (*connector)(nil)
	_ connectors.DeliveryReporter = (*connector)(nil)
	_ connectors.ChoiceRenderer   = (*connector)(nil)
)

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	for _, f := range []string{"agent_id", "service_account_json", "client_token"} {
		if _, err := cfg.Required(f); err != nil {
			return nil, err
		}
	}
	agent := strings.TrimSuffix(strings.TrimSpace(cfg.String("agent_id")), agentDomain)
	if agent == "" || strings.ContainsAny(agent, "/?#@ ") {
		return nil, &connectors.FieldError{Field: "agent_id", Problem: "must be the agent's id, like my-agent (without @rbm.goog)"}
	}
	key, err := parseKey([]byte(cfg.String("service_account_json")))
	if err != nil {
		return nil, &connectors.FieldError{Field: "service_account_json", Problem: err.Error()}
	}
	base := DefaultAPIURL
	if cfg.Has("api_url") {
		u, err := cfg.URL("api_url")
		if err != nil {
			return nil, err
		}
		base = strings.TrimRight(u.String(), "/")
	}
	tokenURL := key.TokenURI
	if cfg.Has("token_url") {
		u, err := cfg.URL("token_url")
		if err != nil {
			return nil, err
		}
		tokenURL = u.String()
	}
	if tokenURL == "" {
		return nil, &connectors.FieldError{Field: "token_url", Problem: "required: the key has no token_uri"}
	}
	fallback := strings.TrimPrefix(strings.TrimSpace(cfg.String("sms_fallback")), "twilio/")
	if fallback != "" && !connectors.ValidName(fallback) {
		return nil, &connectors.FieldError{Field: "sms_fallback", Problem: "must name a twilio instance, like default"}
	}
	log := res.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := res.Now
	if now == nil {
		now = time.Now
	}
	return &connector{
		agentID: agent, clientToken: []byte(cfg.String("client_token")), fallback: fallback,
		api: newClient(base, agent, key, tokenURL, res.HTTPClient), log: log, now: now,
		capable: map[string]capability{},
	}, nil
}

// agentDomain ends an agent's full id: my-agent@rbm.goog.
const agentDomain = "@rbm.goog"

// Handshake answers the webhook's registration: Google POSTs the client
// token and a secret, and wants the secret back as the body of a 200. A
// request with a signature is a message, for Receive.
func (c *connector) Handshake(r *connectors.Request) (int, string, []byte, bool) {
	if r.Method != http.MethodPost || r.Header.Get(HeaderSignature) != "" {
		return 0, "", nil, false
	}
	var reg struct {
		ClientToken *string `json:"clientToken"`
		Secret      *string `json:"secret"`
	}
	if json.Unmarshal(r.Body, &reg) != nil || reg.ClientToken == nil || reg.Secret == nil {
		return 0, "", nil, false
	}
	if subtle.ConstantTimeCompare([]byte(*reg.ClientToken), c.clientToken) != 1 {
		status, ct, body := connectors.ErrorResponse(connectors.Errorf(http.StatusForbidden,
			"clientToken does not match the instance's client_token"))
		return status, ct, body, true
	}
	return http.StatusOK, "text/plain; charset=utf-8", []byte(*reg.Secret), true
}

// Receive verifies the event's signature and parses it.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method %s: RBM's webhooks are POSTs", r.Method)
	}
	data, err := verify(r, c.clientToken)
	if err != nil {
		return nil, err
	}
	return c.parse(data)
}

// ReportsDelivery is true: RBM reports DELIVERED and READ.
func (c *connector) ReportsDelivery() bool { return true }

// RendersChoices is true for RCS: suggested replies.
func (c *connector) RendersChoices(channel string) bool { return channel == Channel || channel == "" }

// errorf prefixes the connector's name.
func errorf(format string, args ...any) error { return fmt.Errorf("rcs: "+format, args...) }
