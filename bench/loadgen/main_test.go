package main

import (
	"context"
	"encoding/json"
	"fmt"
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
	cfg := &config{targets: []*url.URL{u}, secret: testSecret, conns: 8, duration: 400 * time.Millisecond, warmup: 100 * time.Millisecond,
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

func TestURLFlag(t *testing.T) {
	const def = "http://127.0.0.1:8080/v1/webhooks/custom/default"
	for _, tc := range []struct {
		name  string
		args  []string
		hosts []string
		err   string
	}{
		{name: "default", hosts: []string{"127.0.0.1:8080"}},
		{name: "one replaces the default", args: []string{"http://a:1/x"}, hosts: []string{"a:1"}},
		{name: "repeated", args: []string{"http://a:1/x", "http://b:2/x"}, hosts: []string{"a:1", "b:2"}},
		{name: "comma-separated", args: []string{"http://a:1/x, http://b:2/x,"}, hosts: []string{"a:1", "b:2"}},
		{name: "both", args: []string{"http://a:1/x,http://b:2/x", "http://c:3/x"}, hosts: []string{"a:1", "b:2", "c:3"}},
		{name: "https refused", args: []string{"http://a:1/x,https://b:2/x"}, err: `"https://b:2/x"`},
		{name: "no host", args: []string{"http:///x"}, err: `"http:///x"`},
		{name: "empty", args: []string{","}, err: "no -url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := urlList{vals: []string{def}}
			for _, a := range tc.args {
				if err := l.Set(a); err != nil {
					t.Fatal(err)
				}
			}
			urls, err := parseTargets(l.vals)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one with %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var hosts []string
			for _, u := range urls {
				hosts = append(hosts, u.Host)
			}
			if strings.Join(hosts, " ") != strings.Join(tc.hosts, " ") {
				t.Errorf("hosts %v, want %v", hosts, tc.hosts)
			}
		})
	}
}

func TestConnsPerTarget(t *testing.T) {
	for _, tc := range []struct {
		conns, targets int
		want           []int
	}{
		{conns: 64, targets: 1, want: []int{64}},
		{conns: 64, targets: 2, want: []int{32, 32}},
		{conns: 7, targets: 2, want: []int{4, 3}},
		{conns: 10, targets: 3, want: []int{4, 3, 3}},
		{conns: 2, targets: 2, want: []int{1, 1}},
	} {
		got := connsPerTarget(tc.conns, tc.targets)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%d connections over %d targets: %v, want %v", tc.conns, tc.targets, got, tc.want)
		}
	}
}

// Two targets: every connection sticks to its own, both answer, the per-target counts add up to
// the totals, and a target that answers wrongly has the errors charged to it alone.
func TestTwoTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts runtimes")
	}
	good, other := serveRuntime(t), serveRuntime(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wrong := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"replies":[],"enqueued":[]}`)
	}}
	go wrong.Serve(ln)
	t.Cleanup(func() { _ = wrong.Shutdown() })
	bad := &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/v1/webhooks/custom/default"}

	for _, tc := range []struct {
		name      string
		second    *url.URL
		preflight bool
	}{
		{name: "two runtimes", second: other, preflight: true},
		{name: "a wrong second target", second: bad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(good, 0)
			cfg.conns = 5
			cfg.targets = []*url.URL{good, tc.second}
			if err := preflight(cfg); (err == nil) != tc.preflight {
				t.Fatalf("preflight: %v", err)
			}
			// The preflight sends the whole mix to each target and stops at the first wrong answer.
			want := []int{len(cfg.msgs), 1}
			if tc.preflight {
				want[1] = len(cfg.msgs)
			}
			if fmt.Sprint(cfg.preflightSent) != fmt.Sprint(want) {
				t.Errorf("preflight sent %v, want %v", cfg.preflightSent, want)
			}
			r := run(cfg, 1)
			if len(r.byTarget) != 2 {
				t.Fatalf("%d per-target counts", len(r.byTarget))
			}
			var sum targetCount
			for _, tc := range r.byTarget {
				sum.messages += tc.messages
				sum.sent += tc.sent
				sum.errors += tc.errors
			}
			if sum.messages != r.messages || sum.sent != r.sent || sum.errors != r.errorCount() {
				t.Errorf("per target %+v do not add up to %s", r.byTarget, r.line("run"))
			}
			first, second := r.byTarget[0], r.byTarget[1]
			if first.messages == 0 || second.messages == 0 || first.errors != 0 {
				t.Errorf("per target %+v", r.byTarget)
			}
			if wantErrs := !tc.preflight; (second.errors == second.sent) != wantErrs || (second.errors > 0) != wantErrs {
				t.Errorf("second target %+v, want every answer wrong: %v", second, wantErrs)
			}
		})
	}
}
