package router

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// step is one table-driven transition: run sets the router up and returns
// the events of the call under test.
type step struct {
	name  string
	opts  []Option
	run   func(t *testing.T, r *Router, c check) []Event
	want  []EventType
	after func(t *testing.T, r *Router)
}

func runSteps(t *testing.T, tests []step) {
	t.Helper()
	prog := compile(t, testProgram)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(prog, tt.opts...)
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

// assign gives task id to worker (who must be the one offered it) and
// accepts at sec.
func assign(t *testing.T, r *Router, c check, id, worker string, sec int) {
	t.Helper()
	evs := c.ok(r.Enqueue(id, "support", nil, 0, "chat", at(sec)))
	if got := offers(evs); !slices.Equal(got, []string{id + "→" + worker}) {
		t.Fatalf("offers %v, want %s→%s", got, id, worker)
	}
	c.ok(r.Accept(resOf(evs, id), at(sec)))
}

func find(t *testing.T, evs []Event, typ EventType) Event {
	t.Helper()
	for _, e := range evs {
		if e.Type == typ {
			return e
		}
	}
	t.Fatalf("no %s in %v", typ, types(evs))
	return Event{}
}

func wantDeadline(t *testing.T, r *Router, want time.Time) {
	t.Helper()
	got, ok := r.NextDeadline()
	if want.IsZero() {
		if ok {
			t.Fatalf("deadline %v, want none", got)
		}
		return
	}
	if !ok || !got.Equal(want) {
		t.Fatalf("deadline %v (%v), want %v", got, ok, want)
	}
}

func TestWrapUpAndTimeouts(t *testing.T) {
	chat1 := map[string]int{"chat": 1}
	runSteps(t, []step{
		{
			name: "wrap-up keeps the worker's capacity",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				assign(t, r, c, "t1", "a", 1)
				c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(2)))
				return c.ok(r.WrapUp("t1", at(3)))
			},
			want: []EventType{TaskWrapping},
			after: func(t *testing.T, r *Router) {
				wantInt(t, "load", r.Load("a", "chat"), 1)
				wantInt(t, "waiting", r.Waiting("english"), 1)
				wantDeadline(t, r, time.Time{})
			},
		},
		{
			name: "completing a wrapping task frees capacity",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				assign(t, r, c, "t1", "a", 1)
				c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(2)))
				c.ok(r.WrapUp("t1", at(3)))
				return c.ok(r.Complete("t1", at(4)))
			},
			want: []EventType{ReservationDone, TaskCompleted, ReservationCreated},
		},
		{
			name: "a pending task cannot wrap up",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				if _, err := r.WrapUp("t1", at(2)); !errors.Is(err, ErrState) {
					t.Fatalf("err = %v", err)
				}
				return nil
			},
		},
		{
			name: "WithWrapUp completes the task when wrap-up runs out",
			opts: []Option{WithWrapUp(time.Minute)},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				assign(t, r, c, "t1", "a", 1)
				c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(2)))
				c.ok(r.WrapUp("t1", at(3)))
				wantDeadline(t, r, at(63))
				if evs := r.Tick(at(62)); len(evs) != 0 {
					t.Fatalf("early: %v", types(evs))
				}
				evs := r.Tick(at(63))
				if e := find(t, evs, TaskCompleted); e.Reason != "wrapup_timeout" || e.Worker != "a" || e.Workflow != "support" {
					t.Fatalf("completed %+v", e)
				}
				return evs
			},
			want: []EventType{ReservationDone, TaskCompleted, ReservationCreated},
		},
		{
			name: "completing before the wrap-up runs out disarms it",
			opts: []Option{WithWrapUp(time.Minute)},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				assign(t, r, c, "t1", "a", 1)
				c.ok(r.WrapUp("t1", at(3)))
				c.ok(r.Complete("t1", at(10)))
				wantDeadline(t, r, time.Time{})
				return r.Tick(at(100))
			},
			want: []EventType{},
		},
		{
			name: "WithReservationTimeout times out an unanswered offer",
			opts: []Option{WithReservationTimeout(30 * time.Second)},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				c.ok(r.AddWorker("b", en(), "available", chat1, at(1)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(2)))
				wantDeadline(t, r, at(32))
				if evs := r.Tick(at(31)); len(evs) != 0 {
					t.Fatalf("early: %v", types(evs))
				}
				evs := r.Tick(at(32))
				if got := offers(evs); !slices.Equal(got, []string{"t1→b"}) {
					t.Fatalf("offers %v", got)
				}
				return evs
			},
			want: []EventType{ReservationTimeout, ReservationCreated},
		},
		{
			name: "an accepted reservation does not time out",
			opts: []Option{WithReservationTimeout(30 * time.Second)},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				assign(t, r, c, "t1", "a", 1)
				wantDeadline(t, r, time.Time{})
				return r.Tick(at(100))
			},
			want: []EventType{},
		},
		{
			name: "a timed-out offer of an overdue task escalates it",
			opts: []Option{WithReservationTimeout(time.Minute)},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("v", en("vip", true), "available", chat1, at(0)))
				c.ok(r.Enqueue("t1", "support", map[string]any{"vip": true}, 0, "chat", at(1)))
				if evs := r.Tick(at(31)); len(evs) != 0 { // vip's 30s: overdue while pending
					t.Fatalf("escalated while pending: %v", types(evs))
				}
				wantDeadline(t, r, at(61))
				return r.Tick(at(61))
			},
			want: []EventType{ReservationTimeout, TaskEscalated, TaskQueued},
		},
	})
}

func TestMissedReservations(t *testing.T) {
	chat1 := map[string]int{"chat": 1}
	runSteps(t, []step{
		{
			name: "the second miss in a row moves the worker away",
			opts: []Option{WithMissedLimit(2, "away")},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				c.ok(r.AddWorker("b", en(), "available", chat1, at(1)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(2)))
				c.ok(r.Reject(resOf(evs, "t1"), at(3))) // to b
				evs = c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(4)))
				if got := offers(evs); !slices.Equal(got, []string{"t2→a"}) {
					t.Fatalf("offers %v", got)
				}
				evs = c.ok(r.Reject(resOf(evs, "t2"), at(5)))
				e := find(t, evs, WorkerActivity)
				if e.Worker != "a" || e.Activity != "away" || e.PrevActivity != "available" || e.Reason != "missed_reservations" {
					t.Fatalf("activity event %+v", e)
				}
				return evs
			},
			want: []EventType{ReservationRejected, WorkerActivity},
			after: func(t *testing.T, r *Router) {
				if got := offers(second2(r.Enqueue("t3", "support", nil, 0, "chat", at(6)))); len(got) != 0 {
					t.Fatalf("offered to a worker away: %v", got)
				}
			},
		},
		{
			name: "an accept resets the count",
			opts: []Option{WithMissedLimit(2, "away")},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				c.ok(r.Reject(resOf(evs, "t1"), at(2)))
				assign(t, r, c, "t2", "a", 3)
				c.ok(r.Complete("t2", at(4)))
				evs = c.ok(r.Enqueue("t3", "support", nil, 0, "chat", at(5)))
				return c.ok(r.Reject(resOf(evs, "t3"), at(6)))
			},
			want: []EventType{ReservationRejected},
		},
		{
			name: "timeouts count as misses",
			opts: []Option{WithReservationTimeout(10 * time.Second), WithMissedLimit(1, "away")},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				return r.Tick(at(11))
			},
			want: []EventType{ReservationTimeout, WorkerActivity},
		},
	})
}

func second2(evs []Event, _ error) []Event { return evs }

func TestWorkerEvents(t *testing.T) {
	runSteps(t, []step{
		{
			name: "created",
			run: func(t *testing.T, r *Router, c check) []Event {
				evs := c.ok(r.AddWorker("a", en("level", 3), "break", map[string]int{"chat": 2}, at(0)))
				e := evs[0]
				if e.Worker != "a" || e.Activity != "break" || e.Capacity["chat"] != 2 || e.Attributes["level"] != 3 {
					t.Fatalf("event %+v", e)
				}
				return evs
			},
			want: []EventType{WorkerCreated},
		},
		{
			name: "activity, only when it changes",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "break", nil, at(0)))
				if evs := c.ok(r.SetActivity("a", "break", at(1))); len(evs) != 0 {
					t.Fatalf("no change, events %v", types(evs))
				}
				evs := c.ok(r.SetActivity("a", "offline", at(2)))
				if e := evs[0]; e.Activity != "offline" || e.PrevActivity != "break" || e.Reason != "" {
					t.Fatalf("event %+v", e)
				}
				return evs
			},
			want: []EventType{WorkerActivity},
		},
		{
			name: "capacity and attributes, only when they change",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "break", map[string]int{"chat": 1}, at(0)))
				var all []Event
				all = append(all, c.ok(r.SetCapacity("a", map[string]int{"chat": 1}, at(1)))...)
				all = append(all, c.ok(r.SetAttributes("a", en(), at(1)))...)
				all = append(all, c.ok(r.SetCapacity("a", map[string]int{"chat": 3}, at(2)))...)
				all = append(all, c.ok(r.SetAttributes("a", en("level", 1), at(3)))...)
				if all[0].Capacity["chat"] != 3 || all[1].Attributes["level"] != 1 {
					t.Fatalf("events %+v", all)
				}
				return all
			},
			want: []EventType{WorkerCapacity, WorkerAttributes},
		},
		{
			name: "removed",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "break", nil, at(0)))
				return c.ok(r.RemoveWorker("a", at(1)))
			},
			want: []EventType{WorkerRemoved},
		},
	})
}

// withT1OnA: a holds t1 (accepted); b is a busy english member.
func withT1OnA(t *testing.T, r *Router, c check) {
	t.Helper()
	c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
	c.ok(r.AddWorker("b", en(), "busy", map[string]int{"chat": 1}, at(0)))
	assign(t, r, c, "t1", "a", 1)
}

func TestTransfer(t *testing.T) {
	runSteps(t, []step{
		{
			name: "cold to a queue: the reservation ends at once",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.SetActivity("b", "available", at(3)))
				evs := c.ok(r.Transfer("t1", TransferTarget{Queue: "english"}, false, at(4)))
				if got := offers(evs); !slices.Equal(got, []string{"t1→b"}) {
					t.Fatalf("offers %v", got)
				}
				if e := find(t, evs, TaskTransferred); e.Worker != "a" || e.Queue != "english" || e.Reason != "cold" {
					t.Fatalf("transferred %+v", e)
				}
				return evs
			},
			want: []EventType{ReservationTransferred, TaskTransferred, TaskQueued, ReservationCreated},
			after: func(t *testing.T, r *Router) {
				wantInt(t, "a's load", r.Load("a", "chat"), 0)
				if tk := r.tasks["t1"]; !tk.created.Equal(at(1)) || tk.priority != 0 {
					t.Fatalf("age or priority lost: %v %d", tk.created, tk.priority)
				}
			},
		},
		{
			name: "cold: the freed worker takes the next task, not the one it handed over",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(3)))
				evs := c.ok(r.Transfer("t1", TransferTarget{Queue: "english"}, false, at(4)))
				if got := offers(evs); !slices.Equal(got, []string{"t2→a"}) {
					t.Fatalf("offers %v", got)
				}
				return evs
			},
			want:  []EventType{ReservationTransferred, TaskTransferred, TaskQueued, ReservationCreated},
			after: func(t *testing.T, r *Router) { wantInt(t, "waiting", r.Waiting("english"), 1) },
		},
		{
			name: "cold to a worker who rejected the task before",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0)))
				c.ok(r.AddWorker("b", en(), "available", map[string]int{"chat": 1}, at(0)))
				evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				evs = c.ok(r.Reject(resOf(evs, "t1"), at(2))) // a rejects; b gets it
				c.ok(r.Accept(resOf(evs, "t1"), at(3)))
				evs = c.ok(r.Transfer("t1", TransferTarget{Worker: "a"}, false, at(4)))
				if got := offers(evs); !slices.Equal(got, []string{"t1→a"}) {
					t.Fatalf("offers %v", got)
				}
				if e := find(t, evs, TaskTransferred); e.ToWorker != "a" || e.Worker != "b" {
					t.Fatalf("transferred %+v", e)
				}
				return evs
			},
			want: []EventType{ReservationTransferred, TaskTransferred, TaskQueued, ReservationCreated},
		},
		{
			name: "cold to a worker who does not answer falls back to the queue it came from",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.Transfer("t1", TransferTarget{Worker: "b", Timeout: 20 * time.Second}, false, at(3)))
				wantDeadline(t, r, at(23))
				return r.Tick(at(23))
			},
			want: []EventType{TaskEscalated, TaskQueued},
			after: func(t *testing.T, r *Router) {
				if q, _, _ := r.TaskQueue("t1"); q != "english" {
					t.Fatalf("queue %q", q)
				}
			},
		},
		{
			name: "warm to a worker: the first worker keeps the task until the second accepts",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.SetActivity("b", "available", at(2)))
				evs := c.ok(r.Transfer("t1", TransferTarget{Worker: "b"}, true, at(3)))
				if got := types(evs); !slices.Equal(got, []EventType{TaskTransferred, TaskQueued, ReservationCreated}) {
					t.Fatalf("transfer events %v", got)
				}
				wantInt(t, "a's load", r.Load("a", "chat"), 1)
				evs = c.ok(r.Accept(resOf(evs, "t1"), at(4)))
				if e := find(t, evs, ReservationTransferred); e.Worker != "a" {
					t.Fatalf("transferred %+v", e)
				}
				return evs
			},
			want: []EventType{ReservationAccepted, ReservationTransferred},
			after: func(t *testing.T, r *Router) {
				wantInt(t, "a's load", r.Load("a", "chat"), 0)
				wantInt(t, "b's load", r.Load("b", "chat"), 1)
			},
		},
		{
			name: "warm to a worker who rejects: the task stays with the first worker",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.SetActivity("b", "available", at(2)))
				evs := c.ok(r.Transfer("t1", TransferTarget{Worker: "b"}, true, at(3)))
				evs = c.ok(r.Reject(resOf(evs, "t1"), at(4)))
				if e := find(t, evs, TaskTransferFailed); e.Worker != "a" || e.Reason != "destination rejected" || e.Queue != "english" {
					t.Fatalf("failed %+v", e)
				}
				return evs
			},
			want: []EventType{ReservationRejected, TaskTransferFailed},
			after: func(t *testing.T, r *Router) {
				wantInt(t, "a's load", r.Load("a", "chat"), 1)
				evs, err := r.Complete("t1", at(5))
				if err != nil || find(t, evs, TaskCompleted).Worker != "a" {
					t.Fatalf("complete: %v %v", types(evs), err)
				}
			},
		},
		{
			name: "warm to a queue nobody answers fails at its timeout",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.Transfer("t1", TransferTarget{Queue: "english", Timeout: 30 * time.Second}, true, at(3)))
				wantDeadline(t, r, at(33))
				return r.Tick(at(33))
			},
			want: []EventType{TaskTransferFailed},
			after: func(t *testing.T, r *Router) {
				wantInt(t, "waiting", r.Waiting("english"), 0)
				wantInt(t, "a's load", r.Load("a", "chat"), 1)
			},
		},
		{
			name: "warm to a queue: a rejection passes the task to the next member",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.AddWorker("c", en(), "available", map[string]int{"chat": 1}, at(2)))
				c.ok(r.SetActivity("b", "available", at(3)))
				evs := c.ok(r.Transfer("t1", TransferTarget{Queue: "english"}, true, at(4)))
				if got := offers(evs); !slices.Equal(got, []string{"t1→c"}) {
					t.Fatalf("offers %v", got)
				}
				return c.ok(r.Reject(resOf(evs, "t1"), at(5)))
			},
			want: []EventType{ReservationRejected, ReservationCreated},
		},
		{
			name: "canceling during a warm transfer withdraws the offer",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.SetActivity("b", "available", at(2)))
				c.ok(r.Transfer("t1", TransferTarget{Worker: "b"}, true, at(3)))
				return c.ok(r.Cancel("t1", at(4)))
			},
			want: []EventType{ReservationCanceled, TaskTransferFailed, ReservationCanceled, TaskCanceled},
			after: func(t *testing.T, r *Router) {
				wantInt(t, "a's load", r.Load("a", "chat"), 0)
				wantInt(t, "b's load", r.Load("b", "chat"), 0)
			},
		},
		{
			name: "only an assigned task, to somewhere else",
			run: func(t *testing.T, r *Router, c check) []Event {
				withT1OnA(t, r, c)
				c.ok(r.AddWorker("c", en(), "available", map[string]int{"chat": 1}, at(2)))
				c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(3))) // pending with c
				for name, tc := range map[string]struct {
					task string
					to   TransferTarget
					want error
				}{
					"pending":        {"t2", TransferTarget{Queue: "english"}, ErrState},
					"unknown queue":  {"t1", TransferTarget{Queue: "nope"}, ErrUnknownQueue},
					"unknown worker": {"t1", TransferTarget{Worker: "nope"}, ErrUnknownWorker},
					"to itself":      {"t1", TransferTarget{Worker: "a"}, ErrState},
					"nowhere":        {"t1", TransferTarget{}, ErrState},
					"unknown task":   {"t9", TransferTarget{Queue: "english"}, ErrUnknownTask},
				} {
					if _, err := r.Transfer(tc.task, tc.to, true, at(4)); !errors.Is(err, tc.want) {
						t.Errorf("%s: err = %v, want %v", name, err, tc.want)
					}
				}
				return nil
			},
		},
	})
}

func TestRestore(t *testing.T) {
	chat1 := map[string]int{"chat": 1}
	runSteps(t, []step{
		{
			name: "waiting tasks keep their age",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "busy", chat1, at(0)))
				evs := c.ok(r.Restore([]TaskSnapshot{
					{ID: "newer", Workflow: "support", Channel: "chat", Created: at(40), State: StateWaiting},
					{ID: "older", Workflow: "support", Channel: "chat", Created: at(1), State: StateWaiting},
				}, at(50)))
				c.ok(r.Enqueue("fresh", "support", nil, 0, "chat", at(50)))
				if got := offers(c.ok(r.SetActivity("a", "available", at(51)))); !slices.Equal(got, []string{"older→a"}) {
					t.Fatalf("offers %v", got)
				}
				return evs
			},
			want: []EventType{TaskRestored, TaskQueued, TaskRestored, TaskQueued},
		},
		{
			name: "an assigned task holds its worker's capacity, without a new offer",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				c.ok(r.Restore([]TaskSnapshot{
					{ID: "t2", Workflow: "support", Channel: "chat", Created: at(2), State: StateWaiting},
					{ID: "t1", Workflow: "support", Channel: "chat", Created: at(1), State: StateAssigned, Worker: "a", Reservation: "R7", Queue: "english"},
				}, at(10)))
				wantInt(t, "load", r.Load("a", "chat"), 1)
				wantInt(t, "waiting", r.Waiting("english"), 1)
				evs := c.ok(r.Complete("t1", at(11)))
				if e := find(t, evs, ReservationDone); e.Reservation != "R7" || e.Queue != "english" {
					t.Fatalf("done %+v", e)
				}
				if e := find(t, evs, ReservationCreated); e.Reservation != "R8" || e.Task != "t2" {
					t.Fatalf("created %+v", e)
				}
				return evs
			},
			want: []EventType{ReservationDone, TaskCompleted, ReservationCreated},
		},
		{
			name: "a wrapping task completes when its wrap-up runs out",
			opts: []Option{WithWrapUp(time.Minute)},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				c.ok(r.Restore([]TaskSnapshot{{ID: "t1", Workflow: "support", Channel: "chat", Created: at(1),
					State: StateWrapping, Worker: "a", Queue: "english", WrapStarted: at(10)}}, at(30)))
				wantDeadline(t, r, at(70))
				return r.Tick(at(70))
			},
			want: []EventType{ReservationDone, TaskCompleted},
		},
		{
			name: "a takeover router hands out its own reservation ids",
			opts: []Option{WithReservationIDs(func() string { return "node2-1" })},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				return c.ok(r.Restore([]TaskSnapshot{{ID: "t1", Workflow: "support", Channel: "chat", Created: at(1), State: StateWaiting}}, at(2)))
			},
			want: []EventType{TaskRestored, TaskQueued, ReservationCreated},
			after: func(t *testing.T, r *Router) {
				if r.tasks["t1"].res.id != "node2-1" {
					t.Fatalf("reservation id %q", r.tasks["t1"].res.id)
				}
			},
		},
		{
			name: "a task whose workflow was removed is restored unrouted",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				return c.ok(r.Restore([]TaskSnapshot{{ID: "t1", Workflow: "gone", Channel: "chat", Created: at(1), State: StateWaiting}}, at(2)))
			},
			want: []EventType{TaskRestored, TaskEscalated},
			after: func(t *testing.T, r *Router) {
				if evs, err := r.Cancel("t1", at(3)); err != nil || find(t, evs, TaskCanceled).Reason != "abandoned" {
					t.Fatalf("cancel: %v %v", types(evs), err)
				}
			},
		},
		{
			name: "an error changes nothing",
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				for name, tc := range map[string]struct {
					snaps []TaskSnapshot
					want  error
				}{
					"unknown worker": {[]TaskSnapshot{{ID: "t1", Workflow: "support", State: StateWaiting}, {ID: "t2", Workflow: "support", State: StateAssigned, Worker: "z"}}, ErrUnknownWorker},
					"duplicate":      {[]TaskSnapshot{{ID: "t1", Workflow: "support", State: StateWaiting}, {ID: "t1", Workflow: "support", State: StateWaiting}}, ErrDuplicate},
					"pending":        {[]TaskSnapshot{{ID: "t1", Workflow: "support", State: "pending"}}, ErrState},
				} {
					if _, err := r.Restore(tc.snaps, at(1)); !errors.Is(err, tc.want) {
						t.Errorf("%s: err = %v, want %v", name, err, tc.want)
					}
				}
				wantInt(t, "tasks", len(r.tasks), 0)
				return nil
			},
		},
	})
}

// TestRestoreOffersAsNew checks that restored waiting tasks are offered
// exactly as the same tasks enqueued.
func TestRestoreOffersAsNew(t *testing.T) {
	prog := compile(t, testProgram)
	c := check{t}
	type tk struct {
		id       string
		attrs    map[string]any
		priority int
		sec      int
	}
	tasks := []tk{{"x1", nil, 0, 1}, {"x2", map[string]any{"vip": true}, 0, 2}, {"x3", nil, 3, 3}, {"x4", map[string]any{"language": "id"}, 0, 4}, {"x5", nil, 0, 5}}
	setup := func() *Router {
		r := New(prog)
		c.ok(r.AddWorker("a", en("level", 2), "available", map[string]int{"chat": 1}, at(0)))
		c.ok(r.AddWorker("b", map[string]any{"languages": []any{"id", "en"}, "vip": true}, "available", map[string]int{"chat": 1}, at(0)))
		return r
	}
	enq := setup()
	var want []string
	for _, x := range tasks {
		want = append(want, offers(c.ok(enq.Enqueue(x.id, "support", x.attrs, x.priority, "chat", at(x.sec))))...)
	}
	res := setup()
	var snaps []TaskSnapshot
	for _, x := range tasks {
		snaps = append(snaps, TaskSnapshot{ID: x.id, Workflow: "support", Attributes: x.attrs, Priority: x.priority, Channel: "chat", Created: at(x.sec), State: StateWaiting})
	}
	got := offers(c.ok(res.Restore(snaps, at(10))))
	if !slices.Equal(got, want) {
		t.Fatalf("restored offers %v, enqueued %v", got, want)
	}
}

func TestStats(t *testing.T) {
	r := New(compile(t, testProgram))
	c := check{t}
	c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 2}, at(0)))
	c.ok(r.AddWorker("b", en(), "break", map[string]int{"chat": 1}, at(0)))
	assign(t, r, c, "t1", "a", 1)
	c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(2))) // pending with a
	c.ok(r.Enqueue("t3", "support", nil, 0, "chat", at(3)))
	c.ok(r.Enqueue("t4", "support", nil, 2, "chat", at(4)))
	c.ok(r.WrapUp("t1", at(5)))
	s := r.Stats(at(10))
	var english QueueStats
	for _, q := range s.Queues {
		if q.Queue == "english" {
			english = q
		}
	}
	want := QueueStats{Queue: "english", Waiting: 2, WaitingByPriority: map[int]int{0: 1, 2: 1}, LongestWait: 7 * time.Second,
		Members: 2, Activities: map[string]int{"available": 1, "break": 1}, Available: 1, Reserved: 1, Assigned: 1, Wrapping: 1}
	if !equalStats(english, want) {
		t.Errorf("english %+v\nwant    %+v", english, want)
	}
	for _, w := range s.Workflows {
		if w.Workflow == "support" && (w.Waiting != 2 || w.LongestWait != 7*time.Second) {
			t.Errorf("support %+v", w)
		}
	}
}

func equalStats(a, b QueueStats) bool { return reflect.DeepEqual(a, b) }

func TestCumulative(t *testing.T) {
	levels := []time.Duration{20 * time.Second, 60 * time.Second, 300 * time.Second}
	ev := func(typ EventType, sec int, reason string, wait time.Duration) Event {
		return Event{Type: typ, Time: at(sec), Queue: "english", Workflow: "support", Reason: reason, Wait: wait}
	}
	events := []Event{
		ev(TaskQueued, 0, "", 0),
		ev(TaskQueued, 1, "", 0),
		ev(TaskQueued, 2, "", 0),
		ev(TaskQueued, 3, "escalated", 0), // enters the queue, not the workflow
		ev(TaskQueued, 4, "restored", 0),  // neither
		ev(ReservationRejected, 5, "", 0),
		ev(ReservationTimeout, 6, "", 0),
		ev(ReservationAccepted, 10, "", 10*time.Second),
		ev(ReservationAccepted, 31, "", 30*time.Second),
		ev(ReservationAccepted, 102, "", 100*time.Second),
		ev(TaskCanceled, 103, "abandoned", 0),
		ev(TaskCanceled, 104, "", 0), // canceled while assigned
		ev(TaskCompleted, 200, "", 0),
	}
	c := NewCumulative(time.Hour, levels)
	c.Observe(Event{Type: TaskQueued, Queue: "english", Workflow: "support"}) // no time: ignored
	for _, e := range events {
		c.Observe(e)
	}
	s := c.Snapshot(at(300))
	q, w := s.Queues["english"], s.Workflows["support"]
	if q.Entered != 4 || w.Entered != 3 {
		t.Errorf("entered: queue %d workflow %d", q.Entered, w.Entered)
	}
	wantCum := CumulativeStats{Entered: 3, Accepted: 3, Abandoned: 1, Completed: 1, Rejected: 1, TimedOut: 1,
		AvgWait: 140 * time.Second / 3, P90Wait: 100 * time.Second, ServiceLevel: []float64{1.0 / 3, 2.0 / 3, 1}}
	if w.Entered != wantCum.Entered || w.Accepted != wantCum.Accepted || w.Abandoned != wantCum.Abandoned || w.Completed != wantCum.Completed ||
		w.Rejected != wantCum.Rejected || w.TimedOut != wantCum.TimedOut || w.AvgWait != wantCum.AvgWait || w.P90Wait != wantCum.P90Wait ||
		!slices.Equal(w.ServiceLevel, wantCum.ServiceLevel) {
		t.Errorf("support %+v\nwant    %+v", w, wantCum)
	}

	// The window slides by buckets of a minute (an hour / 60): an hour
	// later, the first minute's events are out.
	s = c.Snapshot(at(3600 + 30))
	if got := s.Workflows["support"]; got.Entered != 0 || got.Accepted != 1 || got.Completed != 1 {
		t.Errorf("after the window: %+v", got)
	}
	s = c.Snapshot(at(2 * 3600))
	if len(s.Queues) != 0 {
		t.Errorf("two hours later: %+v", s.Queues)
	}
	// An event older than the window before the latest one seen is dropped.
	c.Observe(ev(ReservationAccepted, 3*3600, "", time.Second))
	c.Observe(ev(ReservationAccepted, 0, "", time.Second))
	if got := c.Snapshot(at(3 * 3600)).Workflows["support"]; got.Accepted != 1 {
		t.Errorf("late event counted: %+v", got)
	}
}

// TestCumulativeFromRouter feeds a router's own events: the wait comes
// from the task's enqueue (or transfer) to its acceptance.
func TestCumulativeFromRouter(t *testing.T) {
	r := New(compile(t, testProgram))
	c := check{t}
	cum := NewCumulative(time.Hour, []time.Duration{20 * time.Second})
	feed := func(evs []Event) []Event {
		for _, e := range evs {
			cum.Observe(e)
		}
		return evs
	}
	feed(c.ok(r.AddWorker("a", en(), "available", map[string]int{"chat": 1}, at(0))))
	evs := feed(c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(0))))
	feed(c.ok(r.Accept(resOf(evs, "t1"), at(5))))
	feed(c.ok(r.Enqueue("t2", "support", nil, 0, "chat", at(10))))
	feed(c.ok(r.Enqueue("t3", "support", nil, 0, "chat", at(11))))
	feed(c.ok(r.Cancel("t3", at(12))))
	evs = feed(c.ok(r.Complete("t1", at(40))))
	feed(c.ok(r.Accept(resOf(evs, "t2"), at(41))))
	s := cum.Snapshot(at(60)).Queues["english"]
	if s.Entered != 3 || s.Accepted != 2 || s.Abandoned != 1 || s.Completed != 1 || s.AvgWait != 18*time.Second || s.ServiceLevel[0] != 0.5 {
		t.Errorf("english %+v", s)
	}
}

func TestWaitBins(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond, time.Second, 59 * time.Second, 2 * time.Minute, 121 * time.Second,
		9*time.Minute + 59*time.Second, 10 * time.Minute, 59 * time.Minute, 2 * time.Hour, 23 * time.Hour, 48 * time.Hour} {
		up := binUpper(waitBin(d))
		if d <= 24*time.Hour && (up < d || up-d >= 10*time.Minute) {
			t.Errorf("%v: bin upper edge %v", d, up)
		}
		if d > 24*time.Hour && up != 24*time.Hour {
			t.Errorf("%v: bin upper edge %v", d, up)
		}
	}
}
