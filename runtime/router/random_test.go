package router

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"
)

// TestRandomInvariants runs random operations (fixed seeds) and checks,
// after every call:
//   - an offer never takes a worker over its capacity on that channel;
//   - a task never has two reservations at once;
//   - a worker that rejected (or timed out on) a task is never offered it again;
//   - an offer never passes over a better (priority, age) task the worker
//     could take, and no waiting task could be offered to a ready worker
//     (the fixpoint: tasks are never stranded).
func TestRandomInvariants(t *testing.T) {
	prog := compile(t, testProgram)
	workflows := []string{"support", "known", "wf_busy", "wf_rr", "wf_vip", "wf_junior", "wf_capped"}
	channels := []string{"chat", "voice"}
	activities := []string{"available", "available", "break", "offline"}
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			r := New(prog)
			now := t0
			capacity := map[string]map[string]int{} // worker → channel → capacity (shadow)
			load := map[string]map[string]int{}
			active := map[string]string{} // task → reservation
			resTask := map[string]string{}
			resWorker := map[string]string{}
			accepted := map[string]bool{}
			declined := map[[2]string]bool{} // (task, worker)
			taskChan := map[string]string{}
			var workerIDs []string
			nTasks, nWorkers := 0, 0
			counts := map[EventType]int{}
			defer func() { t.Logf("events: %v", counts) }()

			randAttrs := func() map[string]any {
				var langs []any
				if rng.IntN(3) > 0 {
					langs = append(langs, "en")
				}
				if rng.IntN(2) == 0 {
					langs = append(langs, "id")
				}
				m := map[string]any{"languages": langs, "vip": rng.IntN(4) == 0}
				if rng.IntN(4) > 0 {
					m["level"] = rng.IntN(10)
				}
				return m
			}
			randCap := func() map[string]int {
				return map[string]int{"chat": rng.IntN(4), "voice": rng.IntN(2)}
			}
			pick := func(m map[string]string, want func(string) bool) string {
				var ks []string
				for k := range m {
					if want == nil || want(k) {
						ks = append(ks, k)
					}
				}
				if len(ks) == 0 {
					return ""
				}
				sort.Strings(ks)
				return ks[rng.IntN(len(ks))]
			}

			for step := range 3000 {
				now = now.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
				var evs []Event
				var err error
				op := rng.IntN(100)
				switch {
				case op < 6 && len(workerIDs) < 12:
					nWorkers++
					id := fmt.Sprintf("w%d", nWorkers)
					workerIDs = append(workerIDs, id)
					c := randCap()
					capacity[id] = c
					load[id] = map[string]int{}
					evs, err = r.AddWorker(id, randAttrs(), activities[rng.IntN(len(activities))], c, now)
				case op < 12 && len(workerIDs) > 0:
					evs, err = r.SetActivity(workerIDs[rng.IntN(len(workerIDs))], activities[rng.IntN(len(activities))], now)
				case op < 16 && len(workerIDs) > 0:
					id := workerIDs[rng.IntN(len(workerIDs))]
					c := randCap()
					capacity[id] = c
					evs, err = r.SetCapacity(id, c, now)
				case op < 19 && len(workerIDs) > 0:
					evs, err = r.SetAttributes(workerIDs[rng.IntN(len(workerIDs))], randAttrs(), now)
				case op < 20 && len(workerIDs) > 0:
					i := rng.IntN(len(workerIDs))
					if r.workers[workerIDs[i]].total == 0 {
						evs, err = r.RemoveWorker(workerIDs[i], now)
						workerIDs = append(workerIDs[:i:i], workerIDs[i+1:]...)
					}
				case op < 45:
					nTasks++
					id := fmt.Sprintf("t%d", nTasks)
					attrs := map[string]any{"vip": rng.IntN(4) == 0}
					if rng.IntN(3) == 0 {
						attrs["language"] = "id"
					}
					if rng.IntN(3) == 0 && len(workerIDs) > 0 {
						attrs["last_worker"] = workerIDs[rng.IntN(len(workerIDs))]
					}
					ch := channels[rng.IntN(2)]
					taskChan[id] = ch
					evs, err = r.Enqueue(id, workflows[rng.IntN(len(workflows))], attrs, rng.IntN(3), ch, now)
				case op < 60:
					if res := pick(resTask, func(k string) bool { return !accepted[k] }); res != "" {
						evs, err = r.Accept(res, now)
					}
				case op < 68:
					if res := pick(resTask, func(k string) bool { return !accepted[k] }); res != "" {
						evs, err = r.Reject(res, now)
					}
				case op < 72:
					if res := pick(resTask, func(k string) bool { return !accepted[k] }); res != "" {
						evs, err = r.Timeout(res, now)
					}
				case op < 88:
					if res := pick(resTask, func(k string) bool { return accepted[k] }); res != "" {
						evs, err = r.Complete(resTask[res], now)
					}
				case op < 93:
					if task := pick(taskChan, nil); task != "" {
						evs, err = r.Cancel(task, now)
					}
				default:
					evs = r.Tick(now)
				}
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				var offered []*reservation
				for _, e := range evs {
					counts[e.Type]++
					switch e.Type {
					case ReservationCreated:
						ch := taskChan[e.Task]
						if load[e.Worker][ch] >= capacity[e.Worker][ch] {
							t.Fatalf("step %d: %s offered to %s over capacity (%d/%d on %s)", step, e.Task, e.Worker, load[e.Worker][ch], capacity[e.Worker][ch], ch)
						}
						if prev := active[e.Task]; prev != "" {
							t.Fatalf("step %d: %s reserved twice (%s, %s)", step, e.Task, prev, e.Reservation)
						}
						if declined[[2]string{e.Task, e.Worker}] {
							t.Fatalf("step %d: %s offered again to %s, who declined it", step, e.Task, e.Worker)
						}
						load[e.Worker][ch]++
						active[e.Task] = e.Reservation
						resTask[e.Reservation] = e.Task
						resWorker[e.Reservation] = e.Worker
						if res := r.res[e.Reservation]; res != nil && !res.accepted {
							offered = append(offered, res)
						}
					case ReservationAccepted:
						accepted[e.Reservation] = true
					case ReservationRejected, ReservationTimeout, ReservationCanceled, ReservationDone:
						if e.Type == ReservationRejected || e.Type == ReservationTimeout {
							declined[[2]string{e.Task, e.Worker}] = true
						}
						load[e.Worker][taskChan[e.Task]]--
						delete(active, e.Task)
						delete(resTask, e.Reservation)
						delete(resWorker, e.Reservation)
						delete(accepted, e.Reservation)
					case TaskCompleted, TaskCanceled:
						delete(taskChan, e.Task)
					}
				}
				for _, w := range r.workers {
					for ch, n := range w.load {
						if n != load[w.id][ch] {
							t.Fatalf("step %d: %s load on %s = %d, shadow %d", step, w.id, ch, n, load[w.id][ch])
						}
					}
				}
				checkOrder(t, step, r, offered)
			}
		})
	}
}

// canTake reports whether w could be offered t right now.
func canTake(r *Router, w *worker, t *task) bool {
	l := t.lane
	if l == nil || l.throttled() || t.rejected[w] || !r.ready(w, t.channel) {
		return false
	}
	_, member := l.members[w]
	return member
}

func checkOrder(t *testing.T, step int, r *Router, offered []*reservation) {
	t.Helper()
	for _, wt := range r.tasks {
		if wt.state != stateWaiting {
			continue
		}
		for _, w := range r.workers {
			if canTake(r, w, wt) {
				t.Fatalf("step %d: %s waits in %q while %s could take it", step, wt.id, wt.lane.name(), w.id)
			}
		}
		for _, res := range offered {
			w, ot := res.worker, res.task
			if wt.channel != ot.channel || wt.waitSeq > res.offerSeq || wt.lane == nil || wt.lane.throttled() || wt.rejected[w] {
				continue
			}
			if _, member := wt.lane.members[w]; !member {
				continue
			}
			if less(wt, ot) {
				t.Fatalf("step %d: %s offered %s (priority %d) while better %s (priority %d) waited", step, w.id, ot.id, ot.priority, wt.id, wt.priority)
			}
		}
	}
}

// TestDeterministic replays the same calls twice and expects the same
// events: map iteration order never shows.
func TestDeterministic(t *testing.T) {
	prog := compile(t, benchProgram)
	run := func() []Event {
		c := check{t}
		r := New(prog)
		rng := rand.New(rand.NewPCG(3, 3))
		var all []Event
		for i := range 40 {
			all = append(all, c.ok(r.AddWorker(fmt.Sprintf("w%d", i), map[string]any{
				"groups": []any{i % 4, (i + 1) % 4}, "level": i % 3}, "available", map[string]int{"chat": 2, "voice": 1}, t0))...)
		}
		for i := range 300 {
			ch := []string{"chat", "voice"}[rng.IntN(2)]
			evs := c.ok(r.Enqueue(fmt.Sprintf("t%d", i), "wf", map[string]any{"q": rng.IntN(4)}, rng.IntN(2), ch, t0))
			all = append(all, evs...)
			for _, e := range evs {
				if e.Type == ReservationCreated && rng.IntN(3) == 0 {
					all = append(all, c.ok(r.Reject(e.Reservation, t0))...)
				}
			}
		}
		return all
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two identical runs produced different events")
	}
}
