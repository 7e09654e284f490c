package pull_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/pull"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/sqlite"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// mailbox is a Puller of one node: it delivers a message when it starts
// and then holds the connection until it must stop.
type mailbox struct {
	node    string
	running *atomic.Int32 // Pulls running on any node
	most    *atomic.Int32 // the most ever running at once
	starts  atomic.Int32
}

func (m *mailbox) Pull(ctx context.Context, deliver func(context.Context, []connectors.Inbound) error) error {
	n := m.running.Add(1)
	defer m.running.Add(-1)
	for {
		if most := m.most.Load(); n <= most || m.most.CompareAndSwap(most, n) {
			break
		}
	}
	start := m.starts.Add(1)
	in := connectors.Inbound{PlatformID: m.node + "-" + string(rune('0'+start)), Channel: "email", From: "ana@example.com", Text: "hello"}
	if err := deliver(ctx, []connectors.Inbound{in}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// TestOneNodePulls: two nodes on one store run an instance's Pull one at
// a time; when the puller's node stops, the other takes over.
func TestOneNodePulls(t *testing.T) {
	each(t, func(t *testing.T, a, b store.Store) {
		var running, most atomic.Int32
		var mu sync.Mutex
		var got []string
		deliver := func(_ context.Context, connector, instance string, in connectors.Inbound) error {
			mu.Lock()
			defer mu.Unlock()
			if connector != "email" || instance != "support" {
				t.Errorf("delivered for %s/%s", connector, instance)
			}
			got = append(got, in.PlatformID)
			return nil
		}
		boxes := map[string]*mailbox{"a": {node: "a", running: &running, most: &most}, "b": {node: "b", running: &running, most: &most}}
		stops := map[string]context.CancelFunc{}
		dones := map[string]chan struct{}{}
		for name, st := range map[string]store.Store{"a": a, "b": b} {
			ctx, cancel := context.WithCancel(context.Background())
			done, box := make(chan struct{}), boxes[name]
			stops[name], dones[name] = cancel, done
			go func() {
				defer close(done)
				pull.Run(ctx, pull.Config{Leaser: st.(store.Leaser), Deliver: deliver, Retry: 20 * time.Millisecond},
					[]pull.Instance{{Connector: "email", Name: "support", Puller: box}})
			}()
		}
		defer func() {
			for name, stop := range stops {
				stop()
				<-dones[name]
			}
		}()
		first := waitFor(t, func() string {
			for name, m := range boxes {
				if m.starts.Load() > 0 {
					return name
				}
			}
			return ""
		})
		time.Sleep(200 * time.Millisecond) // the other node keeps trying meanwhile
		other := map[string]string{"a": "b", "b": "a"}[first]
		if boxes[other].starts.Load() != 0 || most.Load() != 1 {
			t.Fatalf("both nodes pulled: %s started %d times, at most %d at once", other, boxes[other].starts.Load(), most.Load())
		}
		stops[first]()
		<-dones[first]
		waitFor(t, func() string {
			if boxes[other].starts.Load() > 0 {
				return other
			}
			return ""
		})
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 || most.Load() != 1 {
			t.Fatalf("delivered %v, at most %d pulls at once", got, most.Load())
		}
	})
}

// each runs test with two handles of one store: two nodes.
func each(t *testing.T, test func(t *testing.T, a, b store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		path := "sqlite:" + filepath.Join(t.TempDir(), "sb.db")
		a, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		test(t, a, b)
	})
	t.Run("postgres", func(t *testing.T) {
		a := storetest.OpenPostgres(t)
		b, err := a.(store.Reopener).Reopen(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		test(t, a, b)
	})
}

func waitFor(t *testing.T, f func() string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s := f(); s != "" {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out")
	return ""
}

func TestLeaseName(t *testing.T) {
	if got := pull.LeaseName("email", "support.team/1"); got != "pull-email-support-team-1" {
		t.Errorf("LeaseName = %q", got)
	}
}
