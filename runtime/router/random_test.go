package router

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

// TestRandomInvariants runs random operations (fixed seeds), including
// wrap-up, cold and warm transfers, reservation timeouts, the missed
// reservations limit and leader takeovers (a new router restored from the
// old one's tasks), and checks, after every call:
//   - an offer never takes a worker over its capacity on that channel;
//   - a task never has two reservations at once, except the one its worker
//     holds during a warm transfer, and is never offered to that worker;
//   - a worker that rejected (or timed out on) a task is never offered it
//     again, unless a transfer names that worker;
//   - an offer never passes over a better (priority, age) task the worker
//     could take, and no waiting task could be offered to a ready worker
//     (the fixpoint: tasks are never stranded).
func TestRandomInvariants(t *testing.T) {
	prog := compile(t, testProgram)
	// A redeploy alternates with a program without the capped queue, whose
	// english queue also takes every VIP.
	redeployed := strings.Replace(testProgram, `queue english { workers "en" in worker.languages }`,
		`queue english { workers "en" in worker.languages or worker.vip == true }`, 1)
	redeployed = strings.Replace(redeployed, "workflow wf_capped { default capped }\n", "", 1)
	redeployed = strings.Replace(redeployed, "queue capped {\n  workers \"en\" in worker.languages\n  max_reserved 1\n}\n", "", 1)
	if redeployed == testProgram || strings.Contains(redeployed, "capped {") {
		t.Fatal("the redeployed program did not change")
	}
	progs := []*compiler.Program{prog, compile(t, redeployed)}
	workflows := []string{"support", "known", "wf_busy", "wf_rr", "wf_vip", "wf_junior", "wf_capped"}
	channels := []string{"chat", "voice"}
	activities := []string{"available", "available", "break", "offline", "away"}
	queues := []string{"english", "bahasa", "vip", "junior", "busy", "rr", "capped"}
	for seed := uint64(1); seed <= 30; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			// Half the seeds run with the timeouts and the missed limit on.
			var opts []Option
			if seed%2 == 0 {
				opts = append(opts, WithWrapUp(time.Duration(5+rng.IntN(20))*time.Second),
					WithReservationTimeout(time.Duration(3+rng.IntN(15))*time.Second),
					WithMissedLimit(1+rng.IntN(3), "away"))
			}
			r := New(prog, opts...)
			// A day's window holds the whole run, so its totals must match the events.
			cumulative := NewCumulative(24*time.Hour, []time.Duration{5 * time.Second, 20 * time.Second})
			now := t0
			capacity := map[string]map[string]int{} // worker → channel → capacity (shadow)
			load := map[string]map[string]int{}
			active := map[string]string{} // task → reservation
			resTask := map[string]string{}
			resWorker := map[string]string{}
			accepted := map[string]bool{}
			declined := map[[2]string]bool{} // (task, worker)
			held := map[string]string{}      // task → the reservation its worker keeps during a warm transfer
			// Unanswered reservations per queue, to know which queues were
			// throttled when an offer was made: one call (Tick) may answer
			// several reservations.
			pendingQ := map[string]int{}
			resQueue := map[string]string{}
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
				lastOp = op
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
				case op < 45 && len(taskChan) < 150: // bounded, so that checking every step stays cheap
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
					if errors.Is(err, ErrUnknownWorkflow) { // wf_capped, while redeployed without it
						err = nil
						delete(taskChan, id)
					}
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
				case op < 95:
					if res := pick(resTask, func(k string) bool {
						tk := r.tasks[resTask[k]]
						return accepted[k] && held[resTask[k]] == "" && tk != nil && tk.state == stateAssigned
					}); res != "" {
						evs, err = r.WrapUp(resTask[res], now)
					}
				case op < 98:
					res := pick(resTask, func(k string) bool {
						tk := r.tasks[resTask[k]]
						return accepted[k] && held[resTask[k]] == "" && tk != nil && tk.state == stateAssigned
					})
					if res == "" {
						break
					}
					to := TransferTarget{Queue: queues[rng.IntN(len(queues))]}
					if rng.IntN(2) == 0 && len(workerIDs) > 1 {
						to = TransferTarget{Worker: workerIDs[rng.IntN(len(workerIDs))]}
						if to.Worker == resWorker[res] {
							break
						}
					}
					if rng.IntN(2) == 0 {
						to.Timeout = time.Duration(1+rng.IntN(20)) * time.Second
					}
					evs, err = r.Transfer(resTask[res], to, rng.IntN(2) == 0, now)
					if errors.Is(err, ErrUnknownQueue) { // capped, while redeployed without it
						err = nil
					}
				case op < 99 && rng.IntN(2) == 0:
					if r.prog == progs[0] {
						evs = r.SetProgram(progs[1], now)
					} else {
						evs = r.SetProgram(progs[0], now)
					}
				case op < 99:
					// Leader takeover: a new router restored from this one.
					r, evs, err = takeover(r, now, opts)
					load = map[string]map[string]int{}
					for _, id := range workerIDs {
						load[id] = map[string]int{}
					}
					active, resTask, resWorker = map[string]string{}, map[string]string{}, map[string]string{}
					pendingQ, resQueue = map[string]int{}, map[string]string{}
					accepted, declined, held = map[string]bool{}, map[[2]string]bool{}, map[string]string{}
				default:
					evs = r.Tick(now)
					if d, ok := r.NextDeadline(); ok && !d.After(now) {
						t.Fatalf("step %d: deadline %v still due after Tick(%v)", step, d, now)
					}
				}
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				var offered []offer
				for _, e := range evs {
					counts[e.Type]++
					cumulative.Observe(e)
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
						if h := held[e.Task]; h != "" && resWorker[h] == e.Worker {
							t.Fatalf("step %d: %s offered to %s, who is transferring it", step, e.Task, e.Worker)
						}
						load[e.Worker][ch]++
						active[e.Task] = e.Reservation
						resTask[e.Reservation] = e.Task
						resWorker[e.Reservation] = e.Worker
						if res := r.res[e.Reservation]; res != nil && !res.accepted {
							o := offer{res: res, throttled: map[string]bool{}}
							for _, l := range r.lanes {
								if l.q.MaxReserved > 0 && pendingQ[l.q.Name] >= l.q.MaxReserved {
									o.throttled[l.q.Name] = true
								}
							}
							offered = append(offered, o)
						}
						pendingQ[e.Queue]++
						resQueue[e.Reservation] = e.Queue
					case TaskRestored:
						if e.Reason == string(StateWaiting) {
							break
						}
						load[e.Worker][taskChan[e.Task]]++
						active[e.Task] = e.Reservation
						resTask[e.Reservation] = e.Task
						resWorker[e.Reservation] = e.Worker
						accepted[e.Reservation] = true
					case ReservationAccepted:
						accepted[e.Reservation] = true
						pendingQ[resQueue[e.Reservation]]--
					case ReservationRejected, ReservationTimeout, ReservationCanceled, ReservationDone, ReservationTransferred:
						if e.Type == ReservationRejected || e.Type == ReservationTimeout {
							declined[[2]string{e.Task, e.Worker}] = true
						}
						load[e.Worker][taskChan[e.Task]]--
						if !accepted[e.Reservation] {
							pendingQ[resQueue[e.Reservation]]--
						}
						delete(resQueue, e.Reservation)
						switch e.Reservation {
						case active[e.Task]:
							delete(active, e.Task)
						case held[e.Task]:
							delete(held, e.Task)
						default:
							t.Fatalf("step %d: %s ends %s, which %s does not hold", step, e.Type, e.Reservation, e.Task)
						}
						delete(resTask, e.Reservation)
						delete(resWorker, e.Reservation)
						delete(accepted, e.Reservation)
					case TaskTransferred:
						if e.ToWorker != "" {
							delete(declined, [2]string{e.Task, e.ToWorker})
						}
						if e.Reason == "warm" {
							held[e.Task] = active[e.Task]
							delete(active, e.Task)
						} else {
							declined[[2]string{e.Task, e.Worker}] = true
						}
					case TaskTransferFailed:
						if active[e.Task] != "" || held[e.Task] == "" {
							t.Fatalf("step %d: %s transfer failed while reserved %q, held %q", step, e.Task, active[e.Task], held[e.Task])
						}
						active[e.Task] = held[e.Task]
						delete(held, e.Task)
					case TaskCompleted, TaskCanceled:
						if active[e.Task] != "" || held[e.Task] != "" {
							t.Fatalf("step %d: %s ended still reserved", step, e.Task)
						}
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
				if t.Failed() {
					return
				}
				checkOrder(t, step, r, offered)
				checkReadySets(t, step, r)
				if step%5 == 0 {
					checkStats(t, step, r, now)
				}
			}
			var nAccepted, completed, rejected int
			for _, st := range cumulative.Snapshot(now).Workflows {
				nAccepted += st.Accepted
				completed += st.Completed
				rejected += st.Rejected
				if st.Accepted > 0 && (st.ServiceLevel[0] > st.ServiceLevel[1] || st.ServiceLevel[1] > 1 || st.P90Wait < 0) {
					t.Errorf("cumulative stats inconsistent: %+v", st)
				}
			}
			if nAccepted != counts[ReservationAccepted] || completed != counts[TaskCompleted] || rejected != counts[ReservationRejected] {
				t.Errorf("cumulative totals accepted %d completed %d rejected %d, events %v", nAccepted, completed, rejected, counts)
			}
		})
	}
}

// takeover rebuilds a router as the runtime does on leader takeover: the
// same workers, then the tasks, pending ones as waiting.
func takeover(old *Router, now time.Time, opts []Option) (*Router, []Event, error) {
	r := New(old.prog, opts...)
	var all []Event
	for _, w := range old.sortedWorkers() {
		evs, err := r.AddWorker(w.id, w.attrs, w.activity, w.capacity, now)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, evs...)
	}
	var snaps []TaskSnapshot
	for _, t := range old.sortedTasks() {
		s := TaskSnapshot{ID: t.id, Workflow: t.workflow, Attributes: t.attrs, Channel: t.channel,
			Priority: t.priority, Created: t.created, State: StateWaiting}
		res := t.res
		if t.xfer != nil {
			res = t.xfer.held // the runtime keeps a warm transfer's task with its worker
		}
		if res != nil && res.accepted {
			s.State, s.Worker, s.Reservation, s.Queue = StateAssigned, res.worker.id, res.id, res.lane.name()
			if t.state == stateWrapping {
				s.State = StateWrapping
			}
		}
		snaps = append(snaps, s)
	}
	evs, err := r.Restore(snaps, now)
	return r, append(all, evs...), err
}

// checkStats compares Stats with the router's state.
func checkStats(t *testing.T, step int, r *Router, now time.Time) {
	t.Helper()
	s := r.Stats(now)
	for _, q := range s.Queues {
		if q.Waiting != r.Waiting(q.Queue) {
			t.Fatalf("step %d: stats %s waiting %d, want %d", step, q.Queue, q.Waiting, r.Waiting(q.Queue))
		}
		n := 0
		for _, c := range q.WaitingByPriority {
			n += c
		}
		if n != q.Waiting || q.Members != len(r.Members(q.Queue)) || q.Available > q.Members {
			t.Fatalf("step %d: stats %s inconsistent: %+v", step, q.Queue, q)
		}
		if l := r.laneByName[q.Queue]; q.Reserved != l.pending {
			t.Fatalf("step %d: stats %s reserved %d, lane pending %d", step, q.Queue, q.Reserved, l.pending)
		}
	}
}

// checkReadySets checks that every lane's ready sets hold exactly its
// members that are ready on the channel, each as its fields are now, in the
// order the lane's strategy gives those fields.
func checkReadySets(t *testing.T, step int, r *Router) {
	t.Helper()
	lanes := append([]*lane(nil), r.lanes...)
	for _, w := range r.workers {
		lanes = append(lanes, w.direct)
	}
	for _, l := range lanes {
		for ch, s := range l.ready {
			var want []readyEntry
			for w := range l.members {
				if _, ok := w.capacity[ch]; ok && r.ready(w, ch) {
					want = append(want, readyEntry{w: w, seq: w.seq, total: w.total, lastWork: w.lastWork, key: l.members[w]})
				}
			}
			sort.Slice(want, func(i, j int) bool { return l.before(want[i], want[j]) })
			var got []readyEntry
			s.tree.Ascend(func(e readyEntry) bool { got = append(got, e); return true })
			if !reflect.DeepEqual(got, want) || len(s.at) != len(got) {
				t.Fatalf("step %d: lane %q channel %s: ready set %d entries (%d by worker), want %d in order", step, l.name(), ch, len(got), len(s.at), len(want))
			}
		}
	}
}

// canTake reports whether w could be offered t right now.
func canTake(r *Router, w *worker, t *task) bool {
	l := t.lane
	if l == nil {
		return false
	}
	if _, member := l.members[w]; !member {
		return false
	}
	return !l.throttled() && !t.excluded(w) && r.ready(w, t.channel)
}

// offer is a reservation created during a call, with the queues that were
// throttled when it was made.
type offer struct {
	res       *reservation
	throttled map[string]bool
}

func checkOrder(t *testing.T, step int, r *Router, offered []offer) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("op %d", lastOp)
		}
	}()
	for _, wt := range r.tasks {
		if wt.state != stateWaiting {
			continue
		}
		if wt.lane == nil {
			continue // unrouted
		}
		for w := range wt.lane.members {
			if canTake(r, w, wt) {
				t.Fatalf("step %d: %s waits in %q while %s could take it", step, wt.id, wt.lane.name(), w.id)
			}
		}
		for _, o := range offered {
			res := o.res
			w, ot := res.worker, res.task
			if wt.channel != ot.channel || wt.waitSeq > res.offerSeq || wt.lane == nil || o.throttled[wt.lane.name()] || wt.excluded(w) {
				continue
			}
			if _, member := wt.lane.members[w]; !member {
				continue
			}
			if less(wt, ot) {
				t.Fatalf("step %d: %s offered %s (priority %d, %q) while better %s (priority %d, %q) waited", step, w.id, ot.id, ot.priority, ot.lane.name(), wt.id, wt.priority, wt.lane.name())
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

var lastOp int
