package email_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/email"
)

const (
	secret   = "email-webhook-secret"
	payloads = "../../testdata/connectors/email"
	webhook  = "https://switchboard.test/v1/webhooks/email/default"
)

func newConnector(t testing.TB, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	reg := connectors.NewRegistry()
	reg.MustRegister(email.Spec(), email.New)
	full := connectors.Config{"from_address": "Example Support <support@example.com>", "webhook_secret": secret,
		"media_dir": t.TempDir()}
	for k, v := range cfg {
		full[k] = v
	}
	c, err := reg.New(email.Name, full, res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// post is a raw MIME webhook request carrying the shared secret.
func post(raw []byte) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "message/rfc822")
	h.Set(email.HeaderSecret, secret)
	return &connectors.Request{Method: http.MethodPost, URL: webhook, Path: "/v1/webhooks/email/default", Header: h, Body: raw}
}

var sigRE = regexp.MustCompile(`sig=[0-9a-f]{32}`)

// payload is one recorded message of testdata/connectors/email.
type payload struct {
	connectortest.Payload
	raw []byte
}

func loadPayloads(t testing.TB) []payload {
	t.Helper()
	var out []payload
	for _, p := range connectortest.Payloads(t, payloads, "message.eml") {
		// Mail travels with CRLF line ends; txtar keeps LF.
		raw := bytes.ReplaceAll(p.Sections["message.eml"], []byte("\n"), []byte("\r\n"))
		if len(raw) == 0 || p.Sections["want"] == nil {
			t.Fatalf("%s: needs a message.eml and a want", p.Path)
		}
		out = append(out, payload{Payload: p, raw: raw})
	}
	return out
}

func findPayload(t testing.TB, name string) payload {
	t.Helper()
	for _, p := range loadPayloads(t) {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no payload %s", name)
	return payload{}
}

// TestReceivePayloads parses every recorded message and compares with its
// want section; EMAIL_UPDATE=1 rewrites the want sections.
func TestReceivePayloads(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{PublicURL: "https://switchboard.test"})
	update := os.Getenv("EMAIL_UPDATE") != ""
	// The link key is made per media_dir: signatures differ per run.
	unsign := connectortest.Normalize(func(gj []byte) []byte { return sigRE.ReplaceAll(gj, []byte("sig=SIG")) })
	for _, p := range loadPayloads(t) {
		t.Run(p.Name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), post(p.raw))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			p.CheckInbounds(t, got, update, unsign)
			if update {
				return
			}
			for _, m := range got {
				if m.PlatformID == "" || m.From == "" || m.Channel != "email" {
					t.Errorf("message breaks the contract: %+v", m)
				}
			}
		})
	}
}

// TestNewText checks what is kept of a message's body, case by case.
func TestNewText(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"plain", "Hello\nthere", "Hello\nthere"},
		{"signature", "Thanks!\n-- \nAna\n+351 912", "Thanks!"},
		{"signature without its space", "Thanks!\n--\nAna", "Thanks!"},
		{"quoted lines", "> old\nnew text\n> more old", "new text"},
		{"attribution", "Yes.\n\nOn Mon, 7 Dec 2026 at 14:05, Bo <bo@x.org> wrote:\n> hi", "Yes."},
		{"wrapped attribution", "Yes.\nOn Mon, 7 Dec 2026 at 14:05, Bo <bo@x.org>\nwrote:\n> hi", "Yes."},
		{"french", "Oui.\nLe lun. 7 déc. 2026 à 14:05, Bo <bo@x.org> a écrit :\n> salut", "Oui."},
		{"german", "Ja.\nAm Mo., 7. Dez. 2026 um 14:05 Uhr schrieb Bo <bo@x.org>:\n> hallo", "Ja."},
		{"outlook", "Fine.\n\nFrom: Support <s@x.org>\nSent: Monday\nSubject: x\n\nold", "Fine."},
		{"outlook original message", "Fine.\n-----Original Message-----\nold", "Fine."},
		{"a From: line in the text is not a quote", "From: my old address\nto the new one", "From: my old address\nto the new one"},
		{"only quotation is kept whole", "> forwarded\n> text", "> forwarded\n> text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: a@b.example\r\nMessage-ID: <1@b.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
				strings.ReplaceAll(tc.body, "\n", "\r\n")
			in, err := newConnector(t, nil, connectors.Resources{}).Receive(context.Background(), post([]byte(raw)))
			if err != nil || len(in) != 1 {
				t.Fatalf("Receive: %v, %d messages", err, len(in))
			}
			if in[0].Text != tc.want {
				t.Errorf("Text = %q, want %q", in[0].Text, tc.want)
			}
			if in[0].Attributes["body"] != tc.body {
				t.Errorf("body = %q, want the whole %q", in[0].Attributes["body"], tc.body)
			}
		})
	}
}

// TestForwardingServices: SendGrid's raw Inbound Parse (multipart field
// `email`), a Mailgun route to a URL ending in mime (`body-mime`, either
// encoding) and Basic auth in the URL give the same message as a
// message/rfc822 POST.
func TestForwardingServices(t *testing.T) {
	p := findPayload(t, "plain")
	c := newConnector(t, nil, connectors.Resources{})
	want, err := c.Receive(context.Background(), post(p.raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  func() *connectors.Request
	}{
		{"sendgrid raw", func() *connectors.Request {
			return multipartPost(t, map[string]string{"to": "support@example.com", "dkim": "{@gmail.com : pass}", "email": string(p.raw), "SPF": "pass"})
		}},
		{"mailgun mime multipart", func() *connectors.Request {
			return multipartPost(t, map[string]string{"recipient": "support@example.com", "body-mime": string(p.raw)})
		}},
		{"mailgun mime urlencoded", func() *connectors.Request {
			r := post([]byte("recipient=support%40example.com&body-mime=" + urlEscape(string(p.raw))))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{"basic auth", func() *connectors.Request {
			r := post(p.raw)
			r.Header.Del(email.HeaderSecret)
			hr, _ := http.NewRequest(http.MethodPost, webhook, nil)
			hr.SetBasicAuth("switchboard", secret)
			r.Header.Set("Authorization", hr.Header.Get("Authorization"))
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), tc.req())
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if !bytes.Equal(gj, wj) {
				t.Errorf("got\n%s\nwant\n%s", gj, wj)
			}
		})
	}
}

// TestReceiveRefuses: each refusal with its status and reason.
func TestReceiveRefuses(t *testing.T) {
	raw := findPayload(t, "plain").raw
	for _, tc := range []struct {
		name   string
		cfg    connectors.Config
		req    func() *connectors.Request
		status int
		reason string
	}{
		{"no secret configured", connectors.Config{"webhook_secret": ""}, func() *connectors.Request { return post(raw) }, 401, "no webhook_secret"},
		{"missing secret", nil, func() *connectors.Request { r := post(raw); r.Header.Del(email.HeaderSecret); return r }, 401, "missing"},
		{"wrong secret", nil, func() *connectors.Request { r := post(raw); r.Header.Set(email.HeaderSecret, secret+"x"); return r }, 401, "wrong webhook secret"},
		{"wrong basic auth", nil, func() *connectors.Request {
			r := post(raw)
			r.Header.Del(email.HeaderSecret)
			r.Header.Set("Authorization", "Basic c3dpdGNoYm9hcmQ6bm9wZQ==")
			return r
		}, 401, "wrong webhook secret"},
		{"GET", nil, func() *connectors.Request { r := post(raw); r.Method = http.MethodGet; return r }, 405, "method GET"},
		{"JSON", nil, func() *connectors.Request { r := post(raw); r.Header.Set("Content-Type", "application/json"); return r }, 415, "content type"},
		{"no From", nil, func() *connectors.Request {
			return post([]byte("To: support@example.com\r\nSubject: hi\r\n\r\nhello"))
		}, 400, "without a From"},
		{"bad From", nil, func() *connectors.Request {
			return post([]byte("From: <<<\r\nSubject: hi\r\n\r\nhello"))
		}, 400, "From header"},
		{"form without the message", nil, func() *connectors.Request {
			return multipartPost(t, map[string]string{"text": "hello", "from": "a@b.example"})
		}, 400, "email (SendGrid raw)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := newConnector(t, tc.cfg, connectors.Resources{}).Receive(context.Background(), tc.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Receive = %v, %v; want a StatusError", in, err)
			}
			if se.Status != tc.status || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("got %d %q, want %d and %q", se.Status, se.Reason, tc.status, tc.reason)
			}
		})
	}
}

// TestConfig: configurations New refuses, with the field named.
func TestConfig(t *testing.T) {
	reg := connectors.NewRegistry()
	reg.MustRegister(email.Spec(), email.New)
	for _, tc := range []struct {
		name  string
		cfg   connectors.Config
		field string
	}{
		{"no from", connectors.Config{}, "from_address"},
		{"bad from", connectors.Config{"from_address": "support"}, "from_address"},
		{"imap scheme", connectors.Config{"from_address": "s@x.org", "imap_url": "http://imap.x.org"}, "imap_url"},
		{"imap password in URL", connectors.Config{"from_address": "s@x.org", "imap_url": "imaps://u:p@imap.x.org"}, "imap_url"},
		{"smtp no host", connectors.Config{"from_address": "s@x.org", "smtp_url": "smtps:///"}, "smtp_url"},
		{"poll interval", connectors.Config{"from_address": "s@x.org", "poll_interval": "-1s"}, "poll_interval"},
		{"media dir a file", connectors.Config{"from_address": "s@x.org", "media_dir": "email_test.go"}, "media_dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := reg.New(email.Name, tc.cfg, connectors.Resources{})
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("New = %v, want an error naming %q", err, tc.field)
			}
		})
	}
	c, err := reg.New(email.Name, connectors.Config{"from_address": "s@x.org", "imap_url": "imaps://s%40x.org@imap.x.org/Support"}, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(connectors.Puller); !ok {
		t.Error("with imap_url the connector is no Puller")
	}
	c, _ = reg.New(email.Name, connectors.Config{"from_address": "s@x.org"}, connectors.Resources{})
	if _, ok := c.(connectors.Puller); ok {
		t.Error("without imap_url the connector is a Puller")
	}
	if _, ok := c.(connectors.ChoiceRenderer); ok {
		t.Error("email renders choices as a numbered menu in the text, not natively")
	}
}

// multipartPost is a multipart/form-data POST of fields, as SendGrid and
// Mailgun send them, carrying the shared secret.
func multipartPost(t testing.TB, fields map[string]string) *connectors.Request {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if err := w.WriteField(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	r := post(b.Bytes())
	r.Header.Set("Content-Type", w.FormDataContentType())
	return r
}

func urlEscape(s string) string { return url.QueryEscape(s) }
