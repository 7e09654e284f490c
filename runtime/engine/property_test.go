package engine_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// world plays the runtime's part for one execution: it keeps the armed
// timers and open tasks and checks, after every step, the invariants the
// runtime relies on.
type world struct {
	t       *testing.T
	prog    *compiler.Program
	x       *engine.Execution
	now     time.Time
	armed   map[string]bool // timers set and not yet cancelled or fired
	ended   map[string]bool // timers cancelled or fired
	tasks   map[string]bool // tasks enqueued and not yet ended or canceled
	results map[string]bool // waits whose result came back
}

func (w *world) apply(effects []engine.Effect, trace []string) {
	w.t.Helper()
	fail := func(format string, args ...any) {
		w.t.Fatalf("%s\ntrace:\n%v", fmt.Sprintf(format, args...), trace)
	}
	ended := false
	for _, e := range effects {
		if ended {
			fail("effect %s after end", e.Kind)
		}
		switch e.Kind {
		case engine.EffectSetTimer:
			if w.armed[e.Timer.ID] || w.ended[e.Timer.ID] {
				fail("timer %s set twice", e.Timer.ID)
			}
			if !e.Timer.At.After(w.now) {
				fail("timer %s set in the past", e.Timer.ID)
			}
			w.armed[e.Timer.ID] = true
		case engine.EffectCancelTimer:
			if !w.armed[e.Timer.ID] {
				fail("timer %s cancelled but not armed", e.Timer.ID)
			}
			delete(w.armed, e.Timer.ID)
			w.ended[e.Timer.ID] = true
		case engine.EffectEnqueue:
			if w.tasks[e.Enqueue.TaskID] {
				fail("task %s enqueued twice", e.Enqueue.TaskID)
			}
			w.tasks[e.Enqueue.TaskID] = true
		case engine.EffectCancelTask:
			if !w.tasks[e.TaskID] {
				fail("task %s cancelled but not open", e.TaskID)
			}
			delete(w.tasks, e.TaskID)
		case engine.EffectEnd:
			ended = true
		}
	}
	switch w.x.Status {
	case engine.StatusWaiting:
		if w.x.Wait == nil {
			fail("waiting with no wait")
		}
		if w.x.Wait.Timer != "" && !w.armed[w.x.Wait.Timer] {
			fail("waits on timer %s that is not armed", w.x.Wait.Timer)
		}
		if len(w.armed) > 1 {
			fail("%d timers armed at once: %v", len(w.armed), w.armed)
		}
		if w.x.Wait.Task == "" && len(w.tasks) > 0 || len(w.tasks) > 1 {
			fail("tasks open outside their wait: %v", w.tasks)
		}
	case engine.StatusEnded, engine.StatusFailed:
		if w.x.Wait != nil || !ended && len(effects) > 0 {
			fail("ended with wait %v, end effect %v", w.x.Wait, ended)
		}
		if len(w.armed) > 0 || len(w.tasks) > 0 {
			fail("ended with timers %v and tasks %v still open", w.armed, w.tasks)
		}
	default:
		fail("status %s after a step", w.x.Status)
	}
}

var texts = []string{"hi", "live agent", "LIVE AGENT please", "1", "2", "3", "yes", "no", "reschedule", "", "agent"}

// randomEvent picks what happens next: usually what the execution waits
// for, sometimes something stale or unrelated.
func (w *world) randomEvent(rng *rand.Rand) engine.Event {
	w.now = w.now.Add(time.Duration(rng.Intn(600)) * time.Second)
	ev := engine.Event{Now: w.now, Env: map[string]string{"BOT_URL": "http://bot", "CRM_URL": "http://crm"},
		Contact:      compiler.Contact{ID: "c1", Name: "Ana", Attributes: map[string]any{"vip": rng.Intn(2) == 0}},
		Conversation: compiler.Conversation{ID: "conv1", Channel: "webchat"}}
	var wait *engine.Wait
	if w.x != nil {
		wait = w.x.Wait
	}
	switch n := rng.Intn(20); {
	case n < 5:
		ev.Kind = engine.EventInbound
		ev.Message = &compiler.Message{ID: fmt.Sprint("m", rng.Int()), Channel: "webchat", Text: texts[rng.Intn(len(texts))]}
	case n < 10 && wait != nil:
		ev.Kind = engine.EventResult
		ev.WaitID = wait.ID
		if rng.Intn(5) == 0 {
			ev.WaitID = wait.ID + "-stale"
		}
		res := engine.Result{Status: []int{200, 201, 404, 500}[rng.Intn(4)], Body: `{"reply": "ok", "tier": "gold", "confirmed": true}`,
			Digits: []string{"", "1", "2", "9"}[rng.Intn(4)], Speech: []string{"", "sales", "agent"}[rng.Intn(3)],
			DialStatus: []string{"answered", "busy", "no_answer", "failed"}[rng.Intn(4)], RecordingURL: []string{"", "https://x/r.wav"}[rng.Intn(2)],
			Value: rng.Intn(100)}
		if rng.Intn(4) == 0 {
			res.Err = "boom"
		}
		ev.Result = &res
	case n < 14:
		ev.Kind = engine.EventTimer
		var ids []string
		for id := range w.armed {
			ids = append(ids, id)
		}
		for id := range w.ended {
			ids = append(ids, id) // stale: already fired or cancelled
		}
		if len(ids) == 0 {
			ev.Timer = "none"
		} else {
			ev.Timer = ids[rng.Intn(len(ids))]
		}
		if w.armed[ev.Timer] {
			delete(w.armed, ev.Timer) // the timer row is gone once it fires
			w.ended[ev.Timer] = true
		}
	case n < 19:
		ev.Kind = engine.EventTask
		id := "stale"
		if wait != nil && wait.Task != "" {
			id = wait.Task
		}
		ev.Task = &engine.TaskResult{ID: id, Outcome: []compiler.Outcome{compiler.OutCompleted, compiler.OutCanceled, compiler.OutFailed}[rng.Intn(3)], Worker: "w1"}
		if w.tasks[id] {
			delete(w.tasks, id)
		}
	default:
		ev.Kind = engine.EventCancel
	}
	return ev
}

// TestRandomEventSequences replays random events against every flow that
// ships in flows/ and checks the invariants: one wait at a time, every
// timer cancelled or fired exactly once, no task left open, nothing after
// the end.
func TestRandomEventSequences(t *testing.T) {
	paths, _ := filepath.Glob("../../flows/*.flow")
	var srcs []compiler.Source
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, compiler.Source{Name: p, Src: b})
	}
	// The test's own support flow, renamed, using the shipped workflow.
	flowOnly := support[:strings.Index(support, "queue english")]
	srcs = append(srcs, compiler.Source{Name: "support_test.flow", Src: []byte(strings.Replace(flowOnly, "flow support", "flow engine_support", 1))})
	prog, list := compiler.CompileSources(srcs, compiler.Options{})
	if prog == nil {
		t.Fatalf("flows do not compile: %v", list)
	}
	runs := 0
	for _, f := range prog.Flows {
		if f.Trigger == compiler.TriggerSubflow {
			continue
		}
		for seed := int64(0); seed < 300; seed++ {
			rng := rand.New(rand.NewSource(seed))
			w := &world{t: t, prog: prog, now: t0, armed: map[string]bool{}, ended: map[string]bool{}, tasks: map[string]bool{}, results: map[string]bool{}}
			start := w.randomEvent(rng)
			start.Kind = engine.EventStart
			start.Message = &compiler.Message{ID: "m0", Channel: "webchat", From: "v1", Text: texts[rng.Intn(len(texts))]}
			x, effects, err := engine.Start(prog, f.Name, "x", start)
			if err != nil {
				t.Fatal(err)
			}
			w.x = x
			trace := []string{fmt.Sprintf("start %s %q -> %s", f.Name, start.Message.Text, x.Status)}
			w.apply(effects, trace)
			for i := 0; i < 40 && w.x.Status == engine.StatusWaiting; i++ {
				ev := w.randomEvent(rng)
				x, effects, err := engine.Step(prog, w.x, ev)
				if err != nil {
					t.Fatalf("%s seed %d: %v", f.Name, seed, err)
				}
				trace = append(trace, fmt.Sprintf("%s -> %s %v", ev.Kind, x.Status, len(effects)))
				if x == w.x && len(effects) > 0 {
					t.Fatalf("ignored event produced effects")
				}
				w.x = x
				w.apply(effects, trace)
			}
			runs++
		}
	}
	if runs < 1000 {
		t.Fatalf("only %d runs", runs)
	}
}
