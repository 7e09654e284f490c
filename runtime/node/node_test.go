package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/sqlite"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// clock is a settable clock, so timers fire when the test says so.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type rig struct {
	t     *testing.T
	node  *node.Node
	store store.Store
	fake  *connectortest.Fake
	clock *clock
}

func newRig(t *testing.T, src string, env map[string]string) *rig {
	return newRigOn(t, openSQLite(t), src, env)
}

func openSQLite(t *testing.T) store.Store {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eachStore runs the test on SQLite and, when configured, PostgreSQL.
func eachStore(t *testing.T, test func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) { test(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, storetest.OpenPostgres(t)) })
}

func newRigOn(t *testing.T, st store.Store, src string, env map[string]string) *rig {
	t.Helper()
	ctx := context.Background()
	sources := []compiler.Source{{Name: "t.flow", Src: []byte(src)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixNano())
	fake := &connectortest.Fake{Channel: "webchat"}
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources, Env: env, Now: c.now,
		Channels: map[string]connectors.Connector{"fake/default": fake}, RetryBase: time.Millisecond,
		Functions: map[string]node.Function{"double": func(_ context.Context, args map[string]any) (any, error) {
			return args["n"].(float64) * 2, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &rig{t: t, node: n, store: st, fake: fake, clock: c}
}

func (r *rig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.node.Run(ctx, 4); close(done) }()
	r.t.Cleanup(func() { cancel(); <-done })
}

func (r *rig) receive(id, from, text string, inline bool) *node.Reaction {
	r.t.Helper()
	re, err := r.node.Receive(context.Background(), "fake", "default",
		connectors.Inbound{PlatformID: id, Channel: "webchat", From: from, Text: text}, inline)
	if err != nil {
		r.t.Fatal(err)
	}
	return re
}

func (r *rig) waitSent(n int) []connectors.Outbound {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sent, err := r.fake.WaitSent(ctx, n)
	if err != nil {
		r.t.Fatalf("waiting for %d sends: %v (got %d)", n, err, len(r.fake.Sent()))
	}
	return sent
}

func texts(out []connectors.Outbound) []string {
	var s []string
	for _, o := range out {
		s = append(s, o.Text)
	}
	return s
}

const routing = `
flow route {
  start: switch {
    message.text matches "(?i)live agent" -> handoff
    default -> answer
  }
  answer: send "Thanks, a bot will help you" -> done
  handoff: enqueue support_routing
}
queue support { workers true }
workflow support_routing { default support }
`

func TestInlineReplyAndDedupe(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) { testInlineReplyAndDedupe(t, newRigOn(t, st, routing, nil)) })
}

func testInlineReplyAndDedupe(t *testing.T, r *rig) {
	re := r.receive("m1", "alice", "hello", true)
	if len(re.Replies) != 1 || re.Replies[0].Text != "Thanks, a bot will help you" || re.Replies[0].To != "alice" || re.Replies[0].Key == "" {
		t.Fatalf("reaction %+v", re)
	}
	// The same delivery again: nothing done twice, and the same answer,
	// in case the first one was lost on the way.
	again := r.receive("m1", "alice", "hello", true)
	if len(again.Replies) != 1 || again.Replies[0].Key != re.Replies[0].Key || again.Replies[0].Text != re.Replies[0].Text {
		t.Fatalf("redelivery answered %+v, first %+v", again, re)
	}
	re = r.receive("m2", "bob", "LIVE AGENT please", true)
	if len(re.Enqueued) != 1 || re.Enqueued[0].Workflow != "support_routing" {
		t.Fatalf("reaction %+v", re)
	}
	ctx := context.Background()
	tasks, _, err := r.store.ListTasks(ctx, store.TaskWaiting, store.Page{})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks %v %v", tasks, err)
	}
	convs, _, err := r.store.ListConversations(ctx, store.ConversationFilter{}, store.Page{})
	if err != nil || len(convs) != 2 {
		t.Fatalf("conversations %v %v", len(convs), err)
	}
	msgs, _, err := r.store.ListMessages(ctx, tasks[0].ConversationID, store.Page{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("bob's messages %d %v", len(msgs), err)
	}
}

func TestOutboxHTTPFunctionAndSend(t *testing.T) {
	var calls atomic.Int32
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		var body map[string]any
		_ = json.NewDecoder(req.Body).Decode(&body)
		fmt.Fprintf(w, `{"reply": "echo: %v"}`, body["text"])
	}))
	defer bot.Close()
	r := newRig(t, `
flow bot {
  ask_bot: http {
    post "${env.BOT_URL}/reply"
    json {text: message.text}
    error -> sorry
  } -> twice
  twice: function double {
    args {n: 21}
    error -> sorry
  } -> answer
  answer: send "${ask_bot.json.reply} (${twice.result})" -> done
  sorry: send "the bot is down" -> done
}`, map[string]string{"BOT_URL": bot.URL})
	r.run()
	if re := r.receive("m1", "alice", "hi there", false); len(re.Replies) != 0 {
		t.Fatalf("not inline, but replied %+v", re)
	}
	sent := r.waitSent(1)
	if sent[0].Text != "echo: hi there (42)" || sent[0].To != "alice" {
		t.Fatalf("sent %q", texts(sent))
	}
	if calls.Load() != 1 {
		t.Fatalf("bot called %d times", calls.Load())
	}
}

func TestWebhookFunction(t *testing.T) {
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var args map[string]any
		if err := json.NewDecoder(req.Body).Decode(&args); err != nil || req.Method != http.MethodPost {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"tier": "gold", "for": %q}`, args["customer"])
	}))
	defer fn.Close()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sources := []compiler.Source{{Name: "t.flow", Src: []byte(`
flow f {
  lookup: function crm_tier {
    args {customer: message.from}
    error -> done
  } -> tell
  tell: send "${lookup.result.tier} for ${lookup.result.for}" -> done
}`)}}
	prog, _ := compiler.CompileSources(sources, compiler.Options{})
	fake := &connectortest.Fake{Channel: "webchat"}
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources, Channels: map[string]connectors.Connector{"fake/default": fake},
		FunctionURLs: map[string]string{"crm_tier": fn.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Run(runCtx, 2); close(done) }()
	defer func() { cancel(); <-done }()
	if _, err := n.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: "m1", Channel: "webchat", From: "alice", Text: "x"}, false); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	sent, err := fake.WaitSent(wctx, 1)
	if err != nil || sent[0].Text != "gold for alice" {
		t.Fatalf("sent %v %v", texts(sent), err)
	}
}

func TestTimersFire(t *testing.T) {
	eachStore(t, testTimersFire)
}

func testTimersFire(t *testing.T, st store.Store) {
	r := newRigOn(t, st, `
flow confirm {
  ask: ask "Confirm your appointment? (yes/no)" {
    timeout 10m -> reminder
    reply.text == "yes" -> thanks
    reply -> done
  }
  reminder: send "We did not hear back; we will call you." -> done
  thanks: send "See you!" -> done
}`, nil)
	r.run()
	r.receive("m1", "alice", "hi", false)
	r.waitSent(1)
	// Before the timeout nothing happens; after it, the reminder goes out.
	r.clock.advance(9 * time.Minute)
	time.Sleep(300 * time.Millisecond)
	if n := len(r.fake.Sent()); n != 1 {
		t.Fatalf("%d sends before the timeout", n)
	}
	r.clock.advance(2 * time.Minute)
	sent := r.waitSent(2)
	if sent[1].Text != "We did not hear back; we will call you." {
		t.Fatalf("sent %q", texts(sent))
	}
	// A reply in time disarms the timer instead.
	r.receive("m2", "bob", "hi", false)
	r.waitSent(3)
	r.receive("m3", "bob", "yes", false)
	sent = r.waitSent(4)
	r.clock.advance(time.Hour)
	time.Sleep(300 * time.Millisecond)
	if got := texts(r.fake.Sent()); len(got) != 4 || got[3] != "See you!" {
		t.Fatalf("sent %q", got)
	}
}

// countFlow counts the replies to its question in n.
const countFlow = `
flow count {
  var n: number = 0
  loop: ask "say something" {
    timeout 1h -> done
    reply -> bump
  }
  bump: set n = n + 1 -> loop
}`

func TestConcurrentMessagesOneConversation(t *testing.T) {
	eachStore(t, testConcurrentMessagesOneConversation)
}

func testConcurrentMessagesOneConversation(t *testing.T, st store.Store) {
	r := newRigOn(t, st, countFlow, nil)
	r.receive("m0", "alice", "start", false)
	var wg sync.WaitGroup
	for i := 1; i <= 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.receive(fmt.Sprint("m", i), "alice", "x", false)
		}()
	}
	wg.Wait()
	ctx := context.Background()
	convs, _, _ := r.store.ListConversations(ctx, store.ConversationFilter{}, store.Page{})
	live, err := r.store.LiveExecution(ctx, convs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		Frames []struct {
			Vars map[string]any `json:"vars"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(live.Payload, &x); err != nil {
		t.Fatal(err)
	}
	// Every message was applied exactly once, whatever the interleaving.
	if n := x.Frames[0].Vars["n"]; n != 20.0 {
		t.Fatalf("n = %v, want 20", n)
	}
}

// The first messages of a new contact race to create it and its
// conversation in their units: one wins, the others look up and step.
func TestConcurrentFirstMessagesOneContact(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		r := newRigOn(t, st, countFlow, nil)
		const n = 16
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { r.receive(fmt.Sprint("m", i), "bob", "x", false) })
		}
		wg.Wait()
		ctx := context.Background()
		c, err := r.store.LookupContact(ctx, "webchat", "bob")
		if err != nil {
			t.Fatal(err)
		}
		convs, _, err := r.store.ListConversations(ctx, store.ConversationFilter{ContactID: c.ID}, store.Page{})
		if err != nil || len(convs) != 1 {
			t.Fatalf("conversations %+v, %v; want one", convs, err)
		}
		msgs, _, err := r.store.ListMessages(ctx, convs[0].ID, store.Page{Limit: 100})
		if err != nil || len(msgs) != n {
			t.Fatalf("%d messages, %v; want %d", len(msgs), err, n)
		}
		live, err := r.store.LiveExecution(ctx, convs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if live.Version != n {
			t.Fatalf("execution version %d, want %d (one start, %d replies)", live.Version, n, n-1)
		}
	})
}

func TestRunningConversationsKeepTheirVersion(t *testing.T) {
	const v1 = `
flow f {
  q: ask "v1 question" {
    timeout 1h -> done
    reply -> a
  }
  a: send "v1 answer" -> done
}`
	r := newRig(t, v1, nil)
	ctx := context.Background()
	r.receive("m1", "alice", "hi", true)
	r.receive("m1d", "dave", "hi", true)
	// Deploy v2 while alice's and dave's conversations wait on v1.
	sources := []compiler.Source{{Name: "t.flow", Src: []byte(strings.ReplaceAll(v1, "v1", "v2"))}}
	prog, _ := compiler.CompileSources(sources, compiler.Options{})
	if err := r.node.Deploy(ctx, prog, sources); err != nil {
		t.Fatal(err)
	}
	if re := r.receive("m2", "alice", "yes", true); len(re.Replies) != 1 || re.Replies[0].Text != "v1 answer" {
		t.Fatalf("alice: %+v", re.Replies)
	}
	if re := r.receive("m3", "bob", "hi", true); len(re.Replies) != 1 || re.Replies[0].Text != "v2 question" {
		t.Fatalf("bob: %+v", re.Replies)
	}
	// A node restarted with v2 still finishes v1 executions, from the
	// stored sources.
	r2, err := node.New(ctx, node.Config{Store: r.store, Program: prog, Sources: sources, Now: r.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	re, err := r2.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: "m5", Channel: "webchat", From: "dave", Text: "ok"}, true)
	if err != nil || len(re.Replies) != 1 || re.Replies[0].Text != "v1 answer" {
		t.Fatalf("dave on the new node: %+v %v", re, err)
	}
	re, err = r2.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: "m6", Channel: "webchat", From: "bob", Text: "ok"}, true)
	if err != nil || len(re.Replies) != 1 || re.Replies[0].Text != "v2 answer" {
		t.Fatalf("bob on the new node: %+v %v", re, err)
	}
}

// A node whose store does not know an address yet (another process stored
// it on the same SQLite file) still files the message under the contact
// that has it: the first attempt skips the lookup, its unit finds the
// address taken, and the next attempt looks it up.
func TestAddressStoredByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	other := openSQLite(t)
	st, err := other.(store.Reopener).Reopen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	filter := st.(store.AddressFilter)
	for deadline := time.Now().Add(10 * time.Second); filter.MayHaveAddress("webchat", "nobody"); {
		if time.Now().After(deadline) {
			t.Fatal("the store's address filter never answered")
		}
		time.Sleep(time.Millisecond)
	}
	// The other process stores contacts; this one's filter has not seen them.
	address, contactID := "", ""
	for i := range 8 {
		a := fmt.Sprint("carol-", i)
		c, err := other.ResolveContact(ctx, "webchat", a, "Carol")
		if err != nil {
			t.Fatal(err)
		}
		if address == "" && !filter.MayHaveAddress("webchat", a) { // not one of its rare false "maybe"
			address, contactID = a, c.ID
		}
	}
	if address == "" {
		t.Fatal("the filter knew every address another process stored")
	}
	r := newRigOn(t, st, routing, nil)
	re := r.receive("m1", address, "hello", true)
	if len(re.Replies) != 1 {
		t.Fatalf("reaction %+v", re)
	}
	c, err := st.LookupContact(ctx, "webchat", address)
	if err != nil || c.ID != contactID {
		t.Fatalf("contact %+v, %v; want %s", c, err, contactID)
	}
	convs, _, err := st.ListConversations(ctx, store.ConversationFilter{ContactID: contactID}, store.Page{})
	if err != nil || len(convs) != 1 {
		t.Fatalf("conversations of the contact: %+v, %v; want one", convs, err)
	}
	if !filter.MayHaveAddress("webchat", address) {
		t.Error("the filter still says no after the address was found taken")
	}
}
