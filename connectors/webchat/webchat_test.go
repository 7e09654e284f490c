package webchat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

const testSecret = "test-secret-0123456789"

// newTest builds an instance through a registry, as the runtime does, and
// closes it at the end of the test.
func newTest(t testing.TB, cfg connectors.Config, res connectors.Resources) *Connector {
	t.Helper()
	reg := connectors.NewRegistry()
	reg.MustRegister(Spec(), New)
	c, err := reg.New(Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.(*Connector).Close(context.Background()) })
	return c.(*Connector)
}

// webhook builds the widget's POST to the webhook.
func webhook(token, body string) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return &connectors.Request{Method: http.MethodPost, URL: "https://switchboard.test/v1/webhooks/webchat/default",
		Path: "/v1/webhooks/webchat/default", Header: h, Body: []byte(body), RemoteAddr: "127.0.0.1:1"}
}

// kitVisitor is the visitor of the conformance kit's requests.
const kitVisitor = "v_abcdefghijklmnopqrstuvwxyz"

// TestConformance runs the connectors' conformance kit on what applies to
// webchat: tokens (valid, tampered, missing), malformed bodies, stable
// dedupe keys, concurrency, no network I/O in Receive. The kit's send
// cases but one (a canceled context) assume an HTTP platform API that
// answers 4xx/5xx; webchat delivers into its own hub instead, so those are
// skipped here and Send is tested below and in hub_test.go and
// e2e_test.go.
func TestConformance(t *testing.T) {
	token := (&signer{secret: []byte(testSecret), instance: connectors.DefaultInstance}).token(kitVisitor)
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			for _, c := range []string{"/send/deliver", "/send/retry", "/send/classify", "/send/unreachable"} {
				if strings.HasSuffix(t.Name(), c) {
					t.Skip("webchat has no platform API to fake: Send delivers to the visitor's sockets and mailbox (see TestSend*)")
				}
			}
			return newTest(t, connectors.Config{"secret": testSecret}, res)
		},
		Handler: func(*connectortest.API) http.Handler { return http.NotFoundHandler() },
		Request: func(testing.TB, time.Time) *connectors.Request {
			return webhook(token, `{"id":"c_0001","text":"Hello, I need help","name":"Ana"}`)
		},
		Unsign: func(r *connectors.Request) { r.Header.Del("Authorization") },
		Malformed: func(testing.TB, time.Time) *connectors.Request {
			return webhook(token, `{"id":"c_0001","text":`)
		},
		Tamper: func(r *connectors.Request) {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			b := []byte(tok)
			i := visitorLen + 10 // a character of the signature
			b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
			r.Header.Set("Authorization", "Bearer "+string(b))
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: "effect-0001", Channel: Name, To: kitVisitor, Text: "Hello from the kit", ConversationID: "conv-1"}
		},
		NoIdempotencyKey: true,
		NoPlatformID:     true,
	})
}

func TestReceive(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	c := newTest(t, connectors.Config{"secret": testSecret}, connectors.Resources{Now: func() time.Time { return now }})
	visitor, token := c.NewVisitor()
	in, err := c.Receive(context.Background(), webhook(token, `{"id":"c_1","text":"Hi there","name":"Ana"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := connectors.Inbound{PlatformID: visitor + ":c_1", Channel: "webchat", From: visitor, To: "default", FromName: "Ana", Text: "Hi there", At: now}
	if len(in) != 1 || fmt.Sprint(in[0]) != fmt.Sprint(want) {
		t.Fatalf("Receive = %+v\nwant %+v", in, want)
	}
	// The message is echoed to the visitor's mailbox once, even when redelivered.
	if _, err := c.Receive(context.Background(), webhook(token, `{"id":"c_1","text":"Hi there"}`)); err != nil {
		t.Fatal(err)
	}
	p, _ := c.hub.poll(context.Background(), visitor, 0, "", 0)
	if len(p.Messages) != 1 || p.Messages[0].From != FromVisitor || p.Messages[0].ID != "c_1" || p.Messages[0].Seq != 1 {
		t.Errorf("mailbox after the message and its redelivery: %+v", p.Messages)
	}

	for _, tc := range []struct {
		name, token, contentType, method, body string
		status                                 int
		reason                                 string
	}{
		{"no token", "", "", "", `{"id":"c_2","text":"x"}`, 401, "missing visitor token"},
		{"garbage token", "nope", "", "", `{"id":"c_2","text":"x"}`, 401, "invalid visitor token"},
		{"another instance's token", (&signer{secret: []byte(testSecret), instance: "other"}).token(visitor), "", "", `{"id":"c_2","text":"x"}`, 401, "invalid visitor token"},
		{"another secret's token", (&signer{secret: []byte("another-secret-0123456"), instance: "default"}).token(visitor), "", "", `{"id":"c_2","text":"x"}`, 401, "invalid visitor token"},
		{"form", token, "application/x-www-form-urlencoded", "", `id=c_2&text=x`, 415, "content type must be application/json"},
		{"GET", token, "", http.MethodGet, ``, 405, "method must be POST"},
		{"empty", token, "", "", ``, 400, "empty body"},
		{"array", token, "", "", `[{"id":"c_2","text":"x"}]`, 400, "body must be a JSON object"},
		{"no id", token, "", "", `{"text":"x"}`, 400, `missing required field "id"`},
		{"empty id", token, "", "", `{"id":"","text":"x"}`, 400, `missing required field "id"`},
		{"id with a space", token, "", "", `{"id":"c 2","text":"x"}`, 400, `field "id" must be printable`},
		{"long id", token, "", "", `{"id":"` + strings.Repeat("x", MaxIDBytes+1) + `","text":"x"}`, 400, `field "id" is longer than 128 bytes`},
		{"no text", token, "", "", `{"id":"c_2"}`, 400, `missing required field "text"`},
		{"blank text", token, "", "", `{"id":"c_2","text":"  \n"}`, 400, `missing required field "text"`},
		{"long text", token, "", "", `{"id":"c_2","text":"` + strings.Repeat("x", MaxTextBytes+1) + `"}`, 400, `field "text" is longer than 8192 bytes`},
		{"number text", token, "", "", `{"id":"c_2","text":5}`, 400, `field "text" must be a string`},
		{"unknown field", token, "", "", `{"id":"c_2","text":"x","from":"v_x"}`, 400, `unknown field "from"`},
		{"trailing data", token, "", "", `{"id":"c_2","text":"x"} {}`, 400, "unexpected data after the JSON object"},
		{"truncated", token, "", "", `{"id":"c_2","te`, 400, "malformed JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := webhook(tc.token, tc.body)
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			if tc.method != "" {
				r.Method = tc.method
			}
			_, err := c.Receive(context.Background(), r)
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("Receive = %v, want %d %q", err, tc.status, tc.reason)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	reg := connectors.NewRegistry()
	reg.MustRegister(Spec(), New)
	for cfg, want := range map[string]connectors.Config{
		`config field "secret": too short: at least 16 characters`:    {"secret": "short"},
		`"https://x.test/path" is not an origin`:                      {"allowed_origins": "https://x.test/path"},
		`"ftp://x.test" is not an origin`:                             {"allowed_origins": "https://ok.test, ftp://x.test"},
		`config field "titel": unknown field (did you mean "title"?)`: {"titel": "x"},
	} {
		_, err := reg.New(Name, want, connectors.Resources{})
		if err == nil || !strings.Contains(err.Error(), cfg) {
			t.Errorf("New(%v) = %v, want %q", want, err, cfg)
		}
	}

	// Without a secret each instance makes its own: a token does not
	// survive a restart. With one, it does.
	a, b := newTest(t, nil, connectors.Resources{}), newTest(t, nil, connectors.Resources{})
	v, tok := a.NewVisitor()
	if got, ok := a.Visitor(tok); !ok || got != v {
		t.Error("an instance refuses its own token")
	}
	if _, ok := b.Visitor(tok); ok {
		t.Error("two instances with random secrets accept each other's tokens")
	}
	a, b = newTest(t, connectors.Config{"secret": testSecret}, connectors.Resources{}), newTest(t, connectors.Config{"secret": testSecret}, connectors.Resources{})
	v, tok = a.NewVisitor()
	if got, ok := b.Visitor(tok); !ok || got != v {
		t.Error("a configured secret does not keep visitors across a restart")
	}
	if a.title != DefaultTitle || a.greeting != DefaultGreeting {
		t.Errorf("defaults: %q %q", a.title, a.greeting)
	}
	o := newTest(t, connectors.Config{"allowed_origins": "https://Shop.Example.com, http://localhost:3000"}, connectors.Resources{}).origins
	if !o.allows("https://shop.example.com") || !o.allows("http://localhost:3000") || o.allows("https://evil.test") || o.any {
		t.Errorf("origins %+v", o)
	}
}

func TestTokens(t *testing.T) {
	s := &signer{secret: []byte(testSecret), instance: "default"}
	seen := map[string]bool{}
	for range 100 {
		v := newVisitorID()
		if !validVisitorID(v) || seen[v] {
			t.Fatalf("visitor id %q", v)
		}
		seen[v] = true
		tok := s.token(v)
		if len(tok) != tokenLen {
			t.Fatalf("token length %d", len(tok))
		}
		if got, ok := s.verify(tok); !ok || got != v {
			t.Fatalf("verify(%q) = %q, %v", tok, got, ok)
		}
	}
	tok := s.token(kitVisitor)
	for _, bad := range []string{"", tok[:len(tok)-1], tok + "A", strings.Replace(tok, "v_", "w_", 1),
		strings.ToUpper(tok[:visitorLen]) + tok[visitorLen:], tok[:visitorLen] + ":" + tok[visitorLen+1:],
		"v_abcdefghijklmnopqrstuvwxy1." + tok[visitorLen+1:]} {
		if _, ok := s.verify(bad); ok {
			t.Errorf("verify accepted %q", bad)
		}
	}
}

func TestSend(t *testing.T) {
	c := newTest(t, connectors.Config{"secret": testSecret}, connectors.Resources{})
	visitor, _ := c.NewVisitor()
	m := &connectors.Outbound{Key: "effect-1", Channel: "webchat", To: visitor, Text: "Hello!", Media: []string{"https://example.com/a.png"}}

	// Not connected: the mailbox keeps it.
	id, err := c.Send(context.Background(), m)
	if err != nil || !strings.HasPrefix(id, visitor+":") || !strings.HasSuffix(id, ":1") {
		t.Fatalf("Send = %q, %v", id, err)
	}
	// A retry of the same key is not delivered twice.
	again, err := c.Send(context.Background(), m)
	if err != nil || again != id {
		t.Errorf("retry: %q, %v; want %q", again, err, id)
	}
	m2 := *m
	m2.Key, m2.Text, m2.Media = "effect-2", "Second", nil
	if id2, err := c.Send(context.Background(), &m2); err != nil || !strings.HasSuffix(id2, ":2") {
		t.Errorf("second message: %q, %v", id2, err)
	}
	p, _ := c.hub.poll(context.Background(), visitor, 0, "", 0)
	if len(p.Messages) != 2 || p.Messages[0].Text != "Hello!" || p.Messages[0].From != FromAgent ||
		len(p.Messages[0].Media) != 1 || p.Messages[1].Text != "Second" || p.Last != 2 {
		t.Errorf("mailbox: %+v", p)
	}

	for name, bad := range map[string]connectors.Outbound{
		"no key":         {To: visitor, Text: "x"},
		"not a visitor":  {Key: "k", To: "+15550100", Text: "x"},
		"empty":          {Key: "k", To: visitor},
		"relative media": {Key: "k", To: visitor, Media: []string{"/a.png"}},
	} {
		if _, err := c.Send(context.Background(), &bad); !connectors.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Send(ctx, m); err == nil || connectors.IsPermanent(err) {
		t.Errorf("canceled: %v, want a temporary error", err)
	}
	_ = c.Close(context.Background())
	m3 := *m
	m3.Key = "effect-3"
	if _, err := c.Send(context.Background(), &m3); !errors.Is(err, connectors.ErrNotConnected) || connectors.IsPermanent(err) {
		t.Errorf("after Close: %v, want a temporary ErrNotConnected", err)
	}
}

// TestSendConcurrent sends the same keys from many goroutines: each is
// delivered once, and the sequence has no gaps.
func TestSendConcurrent(t *testing.T) {
	c := newTest(t, connectors.Config{"secret": testSecret}, connectors.Resources{})
	visitor, _ := c.NewVisitor()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				key := fmt.Sprintf("k%d", (i+g)%20)
				if _, err := c.Send(context.Background(), &connectors.Outbound{Key: key, To: visitor, Text: key}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	p, _ := c.hub.poll(context.Background(), visitor, 0, "", 0)
	seen := map[string]bool{}
	for i, m := range p.Messages {
		if m.Seq != uint64(i+1) || seen[m.Text] {
			t.Fatalf("message %d: %+v", i, m)
		}
		seen[m.Text] = true
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct messages, want 20", len(seen))
	}
}
