package graph_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

// vector is one signature vector of testdata/vectors.json.
type vector struct {
	Name      string `json:"name"`
	AppSecret string `json:"app_secret"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

func loadVector(t testing.TB) vector {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var list []vector
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	return list[0]
}

func TestSignatureVector(t *testing.T) {
	v := loadVector(t)
	if got := graph.Signature(v.AppSecret, []byte(v.Body)); got != v.Signature {
		t.Fatalf("Signature = %s, want %s", got, v.Signature)
	}
	req := graphfake.Webhook(v.AppSecret, "https://example.com/v1/webhooks/whatsapp_cloud/default", []byte(v.Body))
	if got := req.Header.Get(graph.HeaderSignature); got != v.Signature {
		t.Fatalf("graphfake.Webhook signed %s, want %s", got, v.Signature)
	}
	if err := graph.VerifySignature(req, v.AppSecret); err != nil {
		t.Fatalf("VerifySignature(T7) = %v", err)
	}
}

func TestVerifySignatureRefuses(t *testing.T) {
	v := loadVector(t)
	flipped := []byte(v.Body)
	flipped[len(flipped)-10] ^= 1
	tests := []struct {
		name   string
		secret string
		header []string // nil: no header
		body   []byte
		reason string
	}{
		{"tampered body", v.AppSecret, []string{v.Signature}, flipped, "bad X-Hub-Signature-256 signature"},
		{"wrong secret", "other_secret", []string{v.Signature}, []byte(v.Body), "bad X-Hub-Signature-256 signature"},
		{"missing header", v.AppSecret, nil, []byte(v.Body), "missing X-Hub-Signature-256 header"},
		{"empty header", v.AppSecret, []string{""}, []byte(v.Body), "missing X-Hub-Signature-256 header"},
		{"sha1 prefix", v.AppSecret, []string{"sha1=" + strings.TrimPrefix(v.Signature, "sha256=")}, []byte(v.Body), "malformed X-Hub-Signature-256 header: want sha256=<hex>"},
		{"upper-case prefix", v.AppSecret, []string{"SHA256=" + strings.TrimPrefix(v.Signature, "sha256=")}, []byte(v.Body), "malformed"},
		{"not hex", v.AppSecret, []string{"sha256=" + strings.Repeat("zz", 32)}, []byte(v.Body), "64 hex digits"},
		{"short digest", v.AppSecret, []string{v.Signature[:40]}, []byte(v.Body), "64 hex digits"},
		{"no app secret", "", []string{v.Signature}, []byte(v.Body), "no app secret configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &connectors.Request{Method: http.MethodPost, Header: http.Header{}, Body: tt.body}
			for _, h := range tt.header {
				req.Header.Add(graph.HeaderSignature, h)
			}
			err := graph.VerifySignature(req, tt.secret)
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
				t.Fatalf("VerifySignature = %v, want a 401 *StatusError", err)
			}
			if !strings.Contains(se.Reason, tt.reason) {
				t.Errorf("reason %q, want it to contain %q", se.Reason, tt.reason)
			}
		})
	}
}

func TestVerifySignatureUpperCaseHex(t *testing.T) {
	v := loadVector(t)
	req := graphfake.Webhook(v.AppSecret, "https://example.com/hook", []byte(v.Body))
	req.Header.Set(graph.HeaderSignature, "sha256="+strings.ToUpper(strings.TrimPrefix(v.Signature, "sha256=")))
	if err := graph.VerifySignature(req, v.AppSecret); err != nil {
		t.Fatalf("upper-case hex digest refused: %v", err)
	}
}

func TestHandshake(t *testing.T) {
	const token = "verify-me-7f3a"
	tests := []struct {
		name    string
		method  string
		query   url.Values
		token   string
		status  int
		body    string
		handled bool
	}{
		{"match", "GET", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}, "hub.challenge": {"1158201444"}}, token, 200, "1158201444", true},
		{"wrong token", "GET", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1158201444"}}, token, 403, "verify token mismatch\n", true},
		{"token prefix", "GET", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token[:5]}, "hub.challenge": {"1"}}, token, 403, "verify token mismatch\n", true},
		{"no token", "GET", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}, token, 403, "verify token mismatch\n", true},
		{"empty configured token", "GET", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {""}, "hub.challenge": {"1"}}, "", 403, "verify token mismatch\n", true},
		{"other mode", "GET", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {token}, "hub.challenge": {"1"}}, token, 403, "verify token mismatch\n", true},
		{"no challenge", "GET", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}}, token, 400, "missing hub.challenge\n", true},
		{"GET without hub.mode", "GET", url.Values{"x": {"1"}}, token, 0, "", false},
		{"POST with hub.mode", "POST", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}, "hub.challenge": {"1"}}, token, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &connectors.Request{Method: tt.method, Query: tt.query, Header: http.Header{}}
			status, ct, body, handled := graph.Handshake(req, tt.token)
			if handled != tt.handled || status != tt.status || string(body) != tt.body {
				t.Fatalf("Handshake = %d %q handled=%v, want %d %q handled=%v", status, body, handled, tt.status, tt.body, tt.handled)
			}
			if handled && !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("content type %q, want text/plain", ct)
			}
		})
	}
	// the fake's verification request is the one Meta makes
	req := graphfake.Verification("https://example.com/v1/webhooks/whatsapp_cloud/default", token, "42")
	if status, _, body, _ := graph.Handshake(req, token); status != 200 || string(body) != "42" {
		t.Fatalf("graphfake.Verification: %d %q", status, body)
	}
}
