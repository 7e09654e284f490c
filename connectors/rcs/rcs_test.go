package rcs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/rcs"
	"github.com/switchboard-dev/switchboard/connectors/rcs/rbmfake"
)

const (
	agent       = "switchboard-support"
	clientToken = "SJENCPGJESMGUFPY" // CHANNELS.md §14 T11's
	webhook     = "https://switchboard.test/v1/webhooks/rcs/default"
	payloads    = "../../testdata/connectors/rcs"
)

// config is an instance's configuration against fake, with extra fields
// added (an empty value removes a field).
func config(t testing.TB, fake *rbmfake.Fake, extra map[string]string) connectors.Config {
	t.Helper()
	cfg := connectors.Config{
		"agent_id": agent, "client_token": clientToken,
		"service_account_json": fake.ServiceAccountJSON(), "api_url": fake.URL,
	}
	for k, v := range extra {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	return cfg
}

func newConnector(t testing.TB, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	reg := connectors.NewRegistry()
	reg.MustRegister(rcs.Spec(), rcs.New)
	c, err := reg.New(rcs.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// payload is one recorded event of testdata/connectors/rcs: the JSON RBM
// puts in message.data, and either the Inbounds expected of it or the
// error (status and a fragment of the reason); token, when set, is the
// client token it was signed with.
type payload struct {
	connectortest.Payload
	event, want    []byte
	token, wantErr string
	wantErrStatus  int
}

func loadPayloads(t testing.TB) []payload {
	t.Helper()
	var out []payload
	for _, rec := range connectortest.Payloads(t, payloads, "event", "token", "error") {
		p := payload{Payload: rec, event: rec.Trimmed("event"), want: rec.Sections["want"], token: clientToken}
		if _, ok := rec.Sections["token"]; ok {
			p.token = string(rec.Trimmed("token"))
		}
		if _, ok := rec.Sections["error"]; ok {
			code, reason, _ := strings.Cut(string(rec.Trimmed("error")), " ")
			p.wantErrStatus, _ = strconv.Atoi(code)
			p.wantErr = reason
		}
		if len(p.event) == 0 || (p.want == nil) == (p.wantErr == "") {
			t.Fatalf("%s: needs an event and either a want or an error", rec.Path)
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

// TestReceivePayloads runs every recorded event through Receive, in the
// envelope RBM posts, signed with its token.
func TestReceivePayloads(t *testing.T) {
	fake := rbmfake.New(t, agent)
	c := newConnector(t, config(t, fake, nil), connectors.Resources{})
	for _, p := range loadPayloads(t) {
		t.Run(p.Name, func(t *testing.T) {
			in, err := c.Receive(context.Background(), rbmfake.Webhook(p.token, webhook, p.event))
			if p.wantErr != "" {
				var se *connectors.StatusError
				if !errors.As(err, &se) || se.Status != p.wantErrStatus || !strings.Contains(se.Reason, p.wantErr) {
					t.Fatalf("Receive: %v, want a %d StatusError with %q", err, p.wantErrStatus, p.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			got, _ := json.MarshalIndent(in, "", " ")
			if strings.TrimSpace(string(got)) != strings.TrimSpace(string(p.want)) {
				t.Errorf("Inbounds:\n%s\nwant:\n%s", got, p.want)
			}
		})
	}
	if n := len(fake.Requests()); n > 0 {
		t.Errorf("Receive made %d requests to RBM", n)
	}
}

// TestSignatureVector checks X-Goog-Signature against CHANNELS.md §14
// T11, whose body is the event RBM puts in message.data.
func TestSignatureVector(t *testing.T) {
	const (
		body = `{"message":{"messageId":"4444","text":"Hello"},"conversationId":"3333"}`
		want = "RvxdwFXgtB3y0Khn2c6CUI9dANByeCTpVpDJTgm9cd6bhGgyuuPArSDnChU7z3JQKU2O4yRdsomhiWHtquvT5g=="
	)
	if got := rcs.Signature(clientToken, []byte(body)); got != want {
		t.Fatalf("Signature = %s, want %s", got, want)
	}
	c := newConnector(t, config(t, rbmfake.New(t, agent), nil), connectors.Resources{})
	envelope := rbmfake.Envelope([]byte(body))
	request := func(sig string, body []byte, mutate func(h http.Header)) *connectors.Request {
		h := http.Header{"Content-Type": {"application/json"}}
		h.Set(rcs.HeaderSignature, sig)
		if mutate != nil {
			mutate(h)
		}
		return &connectors.Request{Method: http.MethodPost, URL: webhook, Header: h, Body: body}
	}
	flipped := bytes.Replace(envelope, []byte(base64.StdEncoding.EncodeToString([]byte(body))),
		[]byte(base64.StdEncoding.EncodeToString([]byte(strings.Replace(body, "Hello", "Hellp", 1)))), 1)
	wholeBody := rcs.Signature(clientToken, envelope)
	for _, tc := range []struct {
		name   string
		r      *connectors.Request
		status int // 0: accepted
		reason string
	}{
		// T11's event has no senderPhoneNumber: authentic, then refused by the parser.
		{"vector", request(want, envelope, nil), 400, "senderPhoneNumber"},
		{"data changed", request(want, flipped, nil), 401, "bad signature"},
		{"wrong token", request(rcs.Signature("SJENCPGJESMGUFPZ", []byte(body)), envelope, nil), 401, "bad signature"},
		{"signed over the whole body", request(wholeBody, envelope, nil), 401, "bad signature"},
		{"missing header", request("", envelope, func(h http.Header) { h.Del(rcs.HeaderSignature) }), 401, "missing X-Goog-Signature"},
		{"hex, not base64", request(strings.Repeat("ab", 64), envelope, nil), 401, "not a base64 HMAC-SHA512"},
		{"no envelope", request(want, []byte(body), nil), 401, "message.data"},
		{"data not base64", request(want, []byte(`{"message":{"data":"%%%"}}`), nil), 401, "not base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Receive(context.Background(), tc.r)
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || !strings.Contains(se.Reason, tc.reason) {
				t.Fatalf("Receive: %v, want %d with %q", err, tc.status, tc.reason)
			}
		})
	}
}

// TestHandshake: the registration POST is answered with its secret when
// its clientToken is the instance's, refused otherwise, and a signed
// event is left to Receive.
func TestHandshake(t *testing.T) {
	c := newConnector(t, config(t, rbmfake.New(t, agent), nil), connectors.Resources{})
	hs := c.(connectors.Handshaker)
	post := func(body string, h http.Header) *connectors.Request {
		if h == nil {
			h = http.Header{}
		}
		h.Set("Content-Type", "application/json")
		return &connectors.Request{Method: http.MethodPost, URL: webhook, Header: h, Body: []byte(body)}
	}
	for _, tc := range []struct {
		name    string
		r       *connectors.Request
		handled bool
		status  int
		body    string
	}{
		{"registration", post(`{"clientToken":"SJENCPGJESMGUFPY","secret":"1234567890"}`, nil), true, 200, "1234567890"},
		{"wrong token", post(`{"clientToken":"SJENCPGJESMGUFPX","secret":"1234567890"}`, nil), true, 403, `{"error":"clientToken does not match the instance's client_token"}`},
		{"an event", rbmfake.Webhook(clientToken, webhook, findPayload(t, "text").event), false, 0, ""},
		{"a signed body shaped like a registration", post(`{"clientToken":"SJENCPGJESMGUFPY","secret":"1"}`, http.Header{"X-Goog-Signature": {"x"}}), false, 0, ""},
		{"no secret", post(`{"clientToken":"SJENCPGJESMGUFPY"}`, nil), false, 0, ""},
		{"a GET", &connectors.Request{Method: http.MethodGet, URL: webhook, Header: http.Header{}}, false, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ct, body, handled := hs.Handshake(tc.r)
			if handled != tc.handled || status != tc.status || string(body) != tc.body {
				t.Fatalf("Handshake = %d %q %q handled=%v, want %d %q handled=%v", status, ct, body, handled, tc.status, tc.body, tc.handled)
			}
			if handled && tc.status == 200 && !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("content type %q, want text/plain: Google compares the body with the secret", ct)
			}
		})
	}
}

// TestConfig: what New refuses, each error naming its field.
func TestConfig(t *testing.T) {
	fake := rbmfake.New(t, agent)
	var key map[string]string
	if err := json.Unmarshal([]byte(fake.ServiceAccountJSON()), &key); err != nil {
		t.Fatal(err)
	}
	keyWith := func(field, value string) string {
		k := map[string]string{}
		for f, v := range key {
			k[f] = v
		}
		if value == "" {
			delete(k, field)
		} else {
			k[field] = value
		}
		b, _ := json.Marshal(k)
		return string(b)
	}
	for _, tc := range []struct {
		name  string
		extra map[string]string
		field string
		want  string
	}{
		{"agent with a slash", map[string]string{"agent_id": "brands/1/agents/2"}, "agent_id", "agent's id"},
		{"key not JSON", map[string]string{"service_account_json": "/etc/key.json"}, "service_account_json", "not a service account's JSON key"},
		{"not a service account", map[string]string{"service_account_json": keyWith("type", "authorized_user")}, "service_account_json", `"service_account"`},
		{"no client_email", map[string]string{"service_account_json": keyWith("client_email", "")}, "service_account_json", "client_email"},
		{"key not PEM", map[string]string{"service_account_json": keyWith("private_key", "MIIEv…")}, "service_account_json", "PEM"},
		{"no token URL", map[string]string{"service_account_json": keyWith("token_uri", "")}, "token_url", "token_uri"},
		{"bad fallback", map[string]string{"sms_fallback": "Twilio Main"}, "sms_fallback", "twilio instance"},
		{"missing client token", map[string]string{"client_token": ""}, "client_token", "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := connectors.NewRegistry()
			reg.MustRegister(rcs.Spec(), rcs.New)
			_, err := reg.New(rcs.Name, config(t, fake, tc.extra), connectors.Resources{})
			var fe *connectors.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Problem, tc.want) {
				t.Fatalf("New: %v, want a problem with %s mentioning %q", err, tc.field, tc.want)
			}
		})
	}
}
