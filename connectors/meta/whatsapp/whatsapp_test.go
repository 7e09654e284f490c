package whatsapp_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/connectors/meta/whatsapp"
)

const (
	publicURL   = "https://switchboard.example.com"
	webhook     = publicURL + "/v1/webhooks/whatsapp_cloud/default"
	appSecret   = "test_app_secret" // CHANNELS.md §14 T7's
	verifyToken = "c2f1d0e9-verify"
	phoneID     = "106540352242922"
	payloads    = "../../../testdata/connectors/whatsapp_cloud"
)

// config is a working configuration against graphURL; extra fields
// override it ("" deletes).
func config(t testing.TB, graphURL string, extra connectors.Config) connectors.Config {
	cfg := connectors.Config{"phone_number_id": phoneID, "access_token": graphfake.Token, "app_secret": appSecret,
		"verify_token": verifyToken, "graph_url": graphURL, "media_dir": t.TempDir()}
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
	reg := connectors.NewRegistry()
	reg.MustRegister(whatsapp.Spec(), whatsapp.New)
	if res.PublicURL == "" {
		res.PublicURL = publicURL
	}
	c, err := reg.New(whatsapp.Name, cfg, res)
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

// TestReceivePayloads parses every recorded notification and compares
// with its want section; WHATSAPP_UPDATE=1 rewrites the want sections.
func TestReceivePayloads(t *testing.T) {
	f := graphfake.New(t)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	update := os.Getenv("WHATSAPP_UPDATE") != ""
	for _, p := range loadPayloads(t) {
		t.Run(p.Name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), graphfake.Webhook(appSecret, webhook, p.Body))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			p.CheckInbounds(t, got, update)
			if update {
				return
			}
			for _, m := range got {
				if m.PlatformID == "" || m.From == "" || m.Channel != "whatsapp" {
					t.Errorf("message breaks the contract: %+v", m)
				}
			}
		})
	}
}

// TestRedeliverySameIDs: Meta sends a notification again until it gets a
// 200, and the runtime dedupes on PlatformID: the second delivery must
// give the same ids (a status's id and status together).
func TestRedeliverySameIDs(t *testing.T) {
	c := newConnector(t, config(t, "http://127.0.0.1:1", nil), connectors.Resources{})
	for _, name := range []string{"text", "batch", "status-failed-131047"} {
		p := findPayload(t, name)
		first, err := c.Receive(context.Background(), graphfake.Webhook(appSecret, webhook, p.Body))
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Receive(context.Background(), graphfake.Webhook(appSecret, webhook, p.Body))
		if err != nil {
			t.Fatal(err)
		}
		if len(first) == 0 || len(first) != len(again) {
			t.Fatalf("%s: %d then %d messages", name, len(first), len(again))
		}
		for i := range first {
			if first[i].PlatformID != again[i].PlatformID {
				t.Errorf("%s: PlatformID %q then %q", name, first[i].PlatformID, again[i].PlatformID)
			}
		}
	}
}

func TestReceiveRefuses(t *testing.T) {
	c := newConnector(t, config(t, "http://127.0.0.1:1", nil), connectors.Resources{})
	text := findPayload(t, "text").Body
	tests := []struct {
		name   string
		req    func() *connectors.Request
		status int
		reason string
	}{
		{"unsigned", func() *connectors.Request {
			r := graphfake.Webhook(appSecret, webhook, text)
			r.Header.Del(graph.HeaderSignature)
			return r
		}, 401, "missing X-Hub-Signature-256"},
		{"signed with another secret", func() *connectors.Request { return graphfake.Webhook("other", webhook, text) }, 401, "bad X-Hub-Signature-256"},
		{"sha1 header", func() *connectors.Request {
			r := graphfake.Webhook(appSecret, webhook, text)
			r.Header.Set(graph.HeaderSignature, "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
			return r
		}, 401, "malformed"},
		{"not JSON", func() *connectors.Request { return graphfake.Webhook(appSecret, webhook, []byte("object=whatsapp")) }, 400, "malformed notification"},
		{"another object", func() *connectors.Request {
			return graphfake.Webhook(appSecret, webhook, []byte(`{"object":"page","entry":[]}`))
		}, 400, `object "page"`},
		{"form content type", func() *connectors.Request {
			r := graphfake.Webhook(appSecret, webhook, text)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 415, "content type"},
		{"PUT", func() *connectors.Request {
			r := graphfake.Webhook(appSecret, webhook, text)
			r.Method = http.MethodPut
			return r
		}, 405, "method PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Receive(context.Background(), tt.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != tt.status || !strings.Contains(se.Reason, tt.reason) {
				t.Fatalf("Receive = %v, want %d %q", err, tt.status, tt.reason)
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	c := newConnector(t, config(t, "http://127.0.0.1:1", nil), connectors.Resources{}).(connectors.Handshaker)
	status, _, body, handled := c.Handshake(graphfake.Verification(webhook, verifyToken, "1158201444"))
	if !handled || status != 200 || string(body) != "1158201444" {
		t.Fatalf("right token: %d %q %v", status, body, handled)
	}
	if status, _, _, handled := c.Handshake(graphfake.Verification(webhook, "wrong", "1")); !handled || status != 403 {
		t.Fatalf("wrong token: %d %v", status, handled)
	}
	if _, _, _, handled := c.Handshake(graphfake.Webhook(appSecret, webhook, []byte("{}"))); handled {
		t.Fatal("a notification POST taken for the handshake")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name  string
		extra connectors.Config
		field string
	}{
		{"no phone number id", connectors.Config{"phone_number_id": ""}, "phone_number_id"},
		{"the number instead of its id", connectors.Config{"phone_number_id": "+1 555 078 3881"}, "phone_number_id"},
		{"no access token", connectors.Config{"access_token": ""}, "access_token"},
		{"no app secret", connectors.Config{"app_secret": ""}, "app_secret"},
		{"no verify token", connectors.Config{"verify_token": ""}, "verify_token"},
		{"bad version", connectors.Config{"graph_version": "23"}, "graph_version"},
		{"bad graph url", connectors.Config{"graph_url": "graph.facebook.com"}, "graph_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := connectors.NewRegistry()
			reg.MustRegister(whatsapp.Spec(), whatsapp.New)
			_, err := reg.New(whatsapp.Name, config(t, "http://127.0.0.1:1", tt.extra), connectors.Resources{})
			if err == nil || !strings.Contains(err.Error(), `"`+tt.field+`"`) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

func TestSpec(t *testing.T) {
	s := whatsapp.Spec()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"access_token", "app_secret", "verify_token"} {
		if f, _ := s.Field(name); f == nil || !f.Secret || !f.Required {
			t.Errorf("field %s: want a required secret", name)
		}
	}
	if _, ok := connectors.Default().Lookup(whatsapp.Name); !ok {
		t.Error("not registered in connectors.Default")
	}
}
