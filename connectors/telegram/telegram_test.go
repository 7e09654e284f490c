package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/telegram"
	"github.com/switchboard-dev/switchboard/connectors/telegram/telegramfake"
)

const (
	publicURL = "https://switchboard.example.com"
	webhook   = publicURL + "/v1/webhooks/telegram/default"
	secret    = "s3cret_Token-for-tests"
	payloads  = "../../testdata/connectors/telegram"
)

// config is a working configuration against apiURL, without setWebhook;
// extra fields override it ("" deletes).
func config(t testing.TB, apiURL string, extra connectors.Config) connectors.Config {
	cfg := connectors.Config{"bot_token": telegramfake.Token, "secret_token": secret, "api_url": apiURL,
		"set_webhook": "false", "media_dir": t.TempDir()}
	for k, v := range extra {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	return cfg
}

// newConnector builds an instance with a registry of its own, closed at
// the test's end.
func newConnector(t testing.TB, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	c, err := build(cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.(connectors.Closer).Close(context.Background()) })
	return c
}

func build(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	reg := connectors.NewRegistry()
	reg.MustRegister(telegram.Spec(), telegram.New)
	if res.PublicURL == "" {
		res.PublicURL = publicURL
	}
	return reg.New(telegram.Name, cfg, res)
}

func loadPayloads(t testing.TB) []connectortest.Recorded { return connectortest.Bodies(t, payloads) }

func findPayload(t testing.TB, name string) connectortest.Recorded {
	return connectortest.BodyNamed(t, payloads, name)
}

// TestReceivePayloads parses every recorded update and compares with its
// want section, byte for byte; TELEGRAM_UPDATE=1 rewrites the want
// sections.
func TestReceivePayloads(t *testing.T) {
	f := telegramfake.New(t)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	update := os.Getenv("TELEGRAM_UPDATE") != ""
	for _, p := range loadPayloads(t) {
		t.Run(p.Name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), telegramfake.Webhook(secret, webhook, p.Body))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			p.CheckInbounds(t, got, update, connectortest.Exact())
		})
	}
}

// TestReceiveRefusals: every refusal is a positioned StatusError with the
// status the platform must see.
func TestReceiveRefusals(t *testing.T) {
	c := newConnector(t, config(t, "http://127.0.0.1:1", nil), connectors.Resources{})
	text := findPayload(t, "text").Body
	cases := []struct {
		name   string
		req    func() *connectors.Request
		status int
		reason string
	}{
		{"no secret", func() *connectors.Request { return telegramfake.Webhook("", webhook, text) }, 401, "missing X-Telegram-Bot-Api-Secret-Token"},
		{"wrong secret", func() *connectors.Request { return telegramfake.Webhook(secret+"x", webhook, text) }, 401, "bad X-Telegram-Bot-Api-Secret-Token"},
		{"secret prefix", func() *connectors.Request { return telegramfake.Webhook(secret[:5], webhook, text) }, 401, "bad X-Telegram"},
		{"GET", func() *connectors.Request {
			r := telegramfake.Webhook(secret, webhook, nil)
			r.Method = http.MethodGet
			return r
		}, 405, "method GET"},
		{"form", func() *connectors.Request {
			r := telegramfake.Webhook(secret, webhook, text)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 415, "content type must be application/json"},
		{"not JSON", func() *connectors.Request { return telegramfake.Webhook(secret, webhook, []byte("update")) }, 400, "not a Telegram Update"},
		{"no update_id", func() *connectors.Request {
			return telegramfake.Webhook(secret, webhook, []byte(`{"message":{"message_id":1,"chat":{"id":5,"type":"private"},"date":1,"text":"hi"}}`))
		}, 400, "no update_id"},
		{"no chat", func() *connectors.Request {
			return telegramfake.Webhook(secret, webhook, []byte(`{"update_id":7,"message":{"message_id":1,"date":1,"text":"hi"}}`))
		}, 400, "update 123456789/7: the message has no chat.id"},
		{"callback without id", func() *connectors.Request {
			return telegramfake.Webhook(secret, webhook, []byte(`{"update_id":8,"callback_query":{"from":{"id":5,"is_bot":false,"first_name":"A"},"data":"x"}}`))
		}, 400, "callback_query has no id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := c.Receive(context.Background(), tc.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Receive = %v, %v; want a StatusError", in, err)
			}
			if se.Status != tc.status || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("got %d %q, want %d with %q", se.Status, se.Reason, tc.status, tc.reason)
			}
		})
	}
}

// TestConfig checks the configuration's refusals.
func TestConfig(t *testing.T) {
	cases := []struct {
		name  string
		extra connectors.Config
		want  string
	}{
		{"token without id", connectors.Config{"bot_token": "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}, `"bot_token": must be the token @BotFather gave`},
		{"token missing", connectors.Config{"bot_token": ""}, `"bot_token": required`},
		{"secret with a space", connectors.Config{"secret_token": "two words"}, `"secret_token": must be 1 to 256 characters`},
		{"secret too long", connectors.Config{"secret_token": strings.Repeat("a", 257)}, `"secret_token": must be 1 to 256`},
		{"secret missing", connectors.Config{"secret_token": ""}, `"secret_token": required`},
		{"api_url", connectors.Config{"api_url": "ftp://x"}, `"api_url": invalid URL`},
		{"set_webhook", connectors.Config{"set_webhook": "maybe"}, `"set_webhook": invalid boolean`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(config(t, "http://127.0.0.1:1", tc.extra), connectors.Resources{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := build(config(t, "http://127.0.0.1:1", connectors.Config{"secret_token": strings.Repeat("a", 256)}), connectors.Resources{}); err != nil {
		t.Errorf("a 256-character secret: %v", err)
	}
}

// TestSetWebhook: at start the instance registers its webhook URL, the
// secret and the update types; a port Telegram does not call is logged.
func TestSetWebhook(t *testing.T) {
	cases := []struct {
		public, url string
		warned      bool
	}{
		{"https://bot.example.com", "https://bot.example.com/v1/webhooks/telegram/support", false},
		{"https://bot.example.com:8443/sb", "https://bot.example.com:8443/sb/v1/webhooks/telegram/support", false},
		{"http://bot.example.com", "http://bot.example.com/v1/webhooks/telegram/support", false},
		{"https://bot.example.com:8080", "https://bot.example.com:8080/v1/webhooks/telegram/support", true},
	}
	for _, tc := range cases {
		t.Run(tc.public, func(t *testing.T) {
			f := telegramfake.New(t)
			var log syncBuffer
			newConnector(t, config(t, f.URL, connectors.Config{"set_webhook": "true"}), connectors.Resources{
				HTTPClient: f.Client(), PublicURL: tc.public, Instance: "support", Logger: slog.New(slog.NewTextHandler(&log, nil))})
			call := f.Wait("setWebhook", 1)[0]
			want := map[string]string{"url": tc.url, "secret_token": secret, "allowed_updates": `["message","edited_message","callback_query"]`}
			for k, v := range want {
				if call.Params[k] != v {
					t.Errorf("setWebhook %s = %q, want %q", k, call.Params[k], v)
				}
			}
			if got := strings.Contains(log.String(), "use 443, 80, 88 or 8443"); got != tc.warned {
				t.Errorf("warned about the port: %v, want %v; log:\n%s", got, tc.warned, log.String())
			}
		})
	}
}

// TestNoPublicURL: without a public URL there is no webhook URL to set,
// and the log says so.
func TestNoPublicURL(t *testing.T) {
	f := telegramfake.New(t)
	var log syncBuffer
	reg := connectors.NewRegistry()
	reg.MustRegister(telegram.Spec(), telegram.New)
	c, err := reg.New(telegram.Name, config(t, f.URL, connectors.Config{"set_webhook": "true"}),
		connectors.Resources{HTTPClient: f.Client(), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.(connectors.Closer).Close(context.Background())
	if n := len(f.Calls("setWebhook")); n != 0 || !strings.Contains(log.String(), "no public URL, so setWebhook is not called") {
		t.Errorf("%d setWebhook calls; log:\n%s", n, log.String())
	}
}

// syncBuffer is a log the connector's goroutines write while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSetWebhookRetries: a 429 at start is retried after retry_after; a
// refused token is not retried.
func TestSetWebhookRetries(t *testing.T) {
	f := telegramfake.New(t)
	f.Fail("setWebhook", telegramfake.ErrorJSON(429, "Too Many Requests: retry after 1", 1))
	newConnector(t, config(t, f.URL, connectors.Config{"set_webhook": "true"}), connectors.Resources{HTTPClient: f.Client()})
	f.Wait("setWebhook", 2)

	f2 := telegramfake.New(t)
	f2.Fail("setWebhook", telegramfake.ErrorJSON(401, "Unauthorized", 0))
	c := newConnector(t, config(t, f2.URL, connectors.Config{"set_webhook": "true"}), connectors.Resources{HTTPClient: f2.Client()})
	f2.Wait("setWebhook", 1)
	_ = c.(connectors.Closer).Close(context.Background())
	if n := len(f2.Calls("setWebhook")); n != 1 {
		t.Errorf("setWebhook called %d times after a 401, want 1", n)
	}
}

// TestCallbackAnswered: a button tap is answered, so the client's
// spinner stops.
func TestCallbackAnswered(t *testing.T) {
	f := telegramfake.New(t)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	if _, err := c.Receive(context.Background(), telegramfake.Webhook(secret, webhook, findPayload(t, "callback").Body)); err != nil {
		t.Fatal(err)
	}
	call := f.Wait("answerCallbackQuery", 1)[0]
	if call.Params["callback_query_id"] != "4382bfdwdsb323b2d9" {
		t.Errorf("answerCallbackQuery %v", call.Params)
	}
}
