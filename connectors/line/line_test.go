package line_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/line"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
)

const (
	publicURL = "https://switchboard.example.com"
	webhook   = publicURL + "/v1/webhooks/line/default"
	secret    = "testsecret" // CHANNELS.md §14 T8's
	payloads  = "../../testdata/connectors/line"
	customer  = "U4af4980629d2a0e2b8a1c3f5e7d9b1a3"
)

// config is a working configuration against apiURL; extra fields
// override it ("" deletes).
func config(apiURL string, extra connectors.Config) connectors.Config {
	cfg := connectors.Config{"channel_secret": secret, "channel_access_token": linefake.Token,
		"api_url": apiURL, "data_api_url": apiURL}
	for k, v := range extra {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	return cfg
}

// newConnector builds an instance with a registry of its own.
func newConnector(t testing.TB, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	reg := connectors.NewRegistry()
	reg.MustRegister(line.Spec(), line.New)
	if res.PublicURL == "" {
		res.PublicURL = publicURL
	}
	if _, ok := cfg["media_dir"]; !ok {
		cfg["media_dir"] = t.TempDir()
	}
	c, err := reg.New(line.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.(connectors.Closer).Close(context.Background()) })
	return c
}

func loadPayloads(t testing.TB) []connectortest.Recorded { return connectortest.Bodies(t, payloads) }

func findPayload(t testing.TB, name string) connectortest.Recorded {
	return connectortest.BodyNamed(t, payloads, name)
}

// TestReceivePayloads parses every recorded webhook and compares with its
// want section; LINE_UPDATE=1 rewrites the want sections.
func TestReceivePayloads(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	update := os.Getenv("LINE_UPDATE") != ""
	for _, p := range loadPayloads(t) {
		t.Run(p.Name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), linefake.Webhook(secret, webhook, p.Body))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			p.CheckInbounds(t, got, update)
			if update {
				return
			}
			for _, m := range got {
				if m.PlatformID == "" || m.From == "" || m.Channel != "line" {
					t.Errorf("message breaks the contract: %+v", m)
				}
			}
		})
	}
}

// TestSignatureVector checks CHANNELS.md §14 T8 and its negative cases:
// the vector's body with its published signature is accepted, and every
// alteration refused with 401.
func TestSignatureVector(t *testing.T) {
	const t8 = "RyJrYIyrfWaJeRQXtZFxokJycR+u5fkRYjbcKQ9Ua9U="
	body := findPayload(t, "text").Body
	if got := linefake.Signature(secret, body); got != t8 {
		t.Fatalf("the text payload signs as %s, not T8's %s: it is not T8's body", got, t8)
	}
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	flipped := bytes.Clone(body)
	flipped[bytes.Index(flipped, []byte("Hello"))] = 'J'
	for _, tc := range []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{"vector", body, t8, 0},
		{"flipped byte", flipped, t8, 401},
		{"wrong secret", body, linefake.Signature("othersecret", body), 401},
		{"missing header", body, "", 401},
		{"not base64", body, "!" + t8[1:], 401},
		{"hex of the same HMAC", body, hexOf(t8), 401},
		{"truncated", body, t8[:20], 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := linefake.Webhook(secret, webhook, tc.body)
			r.Header.Set(line.HeaderSignature, tc.sig)
			if tc.sig == "" {
				r.Header.Del(line.HeaderSignature)
			}
			_, err := c.Receive(context.Background(), r)
			if got := status(err); got != tc.want {
				t.Errorf("Receive: %v (status %d), want status %d", err, got, tc.want)
			}
		})
	}
}

func hexOf(b64 string) string {
	raw, _ := base64.StdEncoding.DecodeString(b64)
	return hex.EncodeToString(raw)
}

func status(err error) int {
	if err == nil {
		return 0
	}
	var se *connectors.StatusError
	if !errors.As(err, &se) {
		return -1
	}
	return se.Status
}

// TestReceiveRefusals: each malformed request is refused with its status
// and a reason that says what is wrong.
func TestReceiveRefusals(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	for _, tc := range []struct {
		name   string
		req    func() *connectors.Request
		status int
		reason string
	}{
		{"GET", func() *connectors.Request {
			r := linefake.Webhook(secret, webhook, []byte(`{"events":[]}`))
			r.Method = http.MethodGet
			return r
		}, 405, "method GET"},
		{"form content type", func() *connectors.Request {
			r := linefake.Webhook(secret, webhook, []byte(`{"events":[]}`))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 415, "content type must be application/json"},
		{"not JSON", func() *connectors.Request { return linefake.Webhook(secret, webhook, []byte(`{"events":[`)) }, 400, "not LINE's webhook JSON"},
		{"no events", func() *connectors.Request { return linefake.Webhook(secret, webhook, []byte(`{"destination":"U1"}`)) }, 400, "no events array"},
		{"no source", func() *connectors.Request {
			return linefake.Webhook(secret, webhook, []byte(`{"events":[{"type":"message","webhookEventId":"01A","source":{"type":"user"},"message":{"id":"1","type":"text","text":"x"}}]}`))
		}, 400, "event 0 (message): source has no userId"},
		{"message without id", func() *connectors.Request {
			return linefake.Webhook(secret, webhook, []byte(`{"events":[{"type":"follow","source":{"type":"user","userId":"U1"}},{"type":"message","webhookEventId":"01A","source":{"type":"user","userId":"U1"},"message":{"type":"text","text":"x"}}]}`))
		}, 400, "event 1 (message): message has no id"},
		{"postback without data", func() *connectors.Request {
			return linefake.Webhook(secret, webhook, []byte(`{"events":[{"type":"postback","webhookEventId":"01A","source":{"type":"user","userId":"U1"},"postback":{}}]}`))
		}, 400, "postback has no data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Receive(context.Background(), tc.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("Receive: %v, want %d with %q", err, tc.status, tc.reason)
			}
		})
	}
}

// TestConfig: a configuration without a secret, or with a bad URL, is
// refused naming the field.
func TestConfig(t *testing.T) {
	reg := connectors.NewRegistry()
	reg.MustRegister(line.Spec(), line.New)
	for _, tc := range []struct {
		cfg   connectors.Config
		field string
	}{
		{config("http://127.0.0.1:1", connectors.Config{"channel_secret": ""}), "channel_secret"},
		{config("http://127.0.0.1:1", connectors.Config{"channel_access_token": ""}), "channel_access_token"},
		{config("http://127.0.0.1:1", connectors.Config{"api_url": "ftp://x"}), "api_url"},
		{config("http://127.0.0.1:1", connectors.Config{"data_api_url": "not a url"}), "data_api_url"},
		{config("http://127.0.0.1:1", connectors.Config{"media_dir": "/dev/null/media"}), "media_dir"},
	} {
		_, err := reg.New(line.Name, tc.cfg, connectors.Resources{})
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("config %v: err = %v, want one naming %s", tc.cfg.Redacted(line.Spec()), err, tc.field)
		}
	}
}
