// Package whatsapp is the WhatsApp Business Cloud API connector,
// registered as "whatsapp_cloud": WhatsApp through Meta's own API, with
// no provider in between. Its messages carry the channel "whatsapp".
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default; what it shares with the Messenger and
// Instagram connectors (the signature, the handshake, the Graph API
// client) is in connectors/meta/graph. docs/CONNECTORS.md is the
// reference for operators.
//
// Inbound, Meta first verifies the webhook with a GET (hub.challenge),
// answered by Handshake; it then POSTs a notification for the messages
// of every phone number of the app's business accounts, and for the
// statuses of the messages sent from them. Receive checks
// X-Hub-Signature-256, keeps the changes of the instance's phone number,
// and turns each message into an Inbound (a tapped button or list row
// into one whose Choice is the row's id) and each status into one whose
// Status reports on a sent message. Meta's media ids expire and their
// download needs the access token, so Receive starts fetching the media of
// a message in the background and the Inbound's Media points at the
// instance's own route, which serves the file once it is kept (see
// Routes).
//
// Outbound, Send POSTs to /{phone_number_id}/messages: text (split at
// 4096 characters), media by link, an approved template, or choices as
// reply buttons or a list (connectors.ChoiceRenderer) within WhatsApp's
// limits, else as a numbered menu. Send means "accepted": the delivery,
// or its failure, comes back as a status (connectors.DeliveryReporter).
package whatsapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// Name is the connector's registered name.
const Name = "whatsapp_cloud"

// Channel is the channel of the instance's messages: the same as the
// Twilio connector's WhatsApp, so flows and contacts do not depend on the
// provider.
const Channel = "whatsapp"

// maxBody is the largest webhook body taken: Meta batches up to about a
// thousand updates in one notification.
const maxBody = 4 << 20

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "WhatsApp through Meta's WhatsApp Business Cloud API",
		Description: "Receives the messages and statuses Meta posts for a WhatsApp business phone number, checked with " +
			"X-Hub-Signature-256 and verified with the hub.challenge handshake, and sends text, media, templates, reply " +
			"buttons and lists with the Cloud API. See docs/CONNECTORS.md.",
		MaxBodyBytes: maxBody,
		Fields: []connectors.Field{
			{Name: "phone_number_id", Required: true, Example: "106540352242922",
				Description: "The id of the business phone number (WhatsApp Manager, or the app's WhatsApp > API Setup), not the number itself."},
			{Name: "access_token", Secret: true, Required: true, Example: "EAAJB3ZB…",
				Description: "A permanent access token of a system user with the whatsapp_business_messaging permission."},
			{Name: "app_secret", Secret: true, Required: true, Example: "9f3c2a…",
				Description: "The Meta app's secret (App settings > Basic): Meta signs webhooks with it."},
			{Name: "verify_token", Secret: true, Required: true, Example: "a-long-random-string",
				Description: "The verify token typed into the app's webhook configuration; Meta sends it back when it verifies the callback URL."},
			{Name: "graph_url", Type: connectors.TypeURL, Default: graph.DefaultBaseURL, Example: "http://127.0.0.1:8099",
				Description: "Base URL of the Graph API; tests point it at a fake."},
			{Name: "graph_version", Default: graph.DefaultVersion, Example: "v23.0",
				Description: "The Graph API version of every call (`v` and major.minor)."},
			{Name: "media_dir", Example: "/var/lib/switchboard/whatsapp-media",
				Description: "Where the media customers send are kept once fetched from Meta. Default: a directory under the system's temporary directory, named for the instance."},
		},
	}
}

// versionPattern is the shape of a Graph API version.
var versionPattern = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// connector is one configured instance.
type connector struct {
	phoneID     string
	appSecret   string
	verifyToken string
	client      *graph.Client
	media       *mediaStore
	log         *slog.Logger

	sent *connectors.Accepted // Outbound.Key + "#" + part → the id Meta gave it
}

var (
	_ connectors.Handshaker       = (*connector)(nil)
	_ connectors.DeliveryReporter = (*connector)(nil)
	_ connectors.ChoiceRenderer   = (*connector)(nil)
	_ connectors.Closer           = (*connector)(nil)
	_ httpsurface.Pages           = (*connector)(nil)
)

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	phoneID := strings.TrimSpace(cfg.String("phone_number_id"))
	for _, f := range []string{"phone_number_id", "access_token", "app_secret", "verify_token"} {
		if _, err := cfg.Required(f); err != nil {
			return nil, err
		}
	}
	if strings.Trim(phoneID, "0123456789") != "" {
		return nil, &connectors.FieldError{Field: "phone_number_id", Problem: "must be the phone number's id (digits, like 106540352242922), not the number"}
	}
	version := graph.DefaultVersion
	if cfg.Has("graph_version") {
		version = cfg.String("graph_version")
		if !versionPattern.MatchString(version) {
			return nil, &connectors.FieldError{Field: "graph_version", Problem: `must be "v" and major.minor, like v23.0`}
		}
	}
	base := graph.DefaultBaseURL
	if cfg.Has("graph_url") {
		u, err := cfg.URL("graph_url")
		if err != nil {
			return nil, err
		}
		base = u.String()
	}
	instance := res.Instance
	if instance == "" {
		instance = connectors.DefaultInstance
	}
	dir := cfg.String("media_dir")
	if dir == "" {
		dir = mediastore.DefaultDir(Name, instance)
	}
	log := res.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := res.Now
	if now == nil {
		now = time.Now
	}
	client := graph.New(graph.Config{BaseURL: base, Version: version, Token: cfg.String("access_token")}, res.HTTPClient)
	mediaKey := hmac.New(sha256.New, []byte(cfg.String("app_secret")))
	mediaKey.Write([]byte("switchboard media links"))
	media, err := newMediaStore(dir, client, log, mediaKey.Sum(nil),
		strings.TrimRight(res.PublicURL, "/")+"/"+Name+"/"+instance+mediaRoute)
	if err != nil {
		return nil, &connectors.FieldError{Field: "media_dir", Problem: err.Error()}
	}
	c := &connector{
		phoneID: phoneID, appSecret: cfg.String("app_secret"), verifyToken: cfg.String("verify_token"),
		client: client, log: log, sent: connectors.NewAccepted(sentTTL, maxRemembered, now),
		media: media,
	}
	return c, nil
}

// Handshake answers Meta's verification of the callback URL.
func (c *connector) Handshake(r *connectors.Request) (int, string, []byte, bool) {
	return graph.Handshake(r, c.verifyToken)
}

// Receive verifies the notification's signature and parses the messages
// and statuses of the instance's phone number; it starts fetching their
// media in the background.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method %s: Meta's notifications are POSTs", r.Method)
	}
	if err := graph.VerifySignature(r, c.appSecret); err != nil {
		return nil, err
	}
	if err := r.RequireMediaType("application/json"); err != nil {
		return nil, err
	}
	in, media, err := c.parse(r.Body)
	if err != nil {
		return nil, err
	}
	for _, id := range media {
		c.media.fetch(id)
	}
	return in, nil
}

// ReportsDelivery is true: every message sent gets statuses.
func (c *connector) ReportsDelivery() bool { return true }

// RendersChoices is true for WhatsApp: reply buttons and lists.
func (c *connector) RendersChoices(channel string) bool { return channel == Channel || channel == "" }

// Close stops the media fetches under way and waits for them.
func (c *connector) Close(context.Context) error {
	c.media.close()
	return nil
}

// Limits of the memory of accepted parts, so that the outbox's retry of
// a message split in parts does not send the accepted ones again.
const (
	sentTTL       = 24 * time.Hour
	maxRemembered = 100_000
)

// errorf prefixes the connector's name.
func errorf(format string, args ...any) error { return fmt.Errorf("whatsapp_cloud: "+format, args...) }
