package messagingtest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging"
)

// RunHandshake checks the answers to Meta's verification GET of hook for
// an instance configured with verifyToken.
func RunHandshake(t *testing.T, c connectors.Connector, hook, verifyToken string) {
	hs, ok := c.(connectors.Handshaker)
	if !ok {
		t.Fatal("the connector is no connectors.Handshaker")
	}
	post := graphfake.Webhook("secret", hook, []byte(`{"object":"page","entry":[]}`))
	noMode := graphfake.Verification(hook, verifyToken, "1158201444")
	noMode.Query.Del("hub.mode")
	for _, tc := range []struct {
		name    string
		req     *connectors.Request
		handled bool
		status  int
		body    string
	}{
		{"the verify token", graphfake.Verification(hook, verifyToken, "1158201444"), true, 200, "1158201444"},
		{"another token", graphfake.Verification(hook, verifyToken+"x", "1158201444"), true, 403, ""},
		{"no token", graphfake.Verification(hook, "", "1158201444"), true, 403, ""},
		{"a webhook POST is for Receive", post, false, 0, ""},
		{"a GET without hub.mode is for Receive", noMode, false, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ct, body, handled := hs.Handshake(tc.req)
			if handled != tc.handled || status != tc.status {
				t.Fatalf("Handshake = %d, handled %v; want %d, handled %v", status, handled, tc.status, tc.handled)
			}
			if tc.body != "" && (string(body) != tc.body || !strings.HasPrefix(ct, "text/plain")) {
				t.Errorf("body %q (%s), want the challenge %q as text", body, ct, tc.body)
			}
		})
	}
}

// vector is a signed body: the testdata's signatures.json, and
// connectors/meta/graph's vectors.json (CHANNELS.md §14's T7).
type vector struct {
	Name      string `json:"name"`
	AppSecret string `json:"app_secret"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

func readVectors(t *testing.T, file string) []vector {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("%s: %v", file, err)
	}
	return vs
}

// RunVectors checks X-Hub-Signature-256 with known signatures. The
// vectors of own (the connector's testdata) are its own payloads: their
// signature passes and they give messages. Those of other (T7, a
// WhatsApp body) pass the signature and are refused by the parser, 400,
// for their object. Any of them with a flipped body byte, an sha1=
// header or no header is 401.
func RunVectors(t *testing.T, newConn func(t testing.TB, appSecret string) connectors.Connector, hook, own, other string) {
	for _, set := range []struct {
		file   string
		status int
	}{{own, 0}, {other, http.StatusBadRequest}} {
		for _, v := range readVectors(t, set.file) {
			t.Run(v.Name, func(t *testing.T) {
				c := newConn(t, v.AppSecret)
				req := func(body, sig string) *connectors.Request {
					r := graphfake.Webhook("", hook, []byte(body))
					r.Header.Set(graph.HeaderSignature, sig)
					if sig == "" {
						r.Header.Del(graph.HeaderSignature)
					}
					return r
				}
				in, err := c.Receive(context.Background(), req(v.Body, v.Signature))
				switch {
				case set.status == 0 && (err != nil || len(in) == 0):
					t.Errorf("the vector's signature: %d messages, err %v; want messages", len(in), err)
				case set.status != 0 && connectors.StatusOf(err) != set.status:
					t.Errorf("the vector's signature: err %v, want the parser's %d", err, set.status)
				}
				tampered := strings.Replace(v.Body, `"entry"`, `"Entry"`, 1)
				sha1 := "sha1=" + strings.TrimPrefix(v.Signature, "sha256=")[:40]
				for name, r := range map[string]*connectors.Request{
					"tampered": req(tampered, v.Signature), "sha1": req(v.Body, sha1), "missing": req(v.Body, ""),
					"upper case sha256": req(v.Body, strings.ToUpper(v.Signature)),
				} {
					if _, err := c.Receive(context.Background(), r); connectors.StatusOf(err) != http.StatusUnauthorized {
						t.Errorf("%s: err %v, want 401", name, err)
					}
				}
			})
		}
	}
}

// Kit is what Conformance needs of one connector.
type Kit struct {
	// New builds an instance calling the Graph API at apiURL.
	New     func(t testing.TB, apiURL string, res connectors.Resources) connectors.Connector
	Body    []byte // a webhook body that carries a message
	Secret  string // the instance's app secret
	Hook    string
	Channel string
	To      string // a customer's id
}

// Conformance runs the connector kit against a fake Send API that
// answers as Meta does.
func Conformance(t *testing.T, k Kit) {
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			return k.New(t, api.URL, res)
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				var body messaging.SendRequest
				_ = json.Unmarshal(raw, &body)
				reply := api.Deliver(connectortest.Delivery{To: body.Recipient.ID, Text: body.Message.Text, Header: r.Header, Body: raw})
				for key, vs := range reply.Header {
					w.Header()[key] = vs
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(reply.Status)
				if reply.Status >= 300 {
					_, _ = io.WriteString(w, graphfake.ErrorJSON(100, 0, http.StatusText(reply.Status), "OAuthException"))
					return
				}
				_, _ = io.WriteString(w, graphfake.MessengerSendJSON(body.Recipient.ID, reply.ID))
			})
		},
		Request: func(t testing.TB, _ time.Time) *connectors.Request {
			return graphfake.Webhook(k.Secret, k.Hook, k.Body)
		},
		Unsign: func(r *connectors.Request) { r.Header.Del(graph.HeaderSignature) },
		Malformed: func(t testing.TB, _ time.Time) *connectors.Request {
			return graphfake.Webhook(k.Secret, k.Hook, []byte(`{"object":"page","entry":[{"id":`))
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: "effect-0001", Channel: k.Channel, To: k.To, Text: "Hello from the kit", ConversationID: "conv-1"}
		},
		NoIdempotencyKey: true,
	})
}

// Fuzz feeds c.Receive arbitrary bodies and signatures. When sign is
// true the body is signed with secret, so the fuzzer reaches the parser.
// Properties: Receive never panics; it accepts only a body whose
// signature an independent HMAC confirms; a refusal is a
// *connectors.StatusError, and a 400 answers only an authentic body;
// every message is on channel with a PlatformID and a From, and a report
// is keyed by its message and status. Seeds: the payloads.
func Fuzz(f *testing.F, c connectors.Connector, payloads []Payload, secret, hook, channel string) {
	for _, p := range payloads {
		f.Add(p.Body, "", true)
	}
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","messaging":[{}]}]}`), "sha256=00", false)
	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool) {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		good := "sha256=" + hex.EncodeToString(m.Sum(nil))
		if sign {
			sig = good
		}
		r := graphfake.Webhook(secret, hook, body)
		r.Header.Set(graph.HeaderSignature, sig)
		in, err := c.Receive(context.Background(), r)
		authentic := sig == good
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, http.StatusBadRequest)
			return
		}
		if !authentic {
			t.Fatalf("accepted a body without a valid signature: %q %q", body, sig)
		}
		for i, m := range in {
			if m.PlatformID == "" || m.From == "" || m.Channel != channel {
				t.Fatalf("message %d breaks the contract: %+v", i, m)
			}
			if m.Status != nil && m.PlatformID != m.Status.PlatformID+"/"+m.Status.Status {
				t.Fatalf("report %d keyed %q for %+v", i, m.PlatformID, m.Status)
			}
		}
	})
}

// Bench measures Receive, verification and parsing, of one payload.
func Bench(b *testing.B, c connectors.Connector, p Payload, secret, hook string) {
	r := graphfake.Webhook(secret, hook, p.Body)
	b.SetBytes(int64(len(p.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Receive(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
