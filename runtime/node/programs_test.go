package node_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/internal/flowgen"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// sizeableProgram is version v of a program of flows×steps generated steps
// (for sms and whatsapp: the bulk of a real program's memory) and one
// webchat flow that says its version: it answers "wait" with a question
// and the answer with thanks, anything else with bye.
func sizeableProgram(v, flows, steps int) []compiler.Source {
	var b bytes.Buffer
	fmt.Fprintf(&b, `flow chat {
  trigger message
  channels webchat
  start: switch {
    message.text == "wait" -> question
    default -> bye
  }
  question: ask "v%d: your name?" {
    timeout 1h -> done
    reply -> thanks
  }
  thanks: send "v%d: thanks" -> done
  bye: send "v%d: bye" -> done
}
`, v, v, v)
	for f := 0; f < flows; f++ {
		flowgen.Flow(&b, f, steps, flowgen.Options{Channels: "sms, whatsapp", Tries: v})
	}
	return []compiler.Source{{Name: "gen.flow", Src: b.Bytes()}}
}

func compileSources(t testing.TB, sources []compiler.Source) *compiler.Program {
	t.Helper()
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	return prog
}

// startNode runs a node of the flow src with cfg (its program and sources
// filled in), closed when the test ends.
func startNode(t *testing.T, src string, cfg node.Config) *node.Node {
	t.Helper()
	cfg.Sources = []compiler.Source{{Name: "t.flow", Src: []byte(src)}}
	cfg.Program = compileSources(t, cfg.Sources)
	n, err := node.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// nodesOn returns a start that runs a node of the given program on st, its
// one channel fake, closed when the test ends.
func nodesOn(t *testing.T, st store.Store, fake *connectortest.Fake) func(sources []compiler.Source) *node.Node {
	return func(sources []compiler.Source) *node.Node {
		n, err := node.New(context.Background(), node.Config{Store: st, Program: compileSources(t, sources), Sources: sources,
			Channels: map[string]connectors.Connector{"fake/default": fake}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// deploys deploys versions 2..versions+1 of sizeableProgram on a node
// started with version 1, with a conversation on each version that ends,
// and returns the live heap's growth over the deploys.
func deploys(t testing.TB, n *node.Node, versions, flows, steps int, chat func(id, from, text string) string) uint64 {
	t.Helper()
	ctx := context.Background()
	before := liveHeap()
	for v := 2; v <= versions+1; v++ {
		sources := sizeableProgram(v, flows, steps)
		if err := n.Deploy(ctx, compileSources(t, sources), sources); err != nil {
			t.Fatal(err)
		}
		if got, want := chat(fmt.Sprint("bye-", v), fmt.Sprint("visitor-", v), "hi"), fmt.Sprintf("v%d: bye", v); got != want {
			t.Fatalf("a conversation on version %d: %q, want %q", v, got, want)
		}
	}
	after := liveHeap()
	if after < before {
		return 0
	}
	return after - before
}

// TestDeploysKeepOnlyProgramsInUse deploys 20 versions of a sizeable
// program, each used by a conversation that ends: the node keeps the
// active version and the one a waiting execution uses, not all 21, and the
// live heap grows by less than three versions' worth (it grew by 20). The
// waiting execution then goes on on its version, on this node and on a
// node started afresh on the same store, which compiles it again.
func TestDeploysKeepOnlyProgramsInUse(t *testing.T) {
	const versions, flows, steps = 20, 10, 60
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		first := sizeableProgram(1, flows, steps)
		fake := &connectortest.Fake{Channel: "webchat"}
		start := nodesOn(t, st, fake)
		n := start(first)
		chatOn := func(n *node.Node) func(id, from, text string) string {
			return func(id, from, text string) string {
				re, err := n.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: id, Channel: "webchat", From: from, Text: text}, true)
				if err != nil {
					t.Fatal(err)
				}
				if len(re.Replies) != 1 {
					t.Fatalf("%s: replies %+v", id, re.Replies)
				}
				return re.Replies[0].Text
			}
		}
		chat := chatOn(n)
		if got := chat("q-1", "waiting", "wait"); got != "v1: your name?" {
			t.Fatalf("question %q", got)
		}

		// What one version weighs, held alive.
		base := liveHeap()
		one := compileSources(t, sizeableProgram(0, flows, steps))
		perVersion := liveHeap() - base
		runtime.KeepAlive(one)
		one = nil

		grew := deploys(t, n, versions, flows, steps, chat)
		t.Logf("live heap grew by %.1f MB over %d deploys; one version is %.1f MB", float64(grew)/1e6, versions, float64(perVersion)/1e6)
		v1, last := compileSources(t, first).Version, n.Active().Version
		if held := n.HeldVersions(); !slices.Equal(held, sortedOf(v1, last)) {
			t.Errorf("the node holds %d versions %v, want the waiting execution's and the active one", len(held), held)
		}
		if grew > 3*perVersion {
			t.Errorf("live heap grew by %d bytes over %d deploys: more than 3 versions of %d bytes", grew, versions, perVersion)
		}

		// A node started afresh holds only the active version: the waiting
		// execution's is compiled again when its answer comes.
		fresh := start(sizeableProgram(versions+1, flows, steps))
		if held := fresh.HeldVersions(); !slices.Equal(held, []string{last}) {
			t.Fatalf("a fresh node holds %v, want only the active %s", held, last)
		}
		if got := chatOn(fresh)("a-1", "waiting", "Ann"); got != "v1: thanks" {
			t.Fatalf("the answer on version 1 after %d deploys: %q, want %q", versions, got, "v1: thanks")
		}
		// Its execution has ended: the next deploy drops version 1 again.
		if err := fresh.Deploy(ctx, n.Active(), sizeableProgram(versions+1, flows, steps)); err != nil {
			t.Fatal(err)
		}
		if held := fresh.HeldVersions(); !slices.Equal(held, []string{last}) {
			t.Fatalf("after the execution ended the fresh node holds %v, want only %s", held, last)
		}
	})
}

func sortedOf(vs ...string) []string {
	slices.Sort(vs)
	return slices.Compact(vs)
}

// countingStore counts the reads of stored programs and of last workers.
// A router leader also needs its store's leases and wake-ups, which
// embedding the interface would hide.
type countingStore struct {
	store.Store
	gets        atomic.Int32
	lastWorkers atomic.Int32
}

func (s *countingStore) GetProgram(ctx context.Context, version string) (store.Program, error) {
	s.gets.Add(1)
	return s.Store.GetProgram(ctx, version)
}

func (s *countingStore) LastWorker(ctx context.Context, contactID string) (string, error) {
	s.lastWorkers.Add(1)
	return s.Store.LastWorker(ctx, contactID)
}

func (s *countingStore) TryLead(ctx context.Context, name string) (store.Lease, bool, error) {
	return s.Store.(store.Leaser).TryLead(ctx, name)
}

func (s *countingStore) Notify(ctx context.Context, topic string) error {
	return s.Store.(store.Notifier).Notify(ctx, topic)
}

func (s *countingStore) Subscribe(topic, party string) (<-chan struct{}, func()) {
	return s.Store.(store.Notifier).Subscribe(topic, party)
}

// TestRecompileOnce: conversations waiting on a version the node does not
// hold answer at the same time; the version is compiled once for all.
func TestRecompileOnce(t *testing.T) {
	const waiting = 8
	ctx := context.Background()
	st := &countingStore{Store: openSQLite(t)}
	fake := &connectortest.Fake{Channel: "webchat"}
	start := nodesOn(t, st, fake)
	old := start(sizeableProgram(1, 2, 12))
	for i := range waiting {
		if _, err := old.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: fmt.Sprint("q", i), Channel: "webchat",
			From: fmt.Sprint("visitor-", i), Text: "wait"}, true); err != nil {
			t.Fatal(err)
		}
	}
	n := start(sizeableProgram(2, 2, 12))
	st.gets.Store(0)
	var wg sync.WaitGroup
	replies := make([]string, waiting)
	for i := range waiting {
		wg.Go(func() {
			re, err := n.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: fmt.Sprint("a", i), Channel: "webchat",
				From: fmt.Sprint("visitor-", i), Text: "Ann"}, true)
			if err != nil {
				t.Error(err)
				return
			}
			if len(re.Replies) == 1 {
				replies[i] = re.Replies[0].Text
			}
		})
	}
	wg.Wait()
	for i, r := range replies {
		if r != "v1: thanks" {
			t.Errorf("conversation %d answered %q, want %q", i, r, "v1: thanks")
		}
	}
	if got := st.gets.Load(); got != 1 {
		t.Errorf("version 1 was read from the store %d times for %d conversations, want once", got, waiting)
	}
}

// BenchmarkDeploys deploys 20 versions of a program of 5,000 steps (50
// flows of 100, the size of compiler.BenchmarkCompile's), with the outbox
// and the router leader running as under serve, each version used by a
// conversation that ends, and reports the live heap after them and its
// growth over them.
func BenchmarkDeploys(b *testing.B) {
	const versions, flows, steps = 20, 50, 100
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		first := sizeableProgram(1, flows, steps)
		st, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "sb.db"))
		if err != nil {
			b.Fatal(err)
		}
		n, err := node.New(ctx, node.Config{Store: st, Program: compileSources(b, first), Sources: first,
			Channels: map[string]connectors.Connector{"fake/default": &connectortest.Fake{Channel: "webchat"}}})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{}, 2)
		go func() { n.Run(ctx, 2); done <- struct{}{} }()
		go func() { n.RunRouter(ctx); done <- struct{}{} }()
		grew := deploys(b, n, versions, flows, steps, func(id, from, text string) string {
			re, err := n.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: id, Channel: "webchat", From: from, Text: text}, true)
			if err != nil || len(re.Replies) != 1 {
				b.Fatalf("%s: %v %+v", id, err, re)
			}
			return re.Replies[0].Text
		})
		b.ReportMetric(float64(liveHeap())/1e6, "MB-heap-after")
		b.ReportMetric(float64(grew)/1e6, "MB-heap-growth")
		cancel()
		<-done
		<-done
		n.Close()
		st.Close()
	}
}

// TestPruneAfterExecutionsEnd: a version kept at a deploy for a waiting
// execution is dropped by the periodic check once that execution ends,
// without another deploy.
func TestPruneAfterExecutionsEnd(t *testing.T) {
	old := node.SetPruneEvery(20 * time.Millisecond)
	t.Cleanup(func() { node.SetPruneEvery(old) }) // last: after the node stopped
	ctx := context.Background()
	first := sizeableProgram(1, 1, 6)
	n, err := node.New(ctx, node.Config{Store: openSQLite(t), Program: compileSources(t, first), Sources: first,
		Channels: map[string]connectors.Connector{"fake/default": &connectortest.Fake{Channel: "webchat"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { n.Run(runCtx, 1); close(ran) }()
	t.Cleanup(func() { cancel(); <-ran })
	say := func(id, text string) string {
		re, err := n.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: id, Channel: "webchat", From: "ann", Text: text}, true)
		if err != nil || len(re.Replies) != 1 {
			t.Fatalf("%s: %v %+v", id, err, re)
		}
		return re.Replies[0].Text
	}
	if got := say("q", "wait"); got != "v1: your name?" {
		t.Fatalf("question %q", got)
	}
	second := sizeableProgram(2, 1, 6)
	if err := n.Deploy(ctx, compileSources(t, second), second); err != nil {
		t.Fatal(err)
	}
	v1, v2 := compileSources(t, first).Version, n.Active().Version
	if held := n.HeldVersions(); !slices.Equal(held, sortedOf(v1, v2)) {
		t.Fatalf("after the deploy the node holds %v, want %s (waited on) and %s", held, v1, v2)
	}
	if got := say("a", "Ann"); got != "v1: thanks" {
		t.Fatalf("answer %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(n.HeldVersions(), []string{v2}) {
		if time.Now().After(deadline) {
			t.Fatalf("the execution on %s ended, yet the node still holds %v", v1, n.HeldVersions())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
