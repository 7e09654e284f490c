package discord_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/discord"
)

// TestSignatureVector: T9 of docs/CHANNELS.md, the PING signed with RFC
// 8032's test key, is accepted, and a byte flipped anywhere is not.
func TestSignatureVector(t *testing.T) {
	data, err := os.ReadFile(testdata + "/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		Name, Seed, Timestamp, Body, Signature string
		PublicKey                              string `json:"public_key"`
	}
	if err := json.Unmarshal(data, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("signatures.json: %v", err)
	}
	for _, v := range vs {
		seed, _ := hex.DecodeString(v.Seed)
		if got := hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)); got != v.PublicKey {
			t.Errorf("%s: the seed's public key is %s, the vector says %s", v.Name, got, v.PublicKey)
		}
		c := newConn(t, connectors.Config{"bot_token": "x", "public_key": v.PublicKey}, connectors.Resources{})
		req := func(ts, body, sig string) *connectors.Request {
			h := http.Header{}
			h.Set("Content-Type", "application/json")
			h.Set(discord.HeaderTimestamp, ts)
			h.Set(discord.HeaderSignature, sig)
			return &connectors.Request{Method: http.MethodPost, Header: h, Body: []byte(body)}
		}
		if _, err := c.Receive(context.Background(), req(v.Timestamp, v.Body, v.Signature)); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
		status, _, body := c.Respond(nil, connectors.Reaction{})
		if status != 200 || string(body) != `{"type":1}` {
			t.Errorf("%s: PONG = %d %s", v.Name, status, body)
		}
		flip := func(s string, i int) string {
			b := []byte(s)
			b[i] ^= 1
			return string(b)
		}
		for name, r := range map[string]*connectors.Request{
			"body":      req(v.Timestamp, flip(v.Body, 2), v.Signature),
			"timestamp": req(flip(v.Timestamp, 9), v.Body, v.Signature),
			"signature": req(v.Timestamp, v.Body, flip(v.Signature, 5)),
		} {
			if _, err := c.Receive(context.Background(), r); connectors.StatusOf(err) != 401 {
				t.Errorf("%s: flipped %s: err = %v, want 401", v.Name, name, err)
			}
		}
	}
}

// TestInteractions: the recorded interactions give their Inbounds, and
// Respond's answer without replies is the one Discord wants within 3 s.
func TestInteractions(t *testing.T) {
	c := offline(t)
	for _, p := range payloads(t, "interactions") {
		t.Run(p.name, func(t *testing.T) {
			in, err := c.Receive(context.Background(), signed(p.section("body"), "1796651943"))
			if err != nil {
				t.Fatal(err)
			}
			if len(in) > 0 {
				checkWant(t, p, in)
			} else if p.section("want") != nil && !update {
				t.Errorf("no message, want %s", p.section("want"))
			}
			_, ct, body := c.Respond(in, connectors.Reaction{})
			if ct != "application/json" || string(body) != string(p.section("respond")) {
				t.Errorf("Respond = %s %s, want %s", ct, body, p.section("respond"))
			}
		})
	}
}

// TestReceiveRefusals: what Discord must not send again as is, the probes
// with bad signatures first.
func TestReceiveRefusals(t *testing.T) {
	c := offline(t)
	good := []byte(`{"application_id":"1197048256485963936","id":"1579497724921847301","type":3,"channel_id":"1345828002201600003","user":{"id":"1573264778749546497","username":"mira.k"},"data":{"custom_id":"en","component_type":2}}`)
	for _, tc := range []struct {
		name   string
		req    func() *connectors.Request
		status int
		reason string
	}{
		{"no signature", func() *connectors.Request {
			r := signed(good, "1796651943")
			r.Header.Del(discord.HeaderSignature)
			return r
		}, 401, "missing X-Signature-Ed25519 or X-Signature-Timestamp header"},
		{"Discord's probe: a valid-looking signature of something else", func() *connectors.Request {
			r := signed(good, "1796651943")
			r.Header.Set(discord.HeaderSignature, signed([]byte(`{"type":1}`), "1796651943").Header.Get(discord.HeaderSignature))
			return r
		}, 401, "bad signature: X-Signature-Ed25519 does not match the timestamp and body for the public key"},
		{"signature not hex", func() *connectors.Request {
			r := signed(good, "1796651943")
			r.Header.Set(discord.HeaderSignature, "zz")
			return r
		}, 401, "X-Signature-Ed25519 is not 128 hex digits"},
		{"GET", func() *connectors.Request {
			r := signed(good, "1796651943")
			r.Method = http.MethodGet
			return r
		}, 405, "interactions come by POST, not GET"},
		{"a form", func() *connectors.Request {
			r := signed(good, "1796651943")
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 415, "content type must be application/json, not application/x-www-form-urlencoded"},
		{"not JSON", func() *connectors.Request { return signed([]byte(`{"type":3,`), "1") }, 400,
			"the interaction is not JSON: unexpected end of JSON input at byte 10"},
		{"type of the wrong kind", func() *connectors.Request { return signed([]byte(`{"type":"3"}`), "1") }, 400,
			"the interaction is not JSON: type is a JSON string (read up to byte 11), want int"},
		{"no channel", func() *connectors.Request {
			return signed([]byte(`{"id":"1","type":3,"application_id":"1197048256485963936","user":{"id":"2"},"data":{"custom_id":"en"}}`), "1")
		}, 400, "interaction 1 has no channel_id"},
		{"no user", func() *connectors.Request {
			return signed([]byte(`{"id":"1","type":3,"application_id":"1197048256485963936","channel_id":"3","data":{"custom_id":"en"}}`), "1")
		}, 400, "interaction 1 has neither user nor member.user"},
		{"another application", func() *connectors.Request {
			return signed([]byte(`{"id":"1","type":3,"application_id":"42","channel_id":"3","user":{"id":"2"},"data":{"custom_id":"en"}}`), "1")
		}, 400, `interaction 1 is for application "42", this instance serves "1197048256485963936"`},
		{"a button without custom_id", func() *connectors.Request {
			return signed([]byte(`{"id":"1","type":3,"application_id":"1197048256485963936","channel_id":"3","user":{"id":"2"},"data":{"component_type":2}}`), "1")
		}, 400, "interaction 1: the component's data has no custom_id"},
		{"autocomplete", func() *connectors.Request {
			return signed([]byte(`{"id":"1","type":4,"application_id":"1197048256485963936","channel_id":"3","user":{"id":"2"},"data":{"name":"order"}}`), "1")
		}, 400, "interaction 1: autocomplete is not supported: register the commands without autocomplete options"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Receive(context.Background(), tc.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || se.Reason != tc.reason {
				t.Errorf("err = %v, want %d %q", err, tc.status, tc.reason)
			}
		})
	}
}
