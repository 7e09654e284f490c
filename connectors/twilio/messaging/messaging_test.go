package messaging_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/twilio/messaging"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twiliofake"
)

const (
	publicURL = "https://switchboard.example.com"
	webhook   = publicURL + "/v1/webhooks/twilio/default"
	token     = twiliofake.AuthToken
	payloads  = "../../../testdata/connectors/twilio"
)

// config is a working configuration; extra fields override it ("" deletes).
func config(api string, extra connectors.Config) connectors.Config {
	cfg := connectors.Config{"account_sid": twiliofake.AccountSID, "auth_token": token, "from": "+14155550199",
		"whatsapp_from": "whatsapp:+14155238886", "api_base_url": api}
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
	reg.MustRegister(messaging.Spec(), messaging.New)
	if res.PublicURL == "" {
		res.PublicURL = publicURL
	}
	c, err := reg.New(messaging.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// post is a webhook request of body to the instance's webhook URL (with
// query), signed with tok over the parameters as Twilio decodes them.
func post(query, body, tok string) *connectors.Request {
	full := webhook
	if query != "" {
		full += "?" + query
	}
	form, _ := url.ParseQuery(body)
	q, _ := url.ParseQuery(query)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set(twilioapi.HeaderSignature, twilioapi.Signature(tok, full, form))
	return &connectors.Request{Method: http.MethodPost, URL: full, Path: connectors.WebhookPath(messaging.Name, "default"),
		Header: h, Query: q, Body: []byte(body), RemoteAddr: "54.172.60.1:443"}
}

// payload is one recorded webhook of testdata/connectors/twilio.
type payload struct {
	connectortest.Payload
	query, body string
}

func loadPayloads(t testing.TB) []payload {
	t.Helper()
	var out []payload
	for _, p := range connectortest.Payloads(t, payloads, "query", "body") {
		body := string(p.Trimmed("body"))
		if body == "" || p.Sections["want"] == nil {
			t.Fatalf("%s: needs a body and a want", p.Path)
		}
		out = append(out, payload{Payload: p, query: string(p.Trimmed("query")), body: body})
	}
	return out
}

// TestReceivePayloads parses every recorded webhook and compares with its
// want section; TWILIO_UPDATE=1 rewrites the want sections.
func TestReceivePayloads(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	update := os.Getenv("TWILIO_UPDATE") != ""
	for _, p := range loadPayloads(t) {
		t.Run(p.Name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), post(p.query, p.body, token))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			p.CheckInbounds(t, got, update)
			if update {
				return
			}
			for _, m := range got {
				if m.PlatformID == "" || m.From == "" || (m.Channel != "sms" && m.Channel != "whatsapp") {
					t.Errorf("message breaks the contract: %+v", m)
				}
			}
		})
	}
}

// TestReceiveParams checks single parameters against the Inbound fields
// and attributes they give, beside the recorded payloads.
func TestReceiveParams(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	base := "MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=" + twiliofake.AccountSID + "&To=%2B14155550199"
	for _, tc := range []struct {
		name, params string
		check        func(connectors.Inbound) bool
	}{
		{"BSUID sender keeps its raw id and has no phone", "&From=whatsapp%3AUS.13491208655302741918&Body=hi",
			func(m connectors.Inbound) bool {
				return m.Channel == "whatsapp" && m.From == "US.13491208655302741918" && m.Phone == ""
			}},
		{"short code sender", "&From=12345&Body=hi", func(m connectors.Inbound) bool { return m.Channel == "sms" && m.From == "12345" && m.Phone == "" }},
		{"unknown parameters are accepted", "&From=%2B14155550100&Body=hi&SomeNewParam=1&AnotherOne=x",
			func(m connectors.Inbound) bool { return m.Text == "hi" && m.Attributes["some_new_param"] == nil }},
		{"SmsSid when MessageSid is absent", "&From=%2B14155550100&Body=hi", func(m connectors.Inbound) bool { return m.PlatformID != "" }},
		{"a message with MessageStatus and a Body is a message", "&From=%2B14155550100&Body=hi&MessageStatus=received",
			func(m connectors.Inbound) bool { return m.Status == nil && m.Text == "hi" }},
		{"status with an unknown code keeps Twilio's page", "&From=%2B14155550199&MessageStatus=undelivered&ErrorCode=30999",
			func(m connectors.Inbound) bool {
				return m.Status != nil && m.Status.Error == "30999: see https://www.twilio.com/docs/errors/30999" && m.Status.Failed()
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := base + tc.params
			if strings.HasPrefix(tc.name, "SmsSid") {
				body = strings.Replace(body, "MessageSid=", "SmsSid=", 1)
			}
			in, err := c.Receive(context.Background(), post("", body, token))
			if err != nil {
				t.Fatal(err)
			}
			if len(in) != 1 || !tc.check(in[0]) {
				t.Errorf("Receive = %+v", in)
			}
		})
	}
}

func TestReceiveRefusals(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	sms := "MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155550100&To=%2B14155550199&Body=hi"
	for _, tc := range []struct {
		name   string
		req    func() *connectors.Request
		status int
		reason string
	}{
		{"unsigned", func() *connectors.Request {
			r := post("", sms, token)
			r.Header.Del(twilioapi.HeaderSignature)
			return r
		}, 401, "missing X-Twilio-Signature header"},
		{"another account's token", func() *connectors.Request { return post("", sms, "0000") }, 401, "bad X-Twilio-Signature"},
		{"tampered body", func() *connectors.Request {
			r := post("", sms, token)
			r.Body = bytes.Replace(r.Body, []byte("hi"), []byte("ho"), 1)
			return r
		}, 401, "bad X-Twilio-Signature"},
		{"signed for http, received as https", func() *connectors.Request {
			r := post("", sms, token)
			form, _ := url.ParseQuery(sms)
			r.Header.Set(twilioapi.HeaderSignature, twilioapi.Signature(token, strings.Replace(webhook, "https:", "http:", 1), form))
			return r
		}, 401, "bad X-Twilio-Signature"},
		{"signed for another host", func() *connectors.Request {
			r := post("", sms, token)
			form, _ := url.ParseQuery(sms)
			r.Header.Set(twilioapi.HeaderSignature, twilioapi.Signature(token, "https://evil.example.com/v1/webhooks/twilio/default", form))
			return r
		}, 401, "bad X-Twilio-Signature"},
		{"JSON", func() *connectors.Request {
			r := post("", sms, token)
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 415, "content type must be application/x-www-form-urlencoded"},
		{"no MessageSid", func() *connectors.Request { return post("", "From=%2B14155550100&Body=hi", token) }, 400, "missing parameter MessageSid"},
		{"no From", func() *connectors.Request { return post("", "MessageSid=SM1&Body=hi", token) }, 400, "missing parameter From"},
		{"NumMedia not a number", func() *connectors.Request { return post("", sms+"&NumMedia=two", token) }, 400, `parameter NumMedia must be a number from 0 to 10, not "two"`},
		{"NumMedia beyond its URLs", func() *connectors.Request {
			return post("", sms+"&NumMedia=2&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm0", token)
		}, 400, "parameter MediaUrl1 must be an absolute http or https URL (NumMedia is 2)"},
		{"status callback without To", func() *connectors.Request {
			return post("", "MessageSid=SM1&MessageStatus=delivered&From=%2B14155550199", token)
		}, 400, "missing parameter To in a status callback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Receive(context.Background(), tc.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("err = %v, want %d %q", err, tc.status, tc.reason)
			}
		})
	}
}

// TestReceiveWebhookURL: the signed URL is webhook_url (behind a proxy
// that rewrites the host), else the public URL's, else the request's.
func TestReceiveWebhookURL(t *testing.T) {
	body := "MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155550100&To=%2B14155550199&Body=hi"
	form, _ := url.ParseQuery(body)
	const console = "https://support.example.org/twilio/sms"
	signed := func(full string) *connectors.Request {
		r := post("", body, token)
		r.URL = "http://10.1.2.3:8080/v1/webhooks/twilio/default" // what the listener saw
		r.Header.Set(twilioapi.HeaderSignature, twilioapi.Signature(token, full, form))
		return r
	}
	for _, tc := range []struct {
		name      string
		cfg       connectors.Config
		publicURL string
		req       *connectors.Request
		ok        bool
	}{
		{"webhook_url", connectors.Config{"webhook_url": console}, "", signed(console), true},
		{"webhook_url with the default port", connectors.Config{"webhook_url": console}, "", signed("https://support.example.org:443/twilio/sms"), true},
		{"webhook_url, signed for the public URL", connectors.Config{"webhook_url": console}, "", signed(webhook), false},
		{"public URL", nil, "https://switchboard.example.com/", signed(webhook), true},
		{"public URL with a path prefix", nil, "https://example.com/sb", signed("https://example.com/sb/v1/webhooks/twilio/default"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConnector(t, config("http://127.0.0.1:1", tc.cfg), connectors.Resources{PublicURL: tc.publicURL})
			_, err := c.Receive(context.Background(), tc.req)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestReceiveGET(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	params := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "From": {"+14155550100"}, "To": {"+14155550199"}, "Body": {"by GET"}}
	in, err := c.Receive(context.Background(), twiliofake.WebhookGET(token, webhook, params))
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].Text != "by GET" || in[0].From != "+14155550100" {
		t.Errorf("Receive = %+v", in)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       connectors.Config
		publicURL string
		problem   string // "" for a valid configuration
		reports   bool
	}{
		{"valid", nil, publicURL, "", true},
		{"no public URL: no status callbacks", nil, "-", "", false},
		{"status callbacks off", connectors.Config{"status_callbacks": "false"}, publicURL, "", false},
		{"status callbacks without a URL", connectors.Config{"status_callbacks": "true"}, "-", "needs webhook_url, or the server's public URL", false},
		{"webhook_url gives the callbacks' URL", connectors.Config{"webhook_url": "https://x.example.com/hook"}, "-", "", true},
		{"webhook_url with a query", connectors.Config{"webhook_url": "https://x.example.com/hook?a=1"}, publicURL, "without query", false},
		{"account sid", connectors.Config{"account_sid": "SK123"}, publicURL, "must be an account SID, starting with AC", false},
		{"no auth token", connectors.Config{"auth_token": ""}, publicURL, "auth_token", false},
		{"messaging service sid", connectors.Config{"messaging_service_sid": "PN123"}, publicURL, "starting with MG", false},
		{"api key without secret", connectors.Config{"api_key_sid": "SK123"}, publicURL, "set both or neither", false},
		{"api key sid", connectors.Config{"api_key_sid": "AC123", "api_key_secret": "s"}, publicURL, "starting with SK", false},
		{"whatsapp in from", connectors.Config{"from": "whatsapp:+14155238886"}, publicURL, "whatsapp_from", false},
		{"whatsapp_from without prefix", connectors.Config{"whatsapp_from": "+14155238886"}, publicURL, `must be "whatsapp:"`, false},
		{"whatsapp_from not E.164", connectors.Config{"whatsapp_from": "whatsapp:4155238886"}, publicURL, "E.164", false},
		{"no sender", connectors.Config{"from": "", "whatsapp_from": ""}, publicURL, "set from, messaging_service_sid or whatsapp_from", false},
		{"send_retries", connectors.Config{"send_retries": "11"}, publicURL, "from 0 to 10", false},
		{"unknown field", connectors.Config{"form": "+1"}, publicURL, `did you mean "from"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := connectors.NewRegistry()
			reg.MustRegister(messaging.Spec(), messaging.New)
			res := connectors.Resources{PublicURL: tc.publicURL}
			if tc.publicURL == "-" {
				res.PublicURL = ""
			}
			c, err := reg.New(messaging.Name, config("http://127.0.0.1:1", tc.cfg), res)
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("err = %v, want %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.(connectors.DeliveryReporter).ReportsDelivery(); got != tc.reports {
				t.Errorf("ReportsDelivery = %v, want %v", got, tc.reports)
			}
		})
	}
}
