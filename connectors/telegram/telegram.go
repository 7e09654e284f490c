// Package telegram is the Telegram Bot API connector, registered as
// "telegram": the messages people write to a bot, and the bot's replies.
// Its messages carry the channel "telegram".
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default; it calls the Bot API through
// github.com/go-telegram/bot. docs/CONNECTORS.md is the reference for
// operators.
//
// At start, unless told not to, New registers the instance's webhook URL
// with setWebhook (in the background: Telegram's answer is not waited
// for), with the instance's secret token. Telegram then POSTs one Update
// per request with the header X-Telegram-Bot-Api-Secret-Token, which
// Receive compares in constant time before it parses the body. A message
// (or an edited one) becomes an Inbound; a tap on an inline keyboard
// button (a callback_query) becomes one whose Choice is the button's
// callback_data, and is answered in the background so that the client's
// spinner stops. The download URL of a file holds the bot's token, so the
// media of a message are fetched in the background into a directory and
// served on the instance's own route (see Routes).
//
// Send calls sendMessage (text split at 4096 characters), sendPhoto,
// sendVideo, sendVoice or sendDocument for media by URL, and renders
// choices as an inline keyboard, one button a row.
package telegram

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// Name is the connector's registered name.
const Name = "telegram"

// Channel is the channel of the instance's messages.
const Channel = "telegram"

// HeaderSecret is the header in which Telegram sends the webhook's secret
// token.
const HeaderSecret = "X-Telegram-Bot-Api-Secret-Token"

// DefaultAPIURL is the Bot API's base URL.
const DefaultAPIURL = "https://api.telegram.org"

// AllowedUpdates are the update types the webhook asks for.
var AllowedUpdates = []string{"message", "edited_message", "callback_query"}

// WebhookPorts are the only ports Telegram delivers webhooks to.
var WebhookPorts = []string{"443", "80", "88", "8443"}

// maxBody is the largest update taken: one Update is a few kilobytes.
const maxBody = 1 << 20

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "Telegram bots through the Bot API",
		Description: "Receives the updates Telegram posts to a bot's webhook, checked with the X-Telegram-Bot-Api-Secret-Token " +
			"header, and sends text, media and inline keyboards with the Bot API. See docs/CONNECTORS.md.",
		MaxBodyBytes: maxBody,
		Fields: []connectors.Field{
			{Name: "bot_token", Secret: true, Required: true, Example: "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
				Description: "The bot's token, as @BotFather gave it: the bot's id, a colon, and the secret part."},
			{Name: "secret_token", Secret: true, Required: true, Example: "a_long-random_string",
				Description: "1 to 256 characters of A-Z, a-z, 0-9, _ and -: Telegram sends it back in X-Telegram-Bot-Api-Secret-Token with every update."},
			{Name: "api_url", Type: connectors.TypeURL, Default: DefaultAPIURL, Example: "http://127.0.0.1:8081",
				Description: "Base URL of the Bot API (a local Bot API server, or a fake in tests)."},
			{Name: "set_webhook", Type: connectors.TypeBool, Default: "true", Example: "false",
				Description: "Call setWebhook at start with the instance's webhook URL and the secret token."},
			{Name: "media_dir", Example: "/var/lib/switchboard/telegram-media",
				Description: "Where the files customers send are kept once fetched. Default: a directory under the system's temporary directory, named for the instance."},
		},
	}
}

// secretPattern is what Telegram accepts as a secret_token.
var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// tokenPattern is the shape of a bot token: the bot's id, a colon, the
// secret part.
var tokenPattern = regexp.MustCompile(`^([0-9]+):[A-Za-z0-9_-]+$`)

// connector is one configured instance.
type connector struct {
	bot    *bot.Bot
	botID  string
	secret []byte
	log    *slog.Logger
	media  *mediaStore
	sent   *connectors.Accepted // Outbound.Key + "#" + part → the id Telegram gave it
	// answers bounds the answers to button taps under way.
	answers chan struct{}

	ctx    context.Context // ends at Close: the background calls' context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

var (
	_ connectors.ChoiceRenderer = (*connector)(nil)
	_ connectors.Closer         = (*connector)(nil)
	_ httpsurface.Pages         = (*connector)(nil)
)

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	token, err := cfg.Required("bot_token")
	if err != nil {
		return nil, err
	}
	m := tokenPattern.FindStringSubmatch(token)
	if m == nil {
		return nil, &connectors.FieldError{Field: "bot_token", Problem: "must be the token @BotFather gave, like 123456789:AAH…"}
	}
	secret, err := cfg.Required("secret_token")
	if err != nil {
		return nil, err
	}
	if !secretPattern.MatchString(secret) {
		return nil, &connectors.FieldError{Field: "secret_token", Problem: "must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -"}
	}
	apiURL := DefaultAPIURL
	if cfg.Has("api_url") {
		u, err := cfg.URL("api_url")
		if err != nil {
			return nil, err
		}
		apiURL = strings.TrimRight(u.String(), "/")
	}
	setWebhook := true
	if cfg.Has("set_webhook") {
		if setWebhook, err = cfg.Bool("set_webhook"); err != nil {
			return nil, err
		}
	}
	instance := res.Instance
	if instance == "" {
		instance = connectors.DefaultInstance
	}
	dir := cfg.String("media_dir")
	if dir == "" {
		dir = mediastore.DefaultDir(Name, instance)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &connectors.FieldError{Field: "media_dir", Problem: err.Error()}
	}
	log := res.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := res.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	b, err := bot.New(token, bot.WithServerURL(apiURL), bot.WithSkipGetMe(), bot.WithHTTPClient(client.Timeout, client),
		bot.WithErrorsHandler(func(err error) { log.Warn("bot api client", "err", err) }))
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &connector{bot: b, botID: m[1], secret: []byte(secret), log: log, ctx: ctx, cancel: cancel,
		sent: connectors.NewAccepted(sentTTL, maxRemembered, res.Now), answers: make(chan struct{}, maxAnswers)}
	mediaKey := hmac.New(sha256.New, []byte(secret))
	mediaKey.Write([]byte("switchboard media links"))
	publicURL := strings.TrimRight(res.PublicURL, "/")
	if c.media, err = newMediaStore(dir, b, client, log, mediaKey.Sum(nil), publicURL+"/"+Name+"/"+instance+mediaRoute, c.background); err != nil {
		cancel()
		return nil, &connectors.FieldError{Field: "media_dir", Problem: err.Error()}
	}
	if setWebhook {
		c.startWebhook(publicURL, instance, secret)
	}
	return c, nil
}

// Receive checks the secret token and parses the one Update of the
// request. An update of a type the connector does not take is
// acknowledged with no message, so that Telegram does not retry it.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method %s: Telegram's updates are POSTs", r.Method)
	}
	got := r.Header.Get(HeaderSecret)
	if got == "" {
		return nil, connectors.Errorf(http.StatusUnauthorized, "missing %s header", HeaderSecret)
	}
	if subtle.ConstantTimeCompare([]byte(got), c.secret) != 1 {
		return nil, connectors.Errorf(http.StatusUnauthorized, "bad %s: it is not the instance's secret_token", HeaderSecret)
	}
	if err := r.RequireMediaType("application/json"); err != nil {
		return nil, err
	}
	in, err := c.parse(r.Body)
	if err != nil {
		return nil, err
	}
	return in, nil
}

// RendersChoices is true: choices become an inline keyboard.
func (c *connector) RendersChoices(channel string) bool { return channel == Channel || channel == "" }

// Close stops the background calls (setWebhook, answers to button taps,
// media fetches) and waits for them.
func (c *connector) Close(context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return nil
}

// background runs f in a goroutine that Close waits for; false when the
// instance is closed already.
func (c *connector) background(f func(ctx context.Context)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f(c.ctx)
	}()
	return true
}

// startWebhook registers the webhook URL with Telegram in the background,
// retrying temporary failures; Telegram refuses any port but four, which
// the log says at once.
func (c *connector) startWebhook(publicURL, instance, secret string) {
	if publicURL == "" {
		c.log.Warn("telegram: no public URL, so setWebhook is not called: set the server's public URL, or call setWebhook yourself")
		return
	}
	hook := publicURL + connectors.WebhookPath(Name, instance)
	if u, err := url.Parse(hook); err == nil {
		if port := webhookPort(u); !portAllowed(port) {
			c.log.Warn("telegram: the webhook URL's port is one Telegram does not call: use 443, 80, 88 or 8443",
				"url", hook, "port", port)
		}
	}
	c.background(func(ctx context.Context) {
		params := &bot.SetWebhookParams{URL: hook, SecretToken: secret, AllowedUpdates: AllowedUpdates}
		wait := time.Second
		for attempt := 1; ; attempt++ {
			_, err := c.bot.SetWebhook(ctx, params)
			if err == nil {
				c.log.Info("telegram: webhook set", "url", hook)
				return
			}
			err = classify(err, "")
			if connectors.IsPermanent(err) || attempt == webhookAttempts || ctx.Err() != nil {
				c.log.Error("telegram: setWebhook failed", "url", hook, "attempts", attempt, "err", err)
				return
			}
			if d, ok := connectors.RetryDelay(err); ok && d > wait {
				wait = d
			}
			if !sleep(ctx, wait) {
				return
			}
			wait *= 2
		}
	})
}

// maxAnswers bounds the answerCallbackQuery calls under way at once.
const maxAnswers = 64

// webhookAttempts bounds the setWebhook calls at start.
const webhookAttempts = 5

func webhookPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

func portAllowed(port string) bool {
	for _, p := range WebhookPorts {
		if p == port {
			return true
		}
	}
	return false
}

// sleep waits d, or less when ctx ends first (then false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Limits of the memory of accepted parts, so that the outbox's retry of
// a message split in parts does not send the accepted ones again.
const (
	sentTTL       = 24 * time.Hour
	maxRemembered = 100_000
)

// errorf prefixes the connector's name.
func errorf(format string, args ...any) error { return fmt.Errorf("telegram: "+format, args...) }

// decodeUpdate reads one Update; the library's types are the Bot API's.
func decodeUpdate(body []byte) (*models.Update, error) {
	var u models.Update
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
