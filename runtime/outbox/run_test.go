package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/outbox"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlite"
)

// gatedStore holds every write that records an effect's result (a
// group commit, CompleteEffect) until open is closed, whatever the
// caller's context says: a store whose commits are slow.
type gatedStore struct {
	store.Store
	open    chan struct{}
	waiting atomic.Int32 // writes held now
}

func (g *gatedStore) hold() {
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	<-g.open
}

func (g *gatedStore) Commit(ctx context.Context, b *store.Batch) ([]store.UnitResult, error) {
	g.hold()
	return g.Store.Commit(ctx, b)
}

func (g *gatedStore) CompleteEffect(ctx context.Context, id string, result json.RawMessage) error {
	g.hold()
	return g.Store.CompleteEffect(context.WithoutCancel(ctx), id, result)
}

// counter counts the sends begun and done, and how many were under way at
// most at once; each takes hold.
type counter struct {
	texter
	hold                   time.Duration
	began, sent, now, most atomic.Int32
}

func (c *counter) Send(context.Context, *connectors.Outbound) (string, error) {
	c.began.Add(1)
	n := c.now.Add(1)
	for m := c.most.Load(); n > m && !c.most.CompareAndSwap(m, n); m = c.most.Load() {
	}
	time.Sleep(c.hold)
	c.now.Add(-1)
	c.sent.Add(1)
	return "", nil
}

// rig is a SQLite store behind a gatedStore, with n sends queued on one
// conversation of custom/default (written around the gate).
type rig struct {
	st    store.Store
	gated *gatedStore
	core  *execution.Core
	ids   []string
}

func newRig(t *testing.T, n int) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := &gatedStore{Store: st, open: make(chan struct{})}
	gc := store.NewGroupCommitter(g, store.GroupOptions{})
	t.Cleanup(func() {
		g.release()
		gc.Close()
	})
	r := &rig{st: st, gated: g, core: execution.New(execution.Config{Store: g, Committer: gc})}
	route := effect.Route{ConversationID: "c1", ContactID: "p1", Connector: "custom", Instance: "default", Channel: "sms", Address: "+100"}
	u := &store.Unit{At: time.Now(), Contact: &store.NewContact{ID: "p1", Channel: "sms", Address: "+100"},
		Conversation: &store.NewConversation{ID: "c1", ContactID: "p1", Channel: "sms", Instance: "default"}}
	for i := range n {
		e := engine.Effect{Kind: engine.EffectSend, Key: fmt.Sprintf("k%d", i), Send: &engine.SendEffect{Channel: "sms", Text: "hello"}}
		payload, _ := json.Marshal(effect.OutboxPayload{Route: route, Effect: e})
		id := store.NewID()
		r.ids = append(r.ids, id)
		u.Effects = append(u.Effects, store.Effect{ID: id, Kind: string(e.Kind), IdempotencyKey: e.Key, Payload: payload})
	}
	if res, err := st.Commit(ctx, &store.Batch{Units: []*store.Unit{u}}); err != nil || res[0].Outcome != store.Committed {
		t.Fatalf("queueing the sends: %+v %v", res, err)
	}
	return r
}

func (g *gatedStore) release() {
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// start runs o with workers until the test ends; stop cancels it and
// returns a channel closed when Run has returned.
func start(t *testing.T, o *outbox.Outbox, workers int) (stop func() <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Run(ctx, workers, nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() <-chan struct{} { cancel(); return done }
}

// eventually fails the test unless cond holds within 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (r *rig) status(t *testing.T, id string) store.EffectStatus {
	t.Helper()
	e, err := r.st.GetEffect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e.Status
}

// One worker performs every send while the commit recording the first is
// held: recording a result does not hold the worker, and the results all
// commit once the store answers.
func TestRecordingDoesNotHoldWorkers(t *testing.T) {
	const n = 3
	r := newRig(t, n)
	ch := &counter{}
	o := outbox.New(r.core, outbox.Config{Owner: "t", Channels: map[string]connectors.Connector{"custom/default": ch}})
	start(t, o, 1)
	eventually(t, "every send performed with the first one's commit held", func() bool { return ch.sent.Load() == n })
	if r.gated.waiting.Load() == 0 {
		t.Fatal("no commit was held")
	}
	for _, id := range r.ids {
		if s := r.status(t, id); s != store.EffectLeased {
			t.Fatalf("effect %s is %s before its result committed", id, s)
		}
	}
	r.gated.release()
	eventually(t, "every result committed", func() bool {
		for _, id := range r.ids {
			if r.status(t, id) != store.EffectDone {
				return false
			}
		}
		return true
	})
}

// Workers bound the effects being performed at once, as before: the
// platform sees no more concurrent sends than that.
func TestWorkersBoundThePlatformsConcurrency(t *testing.T) {
	const n, workers = 40, 3
	r := newRig(t, n)
	r.gated.release()
	ch := &counter{hold: 5 * time.Millisecond}
	o := outbox.New(r.core, outbox.Config{Owner: "t", Channels: map[string]connectors.Connector{"custom/default": ch}})
	start(t, o, workers)
	eventually(t, "every send performed", func() bool { return ch.sent.Load() == n })
	if m := ch.most.Load(); m != workers {
		t.Errorf("%d sends at once with %d workers", m, workers)
	}
}

// Run returns only once the results being recorded are written: a row
// performed is not left for another node to perform again after its lease
// because its owner stopped while recording it.
func TestRunWaitsForRecording(t *testing.T) {
	r := newRig(t, 0)
	var handled sync.WaitGroup
	handled.Add(1)
	o := outbox.New(r.core, outbox.Config{Owner: "t", Handlers: map[string]outbox.Handler{
		"test": func(context.Context, store.Effect) error { handled.Done(); return nil },
	}})
	id := store.NewID()
	u := &store.Unit{At: time.Now(), Effects: []store.Effect{{ID: id, Kind: "test", IdempotencyKey: "h1", Payload: []byte(`{}`)}}}
	if _, err := r.st.Commit(context.Background(), &store.Batch{Units: []*store.Unit{u}}); err != nil {
		t.Fatal(err)
	}
	stop := start(t, o, 2)
	handled.Wait()
	eventually(t, "the result's write", func() bool { return r.gated.waiting.Load() == 1 })
	done := stop()
	select {
	case <-done:
		t.Fatal("Run returned while a result was being written")
	case <-time.After(100 * time.Millisecond):
	}
	r.gated.release()
	<-done
	if s := r.status(t, id); s != store.EffectDone {
		t.Fatalf("the handled row is %s", s)
	}
}

// A claimed row that waited too long for a worker (the platform slowed
// down after a fast claim) is not started near the end of its lease: it is
// left leased, for a claim after its lease.
func TestStaleRowsAreNotStarted(t *testing.T) {
	outbox.SetStaleAfter(t, 50*time.Millisecond)
	r := newRig(t, 3)
	r.gated.release()
	ch := &counter{hold: 200 * time.Millisecond}
	o := outbox.New(r.core, outbox.Config{Owner: "t", Channels: map[string]connectors.Connector{"custom/default": ch}})
	start(t, o, 1)
	eventually(t, "the first send's result", func() bool { return r.status(t, r.ids[0]) == store.EffectDone })
	time.Sleep(100 * time.Millisecond)
	if n := ch.began.Load(); n != 1 {
		t.Fatalf("%d sends begun, the stale rows included", n)
	}
	for _, id := range r.ids[1:] {
		if s := r.status(t, id); s != store.EffectLeased {
			t.Errorf("stale row %s is %s", id, s)
		}
	}
}
