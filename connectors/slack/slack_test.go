package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/slack"
	"github.com/switchboard-dev/switchboard/connectors/slack/slackfake"
)

const (
	publicURL = "https://switchboard.example.com"
	webhook   = publicURL + "/v1/webhooks/slack/default"
	secret    = "8f742231b10e8888abcd99yyyzzz85a5" // CHANNELS.md §14 T6's
	payloads  = "../../testdata/connectors/slack"
)

// now is the instance's clock in the tests: the requests are signed for it.
var now = time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)

// config is a working configuration against apiURL; extra fields
// override it ("" deletes).
func config(apiURL string, extra connectors.Config) connectors.Config {
	cfg := connectors.Config{"bot_token": slackfake.Token, "signing_secret": secret, "api_url": apiURL}
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
	reg.MustRegister(slack.Spec(), slack.New)
	if res.Now == nil {
		res.Now = func() time.Time { return now }
	}
	c, err := reg.New(slack.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// payload is one recorded request of testdata/connectors/slack: an Events
// API body, or an interaction's payload JSON (sent as Slack sends it, in
// a form), with extra headers.
type payload struct {
	connectortest.Payload
	body   []byte
	header http.Header
}

func (p payload) request(at time.Time) *connectors.Request {
	r := slackfake.Webhook(secret, webhook, at, p.body)
	for k, vs := range p.header {
		r.Header[k] = vs
	}
	return r
}

func loadPayloads(t testing.TB) []payload {
	t.Helper()
	var out []payload
	for _, rec := range connectortest.Payloads(t, payloads, "body", "payload", "headers") {
		p := payload{Payload: rec, body: rec.Trimmed("body"), header: http.Header{}}
		if _, ok := rec.Sections["payload"]; ok {
			data := rec.Trimmed("payload")
			if !json.Valid(data) {
				t.Fatalf("%s: the payload is not JSON", rec.Path)
			}
			p.body = slackfake.Interaction(string(data))
		}
		if _, ok := rec.Sections["headers"]; ok {
			for line := range strings.SplitSeq(string(rec.Trimmed("headers")), "\n") {
				k, v, _ := strings.Cut(line, ": ")
				p.header.Set(k, v)
			}
		}
		if len(p.body) == 0 || rec.Sections["want"] == nil {
			t.Fatalf("%s: needs a body (or payload) and a want", rec.Path)
		}
		out = append(out, p)
	}
	return out
}

func findPayload(t testing.TB, name string) payload {
	for _, p := range loadPayloads(t) {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no payload %s", name)
	return payload{}
}

// TestReceivePayloads parses every recorded request and compares with
// its want section; SLACK_UPDATE=1 rewrites the want sections.
func TestReceivePayloads(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1/api/", nil), connectors.Resources{})
	update := os.Getenv("SLACK_UPDATE") != ""
	for _, p := range loadPayloads(t) {
		t.Run(p.Name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), p.request(now))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			p.CheckInbounds(t, got, update)
			if update {
				return
			}
			for _, m := range got {
				if m.PlatformID == "" || m.Channel != slack.Channel || strings.Count(m.From, "/") != 1 {
					t.Errorf("message breaks the contract: %+v", m)
				}
			}
		})
	}
}

// TestRetryKeepsEventID: Slack's retry of an event is the same message
// for the dedupe (the same PlatformID) whatever its retry headers.
func TestRetryKeepsEventID(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1/api/", nil), connectors.Resources{})
	first, err := c.Receive(context.Background(), findPayload(t, "dm-text").request(now))
	if err != nil {
		t.Fatal(err)
	}
	retry, err := c.Receive(context.Background(), findPayload(t, "dm-retry").request(now.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || len(retry) != 1 || first[0].PlatformID != retry[0].PlatformID || retry[0].Attributes["retry_num"] != "1" {
		t.Fatalf("first %+v, retry %+v", first, retry)
	}
}

// TestSignatureVector checks Slack's published vector (CHANNELS.md §14
// T6), accepted at its own time and refused once stale.
func TestSignatureVector(t *testing.T) {
	const (
		body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
		ts   = "1531420618"
		sig  = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	)
	if got := slack.Sign(secret, ts, []byte(body)); got != sig {
		t.Fatalf("Sign = %s, want %s", got, sig)
	}
	at := time.Unix(1531420618, 0)
	h := http.Header{}
	h.Set(slack.HeaderSignature, sig)
	h.Set(slack.HeaderTimestamp, ts)
	for _, tc := range []struct {
		name   string
		now    time.Time
		header func(http.Header)
		body   string
		want   string // "" accepted, else a regexp-free part of the reason
	}{
		{"at its time", at, nil, body, ""},
		{"within the window", at.Add(slack.Tolerance - time.Second), nil, body, ""},
		{"from the near future", at.Add(-slack.Tolerance + time.Second), nil, body, ""},
		{"301 s old", at.Add(slack.Tolerance + time.Second), nil, body, "stale X-Slack-Request-Timestamp 1531420618"},
		{"301 s ahead", at.Add(-slack.Tolerance - time.Second), nil, body, "stale X-Slack-Request-Timestamp"},
		{"a flipped byte", at, nil, strings.Replace(body, "roadrunner", "roadrunnes", 1), "bad X-Slack-Signature"},
		{"the wrong secret's", at, func(h http.Header) { h.Set(slack.HeaderSignature, slack.Sign("another", ts, []byte(body))) }, body, "bad X-Slack-Signature"},
		{"no signature", at, func(h http.Header) { h.Del(slack.HeaderSignature) }, body, "missing X-Slack-Signature"},
		{"no timestamp", at, func(h http.Header) { h.Del(slack.HeaderTimestamp) }, body, "missing X-Slack-Request-Timestamp"},
		{"a bad timestamp", at, func(h http.Header) { h.Set(slack.HeaderTimestamp, "yesterday") }, body, "is not Unix seconds"},
		{"v1 scheme", at, func(h http.Header) { h.Set(slack.HeaderSignature, "v1="+sig[3:]) }, body, "must start with v0="},
		{"upper-case hex", at, func(h http.Header) { h.Set(slack.HeaderSignature, "v0="+strings.ToUpper(sig[3:])) }, body, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hh := h.Clone()
			if tc.header != nil {
				tc.header(hh)
			}
			err := slack.Verify(hh, []byte(tc.body), secret, tc.now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || !strings.Contains(se.Reason, tc.want) {
				t.Fatalf("err = %v, want 401 with %q", err, tc.want)
			}
		})
	}
}

// TestReceiveRefuses: what Receive refuses before any parsing, and a
// signed body it cannot read.
func TestReceiveRefuses(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1/api/", nil), connectors.Resources{})
	text := findPayload(t, "dm-text")
	for _, tc := range []struct {
		name   string
		req    func() *connectors.Request
		status int
		want   string
	}{
		{"stale", func() *connectors.Request { return text.request(now.Add(-6 * time.Minute)) }, 401, "stale X-Slack-Request-Timestamp"},
		{"GET", func() *connectors.Request { r := text.request(now); r.Method = http.MethodGet; return r }, 405, "method GET"},
		{"XML", func() *connectors.Request { r := text.request(now); r.Header.Set("Content-Type", "text/xml"); return r }, 415, "content type"},
		{"truncated JSON", func() *connectors.Request {
			return slackfake.Webhook(secret, webhook, now, text.body[:len(text.body)-2])
		}, 400, "not an Events API request"},
		{"event without event_id", func() *connectors.Request {
			return slackfake.Webhook(secret, webhook, now, bytes.Replace(text.body, []byte(`"event_id":"Ev0PV52K21"`), []byte(`"event_id":""`), 1))
		}, 400, "without an event_id"},
		{"form without payload", func() *connectors.Request {
			return slackfake.Webhook(secret, webhook, now, []byte("payload=")) // an empty payload
		}, 400, "no payload field"},
		{"payload not JSON", func() *connectors.Request {
			return slackfake.Webhook(secret, webhook, now, slackfake.Interaction("{not json"))
		}, 400, "the interaction's payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Receive(context.Background(), tc.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || !strings.Contains(se.Reason, tc.want) {
				t.Fatalf("err = %v, want %d with %q", err, tc.status, tc.want)
			}
		})
	}
}

// TestHandshake: the url_verification request is answered with its
// challenge as the body, once its signature is checked; other requests
// are not the handshake's.
func TestHandshake(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1/api/", nil), connectors.Resources{}).(connectors.Handshaker)
	verify := findPayload(t, "url-verification")
	status, ct, body, handled := c.Handshake(verify.request(now))
	if !handled || status != 200 || ct != "text/plain" || string(body) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("Handshake = %d %q %q %v", status, ct, body, handled)
	}
	stale := verify.request(now.Add(-10 * time.Minute))
	status, _, body, handled = c.Handshake(stale)
	if !handled || status != 401 || !strings.Contains(string(body), "stale") {
		t.Fatalf("a stale verification: %d %s %v", status, body, handled)
	}
	forged := verify.request(now)
	forged.Header.Set(slack.HeaderSignature, slack.Sign("not-the-secret", forged.Header.Get(slack.HeaderTimestamp), forged.Body))
	if status, _, _, handled = c.Handshake(forged); !handled || status != 401 {
		t.Fatalf("a forged verification: %d %v", status, handled)
	}
	if _, _, _, handled := c.Handshake(findPayload(t, "dm-text").request(now)); handled {
		t.Fatal("an event was taken for the handshake")
	}
}

// TestNewRefuses: configuration errors name their field.
func TestNewRefuses(t *testing.T) {
	reg := connectors.NewRegistry()
	reg.MustRegister(slack.Spec(), slack.New)
	for _, tc := range []struct {
		name  string
		extra connectors.Config
		want  string
	}{
		{"no bot_token", connectors.Config{"bot_token": ""}, "bot_token"},
		{"a user token", connectors.Config{"bot_token": "xoxp-1234-5678"}, `starting with "xoxb-"`},
		{"no signing_secret", connectors.Config{"signing_secret": ""}, "signing_secret"},
		{"api_url not a URL", connectors.Config{"api_url": "slack"}, "api_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := reg.New(slack.Name, config("http://127.0.0.1:1/api/", tc.extra), connectors.Resources{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
}
