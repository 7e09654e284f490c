package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/custom"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/sqlite"
)

const testSecret = "whsec_bench"

func TestBuildMessagesMix(t *testing.T) {
	for _, share := range []float64{0, 0.10, 0.25, 1} {
		msgs := buildMessages(100, share)
		if len(msgs) != 100 {
			t.Fatalf("share %v: %d messages", share, len(msgs))
		}
		live := 0
		for i, m := range msgs {
			var text string
			if err := json.Unmarshal(m.quoted, &text); err != nil || text != m.text {
				t.Errorf("share %v: message %d quoted as %s", share, i, m.quoted)
			}
			if got := strings.Contains(strings.ToLower(m.text), "live agent"); got != m.enqueue {
				t.Errorf("share %v: message %d %q marked enqueue=%v", share, i, m.text, m.enqueue)
			}
			if m.enqueue {
				live++
			}
		}
		if want := int(share * 100); live != want {
			t.Errorf("share %v: %d live messages, want %d", share, live, want)
		}
	}
	// The default mix: 10 live messages, one in every ten, and the near misses are there.
	msgs := buildMessages(100, 0.10)
	for i := 0; i < 100; i += 10 {
		n := 0
		for _, m := range msgs[i : i+10] {
			if m.enqueue {
				n++
			}
		}
		if n != 1 {
			t.Errorf("messages %d-%d hold %d live ones, want 1", i, i+9, n)
		}
	}
	for _, near := range []string{"is a live chat agent around?", "liveagent", "agent", "I live in Berlin, do you ship here?"} {
		found := false
		for _, m := range msgs {
			if m.text == near {
				found = true
				if m.enqueue {
					t.Errorf("near miss %q would enqueue", near)
				}
			}
		}
		if !found {
			t.Errorf("near miss %q is not in the mix", near)
		}
	}
}

// The bodies are what the custom connector accepts: checked with the connector itself.
func TestBodyAndSignatureAcceptedByConnector(t *testing.T) {
	conn, err := connectors.Default().New(custom.Name, connectors.Config{"secret": testSecret}, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	sg := newSigner(testSecret)
	for i, m := range buildMessages(100, 0.10) {
		id, from := []byte("lg1-r1-w0-"+string(rune('a'+i%26))), []byte("u-lg1-7")
		body := appendBody(nil, id, from, m)
		ts, sig := sg.sign(time.Now().Unix(), body)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(custom.HeaderTimestamp, string(ts))
		h.Set(custom.HeaderSignature, string(sig))
		in, err := conn.Receive(context.Background(), &connectors.Request{Method: http.MethodPost, Header: h, Body: body})
		if err != nil {
			t.Fatalf("message %d %s: %v", i, body, err)
		}
		if len(in) != 1 || in[0].PlatformID != string(id) || in[0].From != string(from) || in[0].Text != m.text {
			t.Fatalf("message %d %s parsed as %+v", i, body, in)
		}
	}
}

func TestSignerMatchesCustomSign(t *testing.T) {
	sg := newSigner(testSecret)
	other := newSigner("another secret")
	now := time.Unix(1_800_000_000, 0)
	for i, body := range []string{"", "{}", `{"id":"1","from":"u","text":"I want a live agent"}`, strings.Repeat("x", 5000)} {
		ts := now.Unix() + int64(i)
		gotTS, gotSig := sg.sign(ts, []byte(body))
		if want := custom.Sign(testSecret, ts, []byte(body)); string(gotSig) != want {
			t.Errorf("body %d: signature %s, custom.Sign says %s", i, gotSig, want)
		}
		h := http.Header{}
		h.Set(custom.HeaderTimestamp, string(gotTS))
		h.Set(custom.HeaderSignature, string(gotSig))
		if err := custom.Verify(h, []byte(body), testSecret, time.Unix(ts, 0), time.Minute); err != nil {
			t.Errorf("body %d: custom.Verify: %v", i, err)
		}
		// The same body under another secret, or another body, does not verify.
		_, bad := other.sign(ts, []byte(body))
		h.Set(custom.HeaderSignature, string(bad))
		if err := custom.Verify(h, []byte(body), testSecret, time.Unix(ts, 0), time.Minute); err == nil {
			t.Errorf("body %d: signed with another secret, yet verified", i)
		}
		h.Set(custom.HeaderSignature, string(gotSig))
		if err := custom.Verify(h, []byte(body+" "), testSecret, time.Unix(ts, 0), time.Minute); err == nil {
			t.Errorf("body %d: a changed body verified", i)
		}
	}
}

func TestCheck(t *testing.T) {
	live := message{text: "I want a live agent", enqueue: true}
	bot := message{text: "liveagent", enqueue: false}
	const (
		reply     = `{"replies":[{"id":"01X/1","conversation":"01C","to":"u-1","text":"Thanks, a bot will help you"}],"enqueued":[]}`
		enqueue   = `{"replies":[],"enqueued":[{"task":"01X/1","workflow":"support_routing","priority":0}]}`
		absorbed  = `{"replies":[],"enqueued":[]}`
		otherText = `{"replies":[{"id":"01X/1","to":"u-1","text":"Hello"}],"enqueued":[]}`
		otherTo   = `{"replies":[{"id":"01X/1","to":"u-2","text":"Thanks, a bot will help you"}],"enqueued":[]}`
		noReplyID = `{"replies":[{"to":"u-1","text":"Thanks, a bot will help you"}],"enqueued":[]}`
		otherWF   = `{"replies":[],"enqueued":[{"task":"01X/1","workflow":"sales_routing","priority":0}]}`
		noTask    = `{"replies":[],"enqueued":[{"workflow":"support_routing"}]}`
		twoReply  = `{"replies":[{"id":"a","to":"u-1","text":"Thanks, a bot will help you"},{"id":"b","to":"u-1","text":"Thanks, a bot will help you"}],"enqueued":[]}`
		both      = `{"replies":[{"id":"a","to":"u-1","text":"Thanks, a bot will help you"}],"enqueued":[{"task":"t","workflow":"support_routing"}]}`
		peers     = `{"action":"reply","text":"Thanks, a bot will help you"}`
		noEnq     = `{"replies":[]}`
	)
	tests := []struct {
		name   string
		st     contactState
		m      message
		status int
		body   string
		ok     bool
		next   contactState
	}{
		{"reply", contactIdle, bot, 200, reply, true, contactIdle},
		{"enqueue", contactIdle, live, 200, enqueue, true, contactWaiting},
		{"absorbed while waiting (bot text)", contactWaiting, bot, 200, absorbed, true, contactWaiting},
		{"absorbed while waiting (live text)", contactWaiting, live, 200, absorbed, true, contactWaiting},
		{"unknown contact, reply", contactUnknown, bot, 200, reply, true, contactIdle},
		{"unknown contact, absorbed", contactUnknown, bot, 200, absorbed, true, contactWaiting},
		{"unknown contact, enqueue", contactUnknown, live, 200, enqueue, true, contactWaiting},

		{"reply for a live message", contactIdle, live, 200, reply, false, contactUnknown},
		{"enqueue for a bot message", contactIdle, bot, 200, enqueue, false, contactUnknown},
		{"nothing for a new conversation (a duplicate?)", contactIdle, bot, 200, absorbed, false, contactUnknown},
		{"nothing for a live message", contactIdle, live, 200, absorbed, false, contactUnknown},
		{"reply while waiting for the task", contactWaiting, bot, 200, reply, false, contactUnknown},
		{"second enqueue while waiting", contactWaiting, live, 200, enqueue, false, contactUnknown},
		{"unknown contact, enqueue for a bot message", contactUnknown, bot, 200, enqueue, false, contactUnknown},
		{"wrong reply text", contactIdle, bot, 200, otherText, false, contactUnknown},
		{"reply to someone else", contactIdle, bot, 200, otherTo, false, contactUnknown},
		{"reply without id", contactIdle, bot, 200, noReplyID, false, contactUnknown},
		{"task to another workflow", contactIdle, live, 200, otherWF, false, contactUnknown},
		{"task without id", contactIdle, live, 200, noTask, false, contactUnknown},
		{"two replies", contactIdle, bot, 200, twoReply, false, contactUnknown},
		{"reply and task", contactIdle, live, 200, both, false, contactUnknown},
		{"the peers' answer", contactIdle, bot, 200, peers, false, contactUnknown},
		{"answer without enqueued", contactIdle, bot, 200, noEnq, false, contactUnknown},
		{"not JSON", contactIdle, bot, 200, `OK`, false, contactUnknown},
		{"empty body", contactIdle, bot, 200, ``, false, contactUnknown},
		{"server error", contactIdle, bot, 500, reply, false, contactUnknown},
		{"bad signature", contactIdle, bot, 401, `{"error":"signature mismatch"}`, false, contactUnknown},
		{"accepted but not inline", contactIdle, bot, 202, reply, false, contactUnknown},
	}
	for _, tt := range tests {
		_, next, err := check(tt.st, tt.m, tt.status, []byte(tt.body), "u-1")
		if (err == nil) != tt.ok {
			t.Errorf("%s: check = %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if next != tt.next {
			t.Errorf("%s: next state %d, want %d", tt.name, next, tt.next)
		}
	}
}

func TestPercentileAndMedian(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(d, 0.50); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
}

// serveRuntime runs bench/flows on a real runtime node (SQLite in a temp dir) behind the custom
// connector, on a loopback port, and returns the webhook URL.
func serveRuntime(t *testing.T) *url.URL {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	src, err := os.ReadFile(filepath.Join("..", "flows", "routing.flow"))
	if err != nil {
		t.Fatal(err)
	}
	sources := []compiler.Source{{Name: "routing.flow", Src: src}}
	prog, diags := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(diags)
	}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := connectors.Default().New(custom.Name, connectors.Config{"secret": testSecret}, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources,
		Channels: map[string]connectors.Connector{"custom/default": conn}})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Node: n, Store: st, Instances: []server.Instance{{Connector: custom.Name, Name: "default", Conn: conn}}})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		n.Close()
		st.Close()
	})
	return &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/v1/webhooks/custom/default"}
}

func testConfig(u *url.URL, contacts int) *config {
	cfg := &config{target: u, secret: testSecret, conns: 8, duration: 400 * time.Millisecond, warmup: 100 * time.Millisecond,
		timeout: 5 * time.Second, msgs: buildMessages(100, 0.10), runID: newRunID()}
	if contacts > 0 {
		cfg.contacts = newContacts(contacts, cfg.runID)
	}
	return cfg
}

// The loadgen against the real runtime: every answer checks out, with a new contact per message
// and with a small pool of contacts (fewer than the connections, so contacts wait their turn).
func TestAgainstRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a runtime")
	}
	u := serveRuntime(t)
	for _, contacts := range []int{0, 5, 40} {
		cfg := testConfig(u, contacts)
		if err := preflight(cfg); err != nil {
			t.Fatalf("contacts %d: %v", contacts, err)
		}
		for i := range 2 { // the contacts' states carry over from one run to the next
			r := run(cfg, i+1)
			if r.errorCount() > 0 || r.messages == 0 {
				t.Fatalf("contacts %d, run %d: %s %v", contacts, i+1, r.line("run"), r.examples)
			}
			// A new contact per message: every message starts a flow. A pool: once a contact's flow
			// has enqueued (one message in ten), its later messages are absorbed.
			if (contacts == 0 && (r.reactions[reactReply] == 0 || r.reactions[reactEnqueue] == 0 || r.reactions[reactAbsorbed] > 0)) ||
				(contacts > 0 && r.reactions[reactAbsorbed] == 0) {
				t.Errorf("contacts %d, run %d: %s", contacts, i+1, r.line("run"))
			}
		}
	}
	// A wrong secret fails the preflight.
	cfg := testConfig(u, 0)
	cfg.secret = "wrong"
	if err := preflight(cfg); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("preflight with a wrong secret: %v", err)
	}
}

// A target that answers wrongly is caught: every answer of a server that always replies (as if
// no message asked for an agent) or that answers nothing is an error.
func TestWrongAnswersCounted(t *testing.T) {
	for name, body := range map[string]string{
		"always reply": `{"replies":[{"id":"x","to":"%FROM%","text":"Thanks, a bot will help you"}],"enqueued":[]}`,
		"nothing":      `{"replies":[],"enqueued":[]}`,
	} {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
			var in struct{ From string }
			_ = json.Unmarshal(ctx.PostBody(), &in)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(strings.ReplaceAll(body, "%FROM%", in.From))
		}}
		go srv.Serve(ln)
		cfg := testConfig(&url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/v1/webhooks/custom/default"}, 0)
		cfg.duration = 200 * time.Millisecond
		if err := preflight(cfg); err == nil {
			t.Errorf("%s: preflight passed", name)
		}
		r := run(cfg, 1)
		wrong := r.errs[errBody]
		switch name {
		case "always reply": // only the live messages are wrong
			if wrong == 0 || wrong > r.sent/5 || r.reactions[reactReply] == 0 {
				t.Errorf("%s: %d body errors in %d sent: %s", name, wrong, r.sent, r.line("run"))
			}
		case "nothing":
			if wrong != r.sent || r.messages == 0 {
				t.Errorf("%s: %d body errors in %d sent: %s", name, wrong, r.sent, r.line("run"))
			}
		}
		_ = srv.Shutdown()
	}
}
