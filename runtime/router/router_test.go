package router

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func en(extra ...any) map[string]any {
	m := map[string]any{"languages": []any{"en"}}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

// TestLifecycle walks each task and reservation transition.
func TestLifecycle(t *testing.T) {
	prog := compile(t, testProgram)
	tests := []struct {
		name string
		run  func(t *testing.T, r *Router, c check) []Event // returns the events of the step under test
		want []EventType
		// after, when set, checks the router afterwards.
		after func(t *testing.T, r *Router)
	}{
		{
			name: "enqueue with no worker waits",
			run: func(t *testing.T, r *Router, c check) []Event {
				return c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(0)))
			},
			want:  []EventType{TaskQueued},
			after: func(t *testing.T, r *Router) { wantInt(t, "waiting", r.Waiting("english"), 1) },
		},
		{
			name: "enqueue offers to an available member",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				return c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
			},
			want:  []EventType{TaskQueued, ReservationCreated},
			after: func(t *testing.T, r *Router) { wantInt(t, "load", r.Load("a", "chat"), 1) },
		},
		{
			name: "worker becoming available takes the waiting task",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "offline", map[string]int{"chat": 1}, at(0)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				return c.ok(r.SetActivity("a", "available", at(2)))
			},
			want: []EventType{WorkerActivity, ReservationCreated},
		},
		{
			name: "accept assigns",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				return c.ok(r.Accept(resOf(evs, "t1"), at(2)))
			},
			want: []EventType{ReservationAccepted},
		},
		{
			name: "bounce of an unreachable worker goes to the next worker, never back",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"voice": 1}, at(0)))
				c.ok(r.AddWorker("b", en(), "available", map[string]int{"voice": 1}, at(1)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "voice", at(2)))
				c.ok(r.Accept(resOf(evs, "t1"), at(3)))
				if _, err := r.Bounce("t2", "no_answer", at(4)); !errors.Is(err, ErrUnknownTask) {
					t.Fatalf("bounce of an unknown task: %v", err)
				}
				evs = c.ok(r.Bounce("t1", "no_answer", at(4)))
				if evs[0].Type != ReservationRejected || evs[0].Worker != "a" || evs[0].Reason != "no_answer" {
					t.Fatalf("bounce event %+v", evs[0])
				}
				if got := offers(evs); !slices.Equal(got, []string{"t1→b"}) {
					t.Fatalf("after bounce %v", got)
				}
				if _, err := r.Bounce("t1", "no_answer", at(5)); !errors.Is(err, ErrState) {
					t.Fatalf("bounce of a reserved task: %v", err)
				}
				return evs
			},
			want: []EventType{ReservationRejected, ReservationCreated},
			after: func(t *testing.T, r *Router) {
				wantInt(t, "a's load", r.Load("a", "voice"), 0)
				wantInt(t, "b's load", r.Load("b", "voice"), 1)
			},
		},
		{
			name: "reject goes to the next worker, never back",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.AddWorker("b", en(), "available", map[string]int{"chat": 1}, at(1)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(2)))
				if got := offers(evs); !slices.Equal(got, []string{"t1→a"}) {
					t.Fatalf("first offer %v", got)
				}
				evs = c.ok(r.Reject(resOf(evs, "t1"), at(3)))
				if got := offers(evs); !slices.Equal(got, []string{"t1→b"}) {
					t.Fatalf("after reject %v", got)
				}
				return c.ok(r.Reject(resOf(evs, "t1"), at(4)))
			},
			want:  []EventType{ReservationRejected}, // nobody left: it waits
			after: func(t *testing.T, r *Router) { wantInt(t, "waiting", r.Waiting("english"), 1) },
		},
		{
			name: "reservation timeout behaves like reject",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.AddWorker("b", en(), "available", map[string]int{"chat": 1}, at(1)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(2)))
				return c.ok(r.Timeout(resOf(evs, "t1"), at(3)))
			},
			want: []EventType{ReservationTimeout, ReservationCreated},
		},
		{
			name: "complete frees capacity and offers the next task at once",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(2)))
				c.ok(r.Accept(resOf(evs, "t1"), at(3)))
				return c.ok(r.Complete("t1", at(4)))
			},
			want: []EventType{ReservationDone, TaskCompleted, ReservationCreated},
		},
		{
			name: "complete before accept is refused",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				if _, err := r.Complete("t1", at(2)); !errors.Is(err, ErrState) {
					t.Fatalf("err = %v", err)
				}
				return nil
			},
		},
		{
			name: "cancel a waiting task",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				return c.ok(r.Cancel("t1", at(2)))
			},
			want:  []EventType{TaskCanceled},
			after: func(t *testing.T, r *Router) { wantInt(t, "waiting", r.Waiting("english"), 0) },
		},
		{
			name: "cancel a pending task frees the worker for the next",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(2)))
				return c.ok(r.Cancel("t1", at(3)))
			},
			want: []EventType{ReservationCanceled, TaskCanceled, ReservationCreated},
		},
		{
			name: "cancel an assigned task",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				c.ok(r.Accept(resOf(evs, "t1"), at(2)))
				return c.ok(r.Cancel("t1", at(3)))
			},
			want:  []EventType{ReservationCanceled, TaskCanceled},
			after: func(t *testing.T, r *Router) { wantInt(t, "load", r.Load("a", "chat"), 0) },
		},
		{
			name: "filter sends vip to vip, escalating on timeout",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				evs := c.ok(r.Enqueue("t1", "support", map[string]any{"vip": true}, 0, "chat", at(1)))
				if q, _, _ := r.TaskQueue("t1"); q != "vip" || len(offers(evs)) != 0 {
					t.Fatalf("queue %q, offers %v", q, offers(evs))
				}
				if evs := r.Tick(at(30)); len(evs) != 0 {
					t.Fatalf("early escalation: %v", evs)
				}
				return r.Tick(at(31))
			},
			want: []EventType{TaskEscalated, TaskQueued, ReservationCreated},
		},
		{
			name: "target priority applies",
			run: func(t *testing.T, r *Router, c check) []Event {
				return c.ok(r.Enqueue("t1", "support", map[string]any{"language": "id"}, 1, "chat", at(1)))
			},
			want: []EventType{TaskQueued},
			after: func(t *testing.T, r *Router) {
				q, p, _ := r.TaskQueue("t1")
				if q != "bahasa" || p != 5 {
					t.Fatalf("queue %q priority %d", q, p)
				}
			},
		},
		{
			name: "pending task escalates when rejected after its target timed out",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("v", en("vip", true), "available", map[string]int{"chat": 1}, at(0)))
				evs := c.ok(r.Enqueue("t1", "support", map[string]any{"vip": true}, 0, "chat", at(1)))
				if len(r.Tick(at(40))) != 0 {
					t.Fatal("pending task escalated")
				}
				return c.ok(r.Reject(resOf(evs, "t1"), at(41)))
			},
			want: []EventType{ReservationRejected, TaskEscalated, TaskQueued},
			after: func(t *testing.T, r *Router) {
				if q, _, _ := r.TaskQueue("t1"); q != "english" {
					t.Fatalf("queue %q", q)
				}
			},
		},
		{
			name: "known worker first, queue after its timeout",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.AddWorker("b", en(), "busy", map[string]int{"chat": 1}, at(0)))
				evs := c.ok(r.Enqueue("t1", "known", map[string]any{"last_worker": "b"}, 0, "chat", at(1)))
				if len(offers(evs)) != 0 {
					t.Fatalf("offered to %v", offers(evs))
				}
				return r.Tick(at(11))
			},
			want: []EventType{TaskEscalated, TaskQueued, ReservationCreated},
		},
		{
			name: "known worker gets it when available",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.AddWorker("b", en(), "busy", map[string]int{"chat": 1}, at(0)))
				c.ok(r.Enqueue("t1", "known", map[string]any{"last_worker": "b"}, 0, "chat", at(1)))
				return c.ok(r.SetActivity("b", "available", at(2)))
			},
			want: []EventType{WorkerActivity, ReservationCreated},
		},
		{
			name: "removing a known worker escalates its tasks",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.AddWorker("b", en(), "busy", map[string]int{"chat": 1}, at(0)))
				c.ok(r.Enqueue("t1", "known", map[string]any{"last_worker": "b"}, 0, "chat", at(1)))
				return c.ok(r.RemoveWorker("b", at(2)))
			},
			want: []EventType{WorkerRemoved, TaskEscalated, TaskQueued, ReservationCreated},
			after: func(t *testing.T, r *Router) {
				if _, err := r.SetActivity("b", "available", at(3)); !errors.Is(err, ErrUnknownWorker) {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name: "a worker holding a reservation cannot be removed",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				if _, err := r.RemoveWorker("a", at(2)); !errors.Is(err, ErrState) {
					t.Fatalf("err = %v", err)
				}
				return nil
			},
		},
		{
			name: "unknown known worker falls through at once",
			run: func(t *testing.T, r *Router, c check) []Event {
				return c.ok(r.Enqueue("t1", "known", map[string]any{"last_worker": "ghost"}, 0, "chat", at(1)))
			},
			want: []EventType{TaskEscalated, TaskQueued},
		},
		{
			name: "capacity per channel: chat 3 holds three, voice separately",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 3, "voice": 1}, at(0)))
				var all []Event
				for i, ch := range []string{"chat", "chat", "chat", "chat", "voice", "voice"} {
					all = append(all, c.ok(r.Enqueue(string(rune('a'+i)), "support", nil, 0, ch, at(i+1)))...)
				}
				return all
			},
			want: []EventType{TaskQueued, ReservationCreated, TaskQueued, ReservationCreated, TaskQueued, ReservationCreated,
				TaskQueued, TaskQueued, ReservationCreated, TaskQueued},
			after: func(t *testing.T, r *Router) {
				wantInt(t, "chat", r.Load("a", "chat"), 3)
				wantInt(t, "voice", r.Load("a", "voice"), 1)
			},
		},
		{
			name: "raising capacity offers at once",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(2)))
				return c.ok(r.SetCapacity("a", map[string]int{"chat": 2}, at(3)))
			},
			want: []EventType{WorkerCapacity, ReservationCreated},
		},
		{
			name: "attributes change moves the worker into a queue",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", map[string]any{"languages": []any{"en"}}, "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.Enqueue("t1", "support", map[string]any{"language": "id"}, 0, "chat", at(1)))
				return c.ok(r.SetAttributes("a", map[string]any{"languages": []any{"id"}}, at(2)))
			},
			want: []EventType{WorkerAttributes, ReservationCreated},
			after: func(t *testing.T, r *Router) {
				if got := r.Members("english"); len(got) != 0 {
					t.Fatalf("english members %v", got)
				}
			},
		},
		{
			name: "max_reserved throttles pending offers",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.AddWorker("b", en(), "available", map[string]int{"chat": 1}, at(0)))
				evs := c.ok(r.Enqueue("t1", "wf_capped", nil, 0, "chat", at(1)))
				if got := c.ok(r.Enqueue("t2", "wf_capped", nil, 0, "chat", at(2))); len(offers(got)) != 0 {
					t.Fatalf("throttle ignored: %v", offers(got))
				}
				return c.ok(r.Accept(resOf(evs, "t1"), at(3)))
			},
			want: []EventType{ReservationAccepted, ReservationCreated},
		},
		{
			name: "unavailable activity gets no offers",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "break", map[string]int{"chat": 1}, at(0)))
				return c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
			},
			want: []EventType{TaskQueued},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(prog)
			got := types(tt.run(t, r, check{t}))
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("events %v\nwant %v", got, tt.want)
			}
			if tt.after != nil {
				tt.after(t, r)
			}
		})
	}
}

func wantInt(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

// TestPriorityThenAge checks that a worker freeing capacity takes the
// highest priority task first, then the oldest, across its queues.
func TestPriorityThenAge(t *testing.T) {
	prog := compile(t, testProgram)
	r := New(prog)
	c := check{t}
	c.ok(r.Enqueue("old-low", "support", nil, 0, "chat", at(1)))
	c.ok(r.Enqueue("new-high", "support", map[string]any{"language": "id"}, 0, "chat", at(2))) // bahasa, priority 5
	c.ok(r.Enqueue("old-high", "support", nil, 5, "chat", at(3)))
	c.ok(r.Enqueue("new-high2", "support", nil, 5, "chat", at(4)))
	c.ok(r.AddWorker("a", map[string]any{"languages": []any{"en", "id"}}, "available", map[string]int{"chat": 1}, at(5)))
	var order []string
	for i := range 4 {
		cur := ""
		for id, tk := range r.tasks {
			if tk.state == statePending {
				cur = id
			}
		}
		order = append(order, cur)
		c.ok(r.Accept(r.tasks[cur].res.id, at(6+i)))
		c.ok(r.Complete(cur, at(6+i)))
	}
	want := []string{"new-high", "old-high", "new-high2", "old-low"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}

// TestStrategies checks the worker each queue strategy picks.
func TestStrategies(t *testing.T) {
	prog := compile(t, testProgram)
	type wk struct {
		id    string
		attrs map[string]any
		at    int
	}
	tests := []struct {
		name     string
		workflow string
		workers  []wk
		capacity int                      // chat capacity of each worker; 0 means 3
		setup    func(r *Router, c check) // before the task under test
		want     []string                 // offers for tasks x1, x2, x3 enqueued one after another
	}{
		{
			name: "longest idle", workflow: "support",
			workers: []wk{{"a", en(), 5}, {"b", en(), 1}, {"c", en(), 3}},
			want:    []string{"x1→b", "x2→c", "x3→a"},
		},
		{
			name: "order by level desc", workflow: "wf_vip", capacity: 1,
			workers: []wk{{"a", en("vip", true, "level", 3), 0}, {"b", en("vip", true, "level", 9), 0}, {"c", en("vip", true, "level", 5), 0}},
			want:    []string{"x1→b", "x2→c", "x3→a"},
		},
		{
			name: "order by level asc, missing value last", workflow: "wf_junior", capacity: 1,
			workers: []wk{{"a", en("level", 3), 0}, {"b", en(), 0}, {"c", en("level", 1), 0}},
			want:    []string{"x1→c", "x2→a", "x3→b"},
		},
		{
			name: "round robin", workflow: "wf_rr",
			workers: []wk{{"a", en(), 0}, {"b", en(), 0}, {"c", en(), 0}},
			want:    []string{"x1→a", "x2→b", "x3→c"},
		},
		{
			name: "least busy", workflow: "wf_busy",
			workers: []wk{{"a", en(), 0}, {"b", en(), 0}, {"c", en(), 0}},
			setup: func(r *Router, c check) {
				// a holds two tasks, b one, c none (capacity 3 each)
				for _, id := range []string{"p1", "p2", "p3"} {
					c.ok(r.Enqueue(id, "support", nil, 0, "chat", at(10)))
				}
				c.ok(r.Cancel("p2", at(11)))
			},
			want: []string{"x1→b", "x2→a", "x3→c"}, // then ties on load go to the longest idle
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(prog)
			c := check{t}
			capacity := tt.capacity
			if capacity == 0 {
				capacity = 3
			}
			for _, w := range tt.workers {
				c.ok(r.AddWorker(w.id, w.attrs, "available", map[string]int{"chat": capacity}, at(w.at)))
			}
			if tt.setup != nil {
				tt.setup(r, c)
			}
			var got []string
			for i, id := range []string{"x1", "x2", "x3"} {
				got = append(got, offers(c.ok(r.Enqueue(id, tt.workflow, nil, 0, "chat", at(20+i))))...)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("offers %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	r := New(compile(t, testProgram))
	c := check{t}
	c.ok(r.AddWorker("a", en(), "available", nil, at(0)))
	for name, err := range map[string]error{
		"dup worker":     second(r.AddWorker("a", en(), "available", nil, at(0))),
		"unknown wf":     second(r.Enqueue("t", "nope", nil, 0, "", at(0))),
		"unknown res":    second(r.Accept("R99", at(0))),
		"unknown task":   second(r.Complete("t9", at(0))),
		"unknown worker": second(r.SetActivity("zz", "available", at(0))),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func second(_ []Event, err error) error { return err }

// TestHoursInFilters checks open(NAME) in a workflow filter against now.
func TestHoursInFilters(t *testing.T) {
	r := New(compile(t, testProgram))
	c := check{t}
	// t0 is Tuesday 10:00 UTC = 17:00 in Jakarta: closed; 09:00 UTC is 16:00: open.
	c.ok(r.Enqueue("late", "hours_wf", nil, 0, "chat", t0))
	c.ok(r.Enqueue("open", "hours_wf", nil, 0, "chat", t0.Add(-time.Hour)))
	for id, want := range map[string]string{"late": "bahasa", "open": "english"} {
		if q, _, _ := r.TaskQueue(id); q != want {
			t.Errorf("%s went to %q, want %q", id, q, want)
		}
	}
}

// TestSetProgram checks a redeploy: membership is recomputed and waiting
// tasks move to the new queue of the same name, or escalate when it is gone.
func TestSetProgram(t *testing.T) {
	r := New(compile(t, `
queue english { workers "en" in worker.languages }
queue gone    { workers false }
workflow w {
  when task.gone == true -> gone timeout 1h, then english
  default english
}`))
	c := check{t}
	c.ok(r.AddWorker("a", map[string]any{"languages": []any{"id"}}, "available", map[string]int{"chat": 1}, at(0)))
	c.ok(r.AddWorker("b", map[string]any{"languages": []any{"id"}}, "available", map[string]int{"chat": 1}, at(0)))
	c.ok(r.Enqueue("t1", "w", nil, 0, "chat", at(1)))
	c.ok(r.Enqueue("t2", "w", map[string]any{"gone": true}, 0, "chat", at(2)))
	evs := r.SetProgram(compile(t, `
queue english { workers "id" in worker.languages }
workflow w { default english }`), at(3))
	if got := offers(evs); !slices.Equal(got, []string{"t1→a", "t2→b"}) {
		t.Fatalf("offers %v (events %v)", got, types(evs))
	}
}

// TestSetProgramLastQueueRemoved: a task whose only queue disappears is
// left unrouted (and can still be canceled) instead of failing.
func TestSetProgramLastQueueRemoved(t *testing.T) {
	r := New(compile(t, `
queue a { workers true }
workflow w { default a }`))
	c := check{t}
	c.ok(r.Enqueue("t1", "w", nil, 0, "chat", at(1)))
	evs := r.SetProgram(compile(t, `
queue b { workers true }
workflow w { default b }`), at(2))
	if got := types(evs); !slices.Equal(got, []EventType{TaskEscalated}) {
		t.Fatalf("events %v", got)
	}
	if got := types(c.ok(r.Cancel("t1", at(3)))); !slices.Equal(got, []EventType{TaskCanceled}) {
		t.Fatalf("cancel events %v", got)
	}
}

// TestSetProgramPendingTaskLosesItsQueues: a pending task whose every
// queue a redeploy removed becomes unrouted when its offer is declined,
// and no leftover deadline or offer state acts on it afterwards.
func TestSetProgramPendingTaskLosesItsQueues(t *testing.T) {
	r := New(compile(t, `
queue a { workers true }
queue b { workers true }
workflow w {
  when true -> a timeout 10s, then b
  default b
}`))
	c := check{t}
	c.ok(r.AddWorker("x", nil, "available", nil, at(0)))
	evs := c.ok(r.Enqueue("t1", "w", nil, 0, "", at(1)))
	r.SetProgram(compile(t, `
queue c { workers true }
workflow w { default c }`), at(2))
	// a timed out (it is gone), then b twice (the filter's target and the default).
	got := types(c.ok(r.Reject(resOf(evs, "t1"), at(3))))
	if want := []EventType{ReservationRejected, TaskEscalated, TaskEscalated, TaskEscalated}; !slices.Equal(got, want) {
		t.Fatalf("reject events %v, want %v", got, want)
	}
	if evs := r.Tick(at(60)); len(evs) != 0 {
		t.Fatalf("tick acted on an unrouted task: %v", types(evs))
	}
	if got := types(c.ok(r.Cancel("t1", at(61)))); !slices.Equal(got, []EventType{TaskCanceled}) {
		t.Fatalf("cancel events %v", got)
	}
}
