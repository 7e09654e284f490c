package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/server"
)

// verifier is a channel whose platform verifies the webhook first, as
// Meta's does: a GET with hub.verify_token and hub.challenge.
type verifier struct{ connectortest.Fake }

func (*verifier) Handshake(r *connectors.Request) (int, string, []byte, bool) {
	if r.Method != http.MethodGet || r.Query.Get("hub.mode") != "subscribe" {
		return 0, "", nil, false
	}
	if r.Query.Get("hub.verify_token") != "let-me-in" {
		return http.StatusForbidden, "text/plain", []byte("wrong verify token"), true
	}
	return http.StatusOK, "text/plain", []byte(r.Query.Get("hub.challenge")), true
}

// TestHandshake: a connector's handshake answers before Receive; other
// requests go on to Receive.
func TestHandshake(t *testing.T) {
	v := &verifier{Fake: connectortest.Fake{Channel: "webchat"}}
	r := start(t, setup{flow: flow, instances: []server.Instance{{Connector: "meta", Name: "default", Conn: v}}})
	hook := r.base + "/v1/webhooks/meta/default"
	cases := []struct {
		query  string
		status int
		body   string
	}{
		{"?hub.mode=subscribe&hub.verify_token=let-me-in&hub.challenge=1158201444", http.StatusOK, "1158201444"},
		{"?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444", http.StatusForbidden, "wrong verify token"},
	}
	for _, c := range cases {
		status, _, body := roundTrip(t, http.MethodGet, hook+c.query, nil, nil)
		if status != c.status || string(body) != c.body {
			t.Errorf("GET %s: %d %q, want %d %q", c.query, status, body, c.status, c.body)
		}
	}
	// Not a handshake: Receive answers (the fake takes a JSON POST).
	req := v.Request(connectortest.FakeMessage{ID: "m1", From: "ana", Text: "hi"})
	status, _, body := roundTrip(t, http.MethodPost, hook, bytes.NewReader(req.Body), req.Header)
	if status != http.StatusOK || !bytes.Contains(body, []byte(`"accepted":1`)) {
		t.Fatalf("POST: %d %s", status, body)
	}
}
