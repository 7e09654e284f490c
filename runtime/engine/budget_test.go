package engine_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// loop drives one execution: each round answers what it waits for (a
// customer's reply, a request's result, a timer) the way the runtime would,
// storing and loading the execution in between.
type loop struct {
	t        *testing.T
	prog     *compiler.Program
	x        *engine.Execution
	now      time.Time
	budget   int
	requests []engine.Effect // every http and function effect, in order
	sentAt   []time.Time     // the time of the event that emitted each request
	timers   map[string]time.Time
	end      *engine.EndEffect
}

func (l *loop) event(kind engine.EventKind) engine.Event {
	return engine.Event{Kind: kind, Now: l.now, StepBudget: l.budget, Contact: compiler.Contact{ID: "c1"},
		Conversation: compiler.Conversation{ID: "conv1", Channel: "webchat"}}
}

func (l *loop) take(x *engine.Execution, effects []engine.Effect, err error) {
	l.t.Helper()
	if err != nil {
		l.t.Fatal(err)
	}
	for _, e := range effects {
		switch e.Kind {
		case engine.EffectHTTP, engine.EffectFunction:
			l.requests = append(l.requests, e)
			l.sentAt = append(l.sentAt, l.now)
		case engine.EffectSetTimer:
			l.timers[e.Timer.ID] = e.Timer.At
		case engine.EffectEnd:
			l.end = e.End
		}
	}
	b, err := json.Marshal(x)
	if err != nil {
		l.t.Fatal(err)
	}
	l.x = &engine.Execution{}
	if err := json.Unmarshal(b, l.x); err != nil {
		l.t.Fatal(err)
	}
}

func startLoop(t *testing.T, src, flow string, budget int) *loop {
	t.Helper()
	l := &loop{t: t, prog: compile(t, src), now: t0, budget: budget, timers: map[string]time.Time{}}
	ev := l.event(engine.EventStart)
	ev.Message = &compiler.Message{ID: "m0", Channel: "webchat", Text: "hi"}
	x, effects, err := engine.Start(l.prog, flow, "x1", ev)
	l.take(x, effects, err)
	return l
}

// round answers the wait: a reply from the customer (unless silent: then
// its timeout fires), a request's result (ok or failed), or the timer. A
// request is answered when it is due (its NotBefore), as the outbox would
// perform it.
func (l *loop) round(ok, silent bool) {
	l.t.Helper()
	w := l.x.Wait
	var ev engine.Event
	switch {
	case w.Kind == engine.WaitReply && !silent:
		l.now = l.now.Add(time.Second)
		ev = l.event(engine.EventInbound)
		ev.Message = &compiler.Message{ID: "m", Channel: "webchat", Text: "1234"}
	case w.Kind == engine.WaitTimer || w.Kind == engine.WaitReply:
		l.now = l.timers[w.Timer]
		ev = l.event(engine.EventTimer)
		ev.Timer = w.Timer
	case w.Kind == engine.WaitHTTP || w.Kind == engine.WaitFunction:
		if due := l.requests[len(l.requests)-1].NotBefore; due.After(l.now) {
			l.now = due
		}
		res := &engine.Result{Status: 200, Body: `{"ok":true}`, Value: "found"}
		if !ok {
			res = &engine.Result{Status: 503, Err: "503 Service Unavailable"}
		}
		ev = l.event(engine.EventResult)
		ev.WaitID, ev.Result = w.ID, res
	default:
		l.t.Fatalf("waits for %s", w.Kind)
	}
	x, effects, err := engine.Step(l.prog, l.x, ev)
	l.take(x, effects, err)
}

func (l *loop) live() bool {
	return l.x.Status != engine.StatusEnded && l.x.Status != engine.StatusFailed
}

// TestStepBudget runs flows that loop through waiting steps: those that
// loop on their own fail when their budget is spent, with a reason naming
// the flow, the step and the budget; one driven by the customer's messages
// runs on.
func TestStepBudget(t *testing.T) {
	cases := []struct {
		name     string
		src      string
		budget   int
		ok       bool // requests succeed
		silent   bool // the customer never writes
		rounds   int  // rounds played at most
		requests int  // requests made, when it fails
		fail     string
	}{
		{name: "http retried on error", budget: 5, rounds: 50, requests: 5, src: `
flow f {
  call: http {
    get "http://down.test/"
    error -> call
  } -> done
}`, fail: `^flow f, step call: step budget exceeded: 5 steps ran without a message from the customer$`},
		{name: "http polling on ok", budget: 5, ok: true, rounds: 50, requests: 5, src: `
flow f {
  poll: http {
    get "http://up.test/"
    error -> done
  } -> poll
}`, fail: `^flow f, step poll: step budget exceeded: 5 `},
		{name: "function retried on error", budget: 7, rounds: 50, requests: 7, src: `
flow f {
  lookup: function crm {
    error -> lookup
  } -> done
}`, fail: `^flow f, step lookup: step budget exceeded: 7 `},
		{name: "two requests alternating", budget: 6, rounds: 50, requests: 6, src: `
flow f {
  a: http {
    get "http://a.test/"
    error -> b
  } -> done
  b: http {
    get "http://b.test/"
    error -> a
  } -> done
}`, fail: `^flow f, step a: step budget exceeded: 6 `},
		{name: "wait loop", budget: 4, rounds: 50, src: `
flow f {
  tick: wait 1s -> tock
  tock: set n = n + 1 -> tick
  var n: number = 0
}`, fail: `^flow f, step (tick|tock): step budget exceeded: 4 `},
		{name: "ask timing out into itself", budget: 3, silent: true, rounds: 50, src: `
flow f {
  nag: ask "Still there?" {
    timeout 1m -> nag
    reply -> done
  }
}`, fail: `^flow f, step nag: step budget exceeded: 3 `},
		{name: "subflow called in a loop, within one event", budget: 0, rounds: 0, src: `
flow f {
  again: subflow g -> again
}
flow g {
  trigger subflow
  s: switch {
    default -> done
  }
}`, fail: `^flow (f|g) ran 1000 steps without waiting$|^flow f, step again: step budget exceeded: 1000 `},
		{name: "customer and failing request taking turns", budget: 3, rounds: 60, src: `
flow f {
  q: ask "Your order number?" {
    timeout 1h -> done
    reply -> look
  }
  look: http {
    get "http://shop.test/orders/${q.reply.text}"
    error -> sorry
  } -> done
  sorry: send "The shop does not answer, try again" -> q
}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := startLoop(t, c.src, "f", c.budget)
			for i := 0; i < c.rounds && l.live(); i++ {
				l.round(c.ok, c.silent)
			}
			if c.fail == "" {
				if !l.live() {
					t.Fatalf("status %s after %d requests: %s", l.x.Status, len(l.requests), l.x.Error)
				}
				for i, r := range l.requests {
					if !r.NotBefore.IsZero() {
						t.Errorf("request %d backs off until %s: the customer wrote before it", i, r.NotBefore)
					}
				}
				return
			}
			if l.x.Status != engine.StatusFailed {
				t.Fatalf("status %s after %d requests, want failed", l.x.Status, len(l.requests))
			}
			if !regexp.MustCompile(c.fail).MatchString(l.x.Error) {
				t.Errorf("error %q, want it to match %s", l.x.Error, c.fail)
			}
			if l.end == nil || l.end.Reason != l.x.Error {
				t.Errorf("end effect %+v, want the reason %q", l.end, l.x.Error)
			}
			if l.end != nil && l.end.Code != engine.CodeStepBudget && !regexp.MustCompile("without waiting").MatchString(l.x.Error) {
				t.Errorf("end code %q, want %q", l.end.Code, engine.CodeStepBudget)
			}
			if c.requests > 0 && len(l.requests) != c.requests {
				t.Errorf("%d requests, want %d", len(l.requests), c.requests)
			}
		})
	}
}

// TestRequestBackoff checks the delay of a request step whose requests
// keep failing: it doubles from a second to a minute, a success starts it
// over, and so does a message from the customer.
func TestRequestBackoff(t *testing.T) {
	cases := []struct {
		name string
		src  string
	}{
		{"http", `
flow f {
  call: http {
    get "http://flaky.test/"
    error -> call
  } -> call
}`},
		{"function", `
flow f {
  call: function crm {
    error -> call
  } -> call
}`},
	}
	s := time.Second
	results := []bool{false, false, false, false, false, false, false, false, true, false, false}
	want := []time.Duration{0, s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s, 0, s, 2 * s}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := startLoop(t, c.src, "f", 100)
			for _, ok := range results {
				l.round(ok, false)
			}
			if len(l.requests) != len(want) {
				t.Fatalf("%d requests, want %d", len(l.requests), len(want))
			}
			for i, r := range l.requests {
				var got time.Duration
				if !r.NotBefore.IsZero() {
					got = r.NotBefore.Sub(l.sentAt[i])
				}
				if got != want[i] {
					t.Errorf("request %d: due %s after the result before it, want %s", i, got, want[i])
				}
			}
		})
	}
	// A flow that waits between its retries has waited already: its
	// requests back off only by what its waits fall short of.
	paced := []struct {
		wait string
		want []time.Duration
	}{
		{"1m", []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"1s", []time.Duration{0, 0, s, 3 * s, 7 * s, 15 * s, 31 * s, 59 * s, 59 * s}},
	}
	for _, p := range paced {
		t.Run("retried after wait "+p.wait, func(t *testing.T) {
			l := startLoop(t, `
flow f {
  call: http {
    get "http://flaky.test/"
    error -> pause
  } -> done
  pause: wait `+p.wait+` -> call
}`, "f", 100)
			for len(l.requests) < len(p.want) {
				l.round(false, false)
			}
			for i, r := range l.requests {
				var got time.Duration
				if !r.NotBefore.IsZero() {
					got = r.NotBefore.Sub(l.sentAt[i])
				}
				if got != p.want[i] {
					t.Errorf("request %d: due %s after the step ran, want %s", i, got, p.want[i])
				}
			}
		})
	}
	t.Run("customer wrote", func(t *testing.T) {
		l := startLoop(t, `
flow f {
  call: http {
    get "http://flaky.test/"
    error -> retry
  } -> done
  retry: switch {
    call.status == 503 and tries < 3 -> count
    default -> ask_customer
  }
  count: set tries = tries + 1 -> call
  ask_customer: ask "Still trying. Shall we go on?" {
    timeout 1h -> done
    reply -> reset
  }
  reset: set tries = 0 -> call
  var tries: number = 0
}`, "f", 100)
		for i := 0; i < 9; i++ {
			l.round(false, false)
		}
		var got []time.Duration
		for i, r := range l.requests {
			var d time.Duration
			if !r.NotBefore.IsZero() {
				d = r.NotBefore.Sub(l.sentAt[i])
			}
			got = append(got, d)
		}
		// Four tries, the customer answers, four tries again.
		want := []time.Duration{0, s, 2 * s, 4 * s, 0, s, 2 * s, 4 * s}
		if len(got) != len(want) {
			t.Fatalf("delays %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("delays %v, want %v", got, want)
			}
		}
	})
}
