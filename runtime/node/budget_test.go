package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// dueSpy records when each committed http effect is due, relative to the
// unit that queued it.
type dueSpy struct {
	store.Store
	mu  sync.Mutex
	due []time.Duration
}

func (s *dueSpy) Commit(ctx context.Context, b *store.Batch) ([]store.UnitResult, error) {
	s.mu.Lock()
	for _, u := range b.Units {
		for _, e := range u.Effects {
			if e.Kind == string(engine.EffectHTTP) {
				var d time.Duration
				if !e.NextAttemptAt.IsZero() {
					d = e.NextAttemptAt.Sub(u.At)
				}
				s.due = append(s.due, d)
			}
		}
	}
	s.mu.Unlock()
	return s.Store.Commit(ctx, b)
}

func (s *dueSpy) delays() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.due...)
}

// syncBuffer is a log written by the node's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRunawayRequestLoop runs an http step whose error outcome leads back
// to itself against a server that always fails: each request is due later
// than the one before (the outbox waits for it), and after the step budget
// the execution fails, with the reason stored, logged and counted.
func TestRunawayRequestLoop(t *testing.T) {
	var calls atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	src := `
flow loop {
  call: http {
    get "${env.CRM_URL}/contacts"
    error -> call
  } -> done
}`
	ctx := context.Background()
	sources := []compiler.Source{{Name: "t.flow", Src: []byte(src)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixNano())
	spy := &dueSpy{Store: openSQLite(t)}
	logs := &syncBuffer{}
	reg := &metrics.Registry{}
	const budget = 4
	n, err := node.New(ctx, node.Config{Store: spy, Program: prog, Sources: sources, Now: c.now, StepBudget: budget,
		Env:      map[string]string{"CRM_URL": down.URL},
		Channels: map[string]connectors.Connector{"fake/default": &connectortest.Fake{Channel: "webchat"}},
		Logger:   slog.New(slog.NewTextHandler(logs, nil)), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	r := &rig{t: t, node: n, store: spy, clock: c}
	r.run()
	r.receive("m1", "alice", "hi", false)

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %d requests, due after %v", what, calls.Load(), spy.delays())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second}
	for i := range want {
		waitFor("the request", func() bool { return int(calls.Load()) == i+1 })
		if i+1 < len(want) {
			waitFor("the next request to be queued", func() bool { return len(spy.delays()) == i+2 })
			// Not due yet: the worker must leave it (it polls every 200ms).
			time.Sleep(300 * time.Millisecond)
			if got := calls.Load(); int(got) != i+1 {
				t.Fatalf("request %d made before it was due (%d requests)", i+2, got)
			}
			c.advance(want[i+1])
		}
	}
	var x store.Execution
	waitFor("the execution to fail", func() bool {
		xs, _, err := spy.ListExecutions(ctx, store.ExecutionFilter{}, store.Page{})
		if err != nil || len(xs) != 1 {
			return false
		}
		x = xs[0]
		return x.Status == store.ExecutionStatus(engine.StatusFailed)
	})
	if got := spy.delays(); !slices.Equal(got, want) {
		t.Errorf("requests due after %v, want %v", got, want)
	}
	if calls.Load() != budget {
		t.Errorf("%d requests, want %d", calls.Load(), budget)
	}
	var ex engine.Execution
	if err := json.Unmarshal(x.Payload, &ex); err != nil {
		t.Fatal(err)
	}
	reason := "flow loop, step call: step budget exceeded: 4 steps ran without a message from the customer"
	if ex.Error != reason {
		t.Errorf("stored error %q, want %q", ex.Error, reason)
	}
	waitFor("the log line", func() bool { return strings.Contains(logs.String(), "execution failed") })
	if line := logs.String(); !strings.Contains(line, `flow=loop`) || !strings.Contains(line, "step budget exceeded") {
		t.Errorf("log %q", line)
	}
	var m bytes.Buffer
	reg.Write(&m)
	if !strings.Contains(m.String(), `switchboard_step_budget_exceeded_total{flow="loop"} 1`) {
		t.Errorf("metrics lack the spent budget:\n%s", m.String())
	}
}
