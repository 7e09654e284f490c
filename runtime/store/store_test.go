package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := store.NewID()
		if len(id) != 26 || strings.Trim(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
			t.Fatalf("id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	// Sortable by time: an id made a few milliseconds later sorts after.
	first := store.NewID()
	time.Sleep(3 * time.Millisecond)
	if later := store.NewID(); later <= first {
		t.Fatalf("%s made after %s sorts before it", later, first)
	}
}

// gate is a Committer that records each batch and holds the first commit
// until released, so that units pile up behind it.
type gate struct {
	mu      sync.Mutex
	batches [][]*store.Unit
	hold    chan struct{}
	held    chan struct{}
	err     error
}

func (g *gate) Commit(ctx context.Context, b *store.Batch) ([]store.UnitResult, error) {
	g.mu.Lock()
	first := len(g.batches) == 0
	g.batches = append(g.batches, b.Units)
	g.mu.Unlock()
	if first && g.hold != nil {
		close(g.held)
		<-g.hold
	}
	if g.err != nil {
		return nil, g.err
	}
	res := make([]store.UnitResult, len(b.Units))
	for i, u := range b.Units {
		res[i] = store.UnitResult{Outcome: store.Committed}
		if u.Inbound != nil && u.Inbound.Text == "dup" {
			res[i] = store.UnitResult{Outcome: store.Duplicate}
		}
	}
	return res, nil
}

func TestGroupCommitterGroups(t *testing.T) {
	g := &gate{hold: make(chan struct{}), held: make(chan struct{})}
	gc := store.NewGroupCommitter(g, store.GroupOptions{MaxBatch: 8})
	results := make(chan store.UnitResult, 100)
	submit := func(text string) {
		r, err := gc.Submit(context.Background(), &store.Unit{Inbound: &store.Message{Text: text}})
		if err != nil {
			t.Error(err)
		}
		results <- r
	}
	go submit("first")
	<-g.held // the first unit's commit is running: the next ones wait
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i == 5 {
				submit("dup")
			} else {
				submit("x")
			}
		})
	}
	// Wait until all 20 are queued behind the held commit.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("units did not queue")
		}
		if len(results) == 0 && queued(gc) == 20 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(g.hold)
	wg.Wait()
	// The first unit's answer may arrive after others': count all 21.
	dups := 0
	for range 21 {
		if r := <-results; r.Outcome == store.Duplicate {
			dups++
		}
	}
	if dups != 1 {
		t.Fatalf("%d duplicates reported, want 1", dups)
	}
	gc.Close()
	// 1 alone, then the 20 waiting ones in groups of at most 8: 8, 8, 4.
	var sizes []int
	for _, b := range g.batches {
		sizes = append(sizes, len(b))
	}
	if want := []int{1, 8, 8, 4}; !equal(sizes, want) {
		t.Fatalf("batch sizes %v, want %v", sizes, want)
	}
}

func queued(gc *store.GroupCommitter) int { return store.QueuedForTest(gc) }

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGroupCommitterErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	gc := store.NewGroupCommitter(&gate{err: boom}, store.GroupOptions{})
	if _, err := gc.Submit(context.Background(), &store.Unit{}); !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := gc.Submit(ctx, &store.Unit{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Submit: %v", err)
	}
	gc.Close()
	if _, err := gc.Submit(context.Background(), &store.Unit{}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
}

// A unit whose context ends while it waits for its batch is not committed.
func TestGroupCommitterDropsCancelled(t *testing.T) {
	g := &gate{hold: make(chan struct{}), held: make(chan struct{})}
	gc := store.NewGroupCommitter(g, store.GroupOptions{})
	defer gc.Close()
	go gc.Submit(context.Background(), &store.Unit{})
	<-g.held
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := gc.Submit(ctx, &store.Unit{Inbound: &store.Message{Text: "cancelled"}})
		done <- err
	}()
	for queued(gc) != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	close(g.hold)
	gc.Close()
	for _, b := range g.batches[1:] {
		for _, u := range b {
			if u.Inbound != nil && u.Inbound.Text == "cancelled" {
				t.Fatal("a unit cancelled before its batch was committed")
			}
		}
	}
}

func TestOpenSchemes(t *testing.T) {
	var got string
	store.Register("fake", func(ctx context.Context, url string) (store.Store, error) {
		got = url
		return nil, nil
	})
	if _, err := store.Open(context.Background(), "fake://db"); err != nil || got != "fake://db" {
		t.Fatalf("Open(fake://db): %v, driver got %q", err, got)
	}
	_, err := store.Open(context.Background(), "nosuch://db")
	if err == nil || !strings.Contains(err.Error(), `no driver for "nosuch"`) {
		t.Fatalf("unknown scheme: %v", err)
	}
	// A bare path (even with a colon) is a SQLite file: no sqlite driver is
	// imported by this test, so the error names it.
	for _, path := range []string{"switchboard.db", `C:\data\switchboard.db`, "a:b.db"} {
		_, err := store.Open(context.Background(), path)
		if err == nil || !strings.Contains(err.Error(), `no driver for "sqlite"`) {
			t.Fatalf("Open(%q): %v", path, err)
		}
	}
}

func TestMergeAttributes(t *testing.T) {
	got := store.MergeAttributes(json.RawMessage(`{"a":1,"b":{"x":1}}`), json.RawMessage(`{"b":2,"c":[3]}`))
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil || len(m) != 3 || m["a"] != 1.0 || m["c"] == nil {
		t.Fatalf("merged %s", got)
	}
	if got := store.MergeAttributes(json.RawMessage(`{"a":1}`), json.RawMessage(`[1]`)); string(got) != `{"a":1}` {
		t.Fatalf("non-object merge changed keep: %s", got)
	}
}

func TestValidate(t *testing.T) {
	for _, u := range []*store.Unit{
		nil,
		{Inbound: &store.Message{ID: "m"}},
		{Inbound: &store.Message{ID: "m", ConversationID: "c", Direction: store.Outbound}},
		{Messages: []store.Message{{ID: "m", ConversationID: "c"}}},
		{Execution: &store.ExecutionWrite{Execution: store.Execution{ID: "x", ConversationID: "c", Status: "paused"}}},
		{Execution: &store.ExecutionWrite{Expected: -1, Execution: store.Execution{ID: "x", ConversationID: "c", Status: store.ExecutionRunning}}},
		{Effects: []store.Effect{{ID: "e"}}},
		{Timers: []store.Timer{{ID: "t"}}},
		{Tasks: []store.Task{{ID: "t", ConversationID: "c", ContactID: "k"}}},
		{TaskUpdates: []store.TaskUpdate{{ID: "t", Status: "lost"}}},
		{CompleteEffects: []store.EffectResult{{}}},
	} {
		if err := u.Validate(); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", u, err)
		}
	}
	if err := (&store.Unit{}).Validate(); err != nil {
		t.Fatalf("empty unit: %v", err)
	}
}
