package router

import (
	"slices"
	"testing"
	"time"
)

// TestReoffer covers WithReofferAfter: a task nobody else takes goes back,
// after a while, to the workers who declined it, instead of waiting unseen
// until its flow's timeout.
func TestReoffer(t *testing.T) {
	chat1 := map[string]int{"chat": 1}
	reoffer := WithReofferAfter(2 * time.Minute)
	wantOffers := func(t *testing.T, evs []Event, want ...string) {
		t.Helper()
		if got := offers(evs); !slices.Equal(got, want) {
			t.Fatalf("offers %v, want %v", got, want)
		}
	}
	// rejectedByA enqueues t1 at 1s for a, the only worker, who rejects it at 2s.
	rejectedByA := func(t *testing.T, r *Router, c check) {
		t.Helper()
		c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
		evs := c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
		wantOffers(t, evs, "t1→a")
		wantOffers(t, c.ok(r.Reject(resOf(evs, "t1"), at(2))))
	}
	runSteps(t, []step{
		{
			name: "without the option a rejection excludes the worker for good",
			run: func(t *testing.T, r *Router, c check) []Event {
				rejectedByA(t, r, c)
				wantDeadline(t, r, time.Time{})
				return r.Tick(at(100000))
			},
			want:  []EventType{},
			after: func(t *testing.T, r *Router) { wantInt(t, "waiting", r.Waiting("english"), 1) },
		},
		{
			name: "the only worker is offered the task again when the time has passed",
			opts: []Option{reoffer},
			run: func(t *testing.T, r *Router, c check) []Event {
				rejectedByA(t, r, c)
				wantDeadline(t, r, at(122))
				if evs := r.Tick(at(121)); len(evs) != 0 {
					t.Fatalf("lapsed early: %v", types(evs))
				}
				evs := r.Tick(at(122))
				wantOffers(t, evs, "t1→a")
				return evs
			},
			want: []EventType{ReservationCreated},
		},
		{
			name: "a timed-out offer lapses the same way",
			opts: []Option{reoffer, WithReservationTimeout(30 * time.Second)},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				c.ok(r.Enqueue("t1", "support", nil, 0, "chat", at(1)))
				if got := types(r.Tick(at(31))); !slices.Equal(got, []EventType{ReservationTimeout}) {
					t.Fatalf("timeout events %v", got)
				}
				wantDeadline(t, r, at(151))
				return r.Tick(at(151))
			},
			want: []EventType{ReservationCreated},
		},
		{
			name: "declining again restarts the wait",
			opts: []Option{reoffer},
			run: func(t *testing.T, r *Router, c check) []Event {
				rejectedByA(t, r, c)
				evs := r.Tick(at(122))
				wantOffers(t, c.ok(r.Reject(resOf(evs, "t1"), at(130))))
				wantDeadline(t, r, at(250))
				if evs := r.Tick(at(249)); len(evs) != 0 {
					t.Fatalf("the first lapse acted again: %v", types(evs))
				}
				return r.Tick(at(250))
			},
			want: []EventType{ReservationCreated},
		},
		{
			name: "a worker full when the exclusion lapses takes the task once it has room",
			opts: []Option{reoffer},
			run: func(t *testing.T, r *Router, c check) []Event {
				rejectedByA(t, r, c)
				assign(t, r, c, "t2", "a", 3)
				if evs := r.Tick(at(122)); len(evs) != 0 {
					t.Fatalf("offered to a full worker: %v", types(evs))
				}
				evs := c.ok(r.Complete("t2", at(200)))
				wantOffers(t, evs, "t1→a")
				return evs
			},
			want: []EventType{ReservationDone, TaskCompleted, ReservationCreated},
		},
		{
			name: "a task another worker took is left alone, and comes back after that worker declines",
			opts: []Option{reoffer},
			run: func(t *testing.T, r *Router, c check) []Event {
				rejectedByA(t, r, c)
				c.ok(r.AddWorker("b", en(), "available", chat1, at(3))) // takes t1 at once
				if evs := r.Tick(at(122)); len(evs) != 0 {
					t.Fatalf("a pending task moved: %v", types(evs))
				}
				evs := c.ok(r.Reject(r.tasks["t1"].res.id, at(130)))
				wantOffers(t, evs, "t1→a")
				return evs
			},
			want: []EventType{ReservationRejected, ReservationCreated},
		},
		{
			name: "a cold transfer's worker gets the task back when nobody in the destination took it",
			opts: []Option{reoffer},
			run: func(t *testing.T, r *Router, c check) []Event {
				c.ok(r.AddWorker("a", en(), "available", chat1, at(0)))
				assign(t, r, c, "t1", "a", 1)
				wantOffers(t, c.ok(r.Transfer("t1", TransferTarget{Queue: "english"}, false, at(10))))
				return r.Tick(at(130))
			},
			want: []EventType{ReservationCreated},
		},
		{
			name: "a canceled task's lapse does nothing",
			opts: []Option{reoffer},
			run: func(t *testing.T, r *Router, c check) []Event {
				rejectedByA(t, r, c)
				c.ok(r.Cancel("t1", at(3)))
				wantDeadline(t, r, time.Time{})
				return r.Tick(at(122))
			},
			want: []EventType{},
		},
	})
}
