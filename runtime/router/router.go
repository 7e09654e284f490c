package router

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

// DefaultChannel is the channel of a task enqueued without one, and the only
// channel (capacity 1) of a worker added without a capacity map.
const DefaultChannel = "default"

// Errors returned by the router's calls.
var (
	ErrUnknownWorker      = errors.New("router: unknown worker")
	ErrUnknownTask        = errors.New("router: unknown task")
	ErrUnknownReservation = errors.New("router: unknown reservation")
	ErrUnknownWorkflow    = errors.New("router: unknown workflow")
	ErrDuplicate          = errors.New("router: id already in use")
	ErrState              = errors.New("router: not allowed in the current state")
)

// EventType names what happened.
type EventType string

// Event types.
const (
	TaskQueued          EventType = "task.queued"    // the task waits in Queue (or for Worker)
	TaskEscalated       EventType = "task.escalated" // its target timed out or could not be used; Reason says which
	TaskCompleted       EventType = "task.completed"
	TaskCanceled        EventType = "task.canceled"
	ReservationCreated  EventType = "reservation.created" // offered to Worker
	ReservationAccepted EventType = "reservation.accepted"
	ReservationRejected EventType = "reservation.rejected"
	ReservationTimeout  EventType = "reservation.timeout"
	ReservationCanceled EventType = "reservation.canceled" // its task was canceled (pending or accepted)
	ReservationDone     EventType = "reservation.completed"
	ExprError           EventType = "expr.error" // an expression failed; Reason holds the error
)

// Event is one change, returned as data by every call.
type Event struct {
	Type        EventType
	Time        time.Time
	Task        string
	Reservation string
	Worker      string
	Queue       string // the task's queue, empty for a known-worker target
	Priority    int
	Reason      string
}

// Option configures a Router.
type Option func(*Router)

// WithActivities replaces the activity table: name → available. The default
// is available: true, and break, offline, busy: false. Unknown activities are
// unavailable.
func WithActivities(m map[string]bool) Option {
	return func(r *Router) {
		r.activities = make(map[string]bool, len(m))
		for k, v := range m {
			r.activities[k] = v
		}
	}
}

// Router is the in-memory task router. See the package comment.
type Router struct {
	prog       *compiler.Program
	activities map[string]bool
	lanes      []*lane // one per queue, in program order
	laneByName map[string]*lane
	workers    map[string]*worker
	tasks      map[string]*task
	res        map[string]*reservation
	timers     timerHeap
	seq        uint64 // tasks, workers, waits: a total order
	resSeq     uint64
	ev         []Event
}

type worker struct {
	id         string
	seq        uint64
	attrs      map[string]any
	activity   string
	capacity   map[string]int
	load       map[string]int
	total      int
	lastWork   time.Time // became available or was last offered a task
	lanes      []*lane   // member queues, program order
	direct     *lane     // tasks targeting this worker by id
	reserveSeq uint64
}

type taskState uint8

const (
	stateWaiting taskState = iota
	statePending
	stateAssigned
)

type task struct {
	id       string
	seq      uint64
	waitSeq  uint64 // when it last entered a heap
	attrs    map[string]any
	channel  string
	priority int
	created  time.Time
	chain    []compiler.Target
	target   int
	lane     *lane
	hidx     int // index in its heap, -1 when not waiting
	state    taskState
	deadline time.Time // of the current target; zero: none
	timerGen uint64
	overdue  bool // the target timed out while a reservation was pending
	rejected map[*worker]bool
	res      *reservation
}

type reservation struct {
	id       string
	task     *task
	worker   *worker
	offerSeq uint64
	accepted bool
}

// New returns a router for prog's queues and workflows.
func New(prog *compiler.Program, opts ...Option) *Router {
	r := &Router{
		prog:       prog,
		activities: map[string]bool{"available": true, "break": false, "offline": false, "busy": false},
		laneByName: map[string]*lane{},
		workers:    map[string]*worker{},
		tasks:      map[string]*task{},
		res:        map[string]*reservation{},
	}
	for _, o := range opts {
		o(r)
	}
	for i, q := range prog.Queues {
		l := newLane(q, i)
		r.lanes = append(r.lanes, l)
		r.laneByName[q.Name] = l
	}
	return r
}

func (r *Router) next() uint64 { r.seq++; return r.seq }

func (r *Router) emit(e Event) { r.ev = append(r.ev, e) }

func (r *Router) flush() []Event {
	out := r.ev
	r.ev = nil
	return out
}

// baseEnv is the environment shared by routing expressions.
func (r *Router) baseEnv(now time.Time) map[string]any {
	env := map[string]any{
		compiler.NameNow: now,
		compiler.NameOpen: compiler.OpenFunc(func(h compiler.HoursRef) bool {
			if hs := r.prog.HoursNamed(h.Name); hs != nil {
				return hs.Open(now)
			}
			return false
		}),
	}
	for _, h := range r.prog.Hours {
		env[h.Name] = compiler.HoursRef{Name: h.Name}
	}
	return env
}

func (r *Router) workerEnv(w *worker, now time.Time) map[string]any {
	m := make(map[string]any, len(w.attrs)+3)
	for k, v := range w.attrs {
		m[k] = v
	}
	m["id"] = w.id
	if _, ok := m["name"]; !ok {
		m["name"] = w.id
	}
	m["activity"] = w.activity
	env := r.baseEnv(now)
	env[compiler.NameWorker] = m
	return env
}

func (r *Router) taskEnv(t *task, now time.Time) map[string]any {
	env := r.baseEnv(now)
	env[compiler.NameTask] = t.attrs
	return env
}

// SetProgram switches to a new program (a redeploy): queue membership is
// recomputed for every worker, waiting tasks move to the queue of the same
// name (or escalate along their chain when it is gone), and every worker
// is then offered what it can take. Tasks keep the target chain of the
// workflow they were enqueued on.
func (r *Router) SetProgram(prog *compiler.Program, now time.Time) []Event {
	r.prog = prog
	r.lanes = nil
	r.laneByName = map[string]*lane{}
	for i, q := range prog.Queues {
		l := newLane(q, i)
		r.lanes = append(r.lanes, l)
		r.laneByName[q.Name] = l
	}
	var orphans []*task
	for _, t := range r.sortedTasks() {
		if t.lane == nil || t.lane.q == nil {
			continue // unrouted, or waiting for a known worker: unchanged
		}
		nl := r.laneByName[t.lane.q.Name]
		switch t.state {
		case stateWaiting:
			t.lane.heap(t.channel).remove(t)
			if nl == nil {
				orphans = append(orphans, t)
				continue
			}
			t.lane = nl
			nl.heap(t.channel).push(t)
		case statePending:
			if nl != nil {
				t.lane = nl
				nl.pending++
			} else {
				t.overdue = true // escalates if declined
			}
		case stateAssigned:
			if nl != nil {
				t.lane = nl
			}
		}
	}
	ws := r.sortedWorkers()
	for _, w := range ws {
		r.membership(w, now)
	}
	for _, w := range ws {
		r.fillWorker(w, now)
	}
	for _, t := range orphans {
		r.escalate(t, "queue removed", now)
	}
	return r.flush()
}

func (r *Router) sortedTasks() []*task {
	out := make([]*task, 0, len(r.tasks))
	for _, t := range r.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (r *Router) sortedWorkers() []*worker {
	out := make([]*worker, 0, len(r.workers))
	for _, w := range r.workers {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// ---- workers ----

// AddWorker adds a worker. A nil capacity means {DefaultChannel: 1}.
func (r *Router) AddWorker(id string, attrs map[string]any, activity string, capacity map[string]int, now time.Time) ([]Event, error) {
	if _, dup := r.workers[id]; dup {
		return nil, fmt.Errorf("%w: worker %q", ErrDuplicate, id)
	}
	if capacity == nil {
		capacity = map[string]int{DefaultChannel: 1}
	}
	w := &worker{id: id, seq: r.next(), attrs: copyMap(attrs), activity: activity,
		capacity: copyCap(capacity), load: map[string]int{}, lastWork: now}
	w.direct = newDirectLane(w)
	r.workers[id] = w
	r.membership(w, now)
	r.fillWorker(w, now)
	return r.flush(), nil
}

// RemoveWorker deletes a worker that holds no reservation (set it to an
// unavailable activity and let it finish first). Tasks waiting for it by
// id escalate to their next target.
func (r *Router) RemoveWorker(id string, now time.Time) ([]Event, error) {
	w := r.workers[id]
	if w == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownWorker, id)
	}
	if w.total > 0 {
		return nil, fmt.Errorf("%w: worker %q still holds %d reservations", ErrState, id, w.total)
	}
	for _, l := range r.lanes {
		l.remove(w)
	}
	delete(r.workers, id)
	var waiting []*task
	for _, h := range w.direct.heaps {
		waiting = append(waiting, h.ts...)
	}
	sort.Slice(waiting, func(i, j int) bool { return waiting[i].seq < waiting[j].seq })
	for _, t := range waiting {
		w.direct.heap(t.channel).remove(t)
		t.timerGen++
		r.escalate(t, "worker removed", now)
	}
	return r.flush(), nil
}

// SetActivity changes a worker's activity. Becoming available offers it the
// best waiting tasks at once; becoming unavailable leaves its reservations
// as they are but stops new offers.
func (r *Router) SetActivity(id, activity string, now time.Time) ([]Event, error) {
	w := r.workers[id]
	if w == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownWorker, id)
	}
	was := r.available(w)
	w.activity = activity
	if !was && r.available(w) {
		w.lastWork = now
	}
	r.membership(w, now) // worker.activity is visible to queue expressions
	r.fillWorker(w, now)
	return r.flush(), nil
}

// SetCapacity replaces a worker's per-channel capacity. Lowering it below
// the current load takes nothing away; it only stops new offers.
func (r *Router) SetCapacity(id string, capacity map[string]int, now time.Time) ([]Event, error) {
	w := r.workers[id]
	if w == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownWorker, id)
	}
	w.capacity = copyCap(capacity)
	r.refresh(w)
	r.fillWorker(w, now)
	return r.flush(), nil
}

// SetAttributes replaces a worker's attributes and recomputes the queues it
// belongs to.
func (r *Router) SetAttributes(id string, attrs map[string]any, now time.Time) ([]Event, error) {
	w := r.workers[id]
	if w == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownWorker, id)
	}
	w.attrs = copyMap(attrs)
	r.membership(w, now)
	r.fillWorker(w, now)
	return r.flush(), nil
}

func (r *Router) available(w *worker) bool { return r.activities[w.activity] }

func (r *Router) ready(w *worker, ch string) bool {
	return r.available(w) && w.load[ch] < w.capacity[ch]
}

// membership evaluates every queue's Workers expression (and OrderBy) for w
// once, and updates the member and ready sets.
func (r *Router) membership(w *worker, now time.Time) {
	w.lanes = w.lanes[:0:0]
	for _, l := range r.lanes {
		in := false
		v, err := l.q.Workers.Eval(r.workerEnv(w, now))
		if err != nil {
			r.emit(Event{Type: ExprError, Time: now, Worker: w.id, Queue: l.q.Name, Reason: err.Error()})
		} else {
			in, _ = v.(bool)
		}
		if !in {
			l.remove(w)
			continue
		}
		var key orderKey
		if l.q.Strategy == compiler.StrategyExpr && l.q.OrderBy != nil {
			v, err := l.q.OrderBy.Eval(r.workerEnv(w, now))
			if err != nil {
				r.emit(Event{Type: ExprError, Time: now, Worker: w.id, Queue: l.q.Name, Reason: err.Error()})
			}
			key = makeKey(v)
		}
		l.members[w] = key
		w.lanes = append(w.lanes, l)
	}
	r.refresh(w)
}

// refresh puts w in or out of the ready sets of its lanes.
func (r *Router) refresh(w *worker) {
	for _, l := range w.lanes {
		l.setReady(w, r)
	}
	w.direct.setReady(w, r)
}

// ---- tasks ----

// Enqueue routes a new task through the named workflow. A priority given
// here is the task's base priority; a target's `priority` replaces it while
// the task waits there.
func (r *Router) Enqueue(id, workflow string, attrs map[string]any, priority int, channel string, now time.Time) ([]Event, error) {
	if _, dup := r.tasks[id]; dup {
		return nil, fmt.Errorf("%w: task %q", ErrDuplicate, id)
	}
	wf := r.prog.Workflow(workflow)
	if wf == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownWorkflow, workflow)
	}
	if channel == "" {
		channel = DefaultChannel
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	t := &task{id: id, seq: r.next(), attrs: attrs, channel: channel, priority: priority, created: now, hidx: -1}
	matched := false
	for _, f := range wf.Filters {
		v, err := f.When.Eval(r.taskEnv(t, now))
		if err != nil {
			r.emit(Event{Type: ExprError, Time: now, Task: id, Reason: err.Error()})
			continue
		}
		if b, _ := v.(bool); b {
			t.chain = append(append(t.chain, f.Targets...), wf.Default)
			matched = true
			break
		}
	}
	if !matched {
		t.chain = []compiler.Target{wf.Default}
	}
	r.tasks[id] = t
	r.place(t, now)
	return r.flush(), nil
}

// place puts t in the waiting list of chain[t.target], skipping targets it
// cannot use, and tries to offer it.
func (r *Router) place(t *task, now time.Time) {
	for {
		tgt := t.chain[t.target]
		l, reason := r.targetLane(t, tgt, now)
		last := t.target == len(t.chain)-1
		if l == nil {
			if last {
				// Nowhere to go: the task stays unrouted until canceled.
				t.lane = nil
				r.emit(Event{Type: TaskEscalated, Time: now, Task: t.id, Reason: reason + "; no target left"})
				return
			}
			t.target++
			r.emit(Event{Type: TaskEscalated, Time: now, Task: t.id, Reason: reason})
			continue
		}
		if tgt.Priority != nil {
			v, err := tgt.Priority.Eval(r.taskEnv(t, now))
			if err != nil {
				r.emit(Event{Type: ExprError, Time: now, Task: t.id, Reason: err.Error()})
			} else if p, ok := toFloat(v); ok {
				t.priority = int(p)
			}
		}
		t.deadline = time.Time{}
		t.overdue = false
		t.timerGen++
		if tgt.Timeout > 0 && !last {
			t.deadline = now.Add(tgt.Timeout)
			r.timers.push(timer{at: t.deadline, seq: t.seq, t: t, gen: t.timerGen})
		}
		t.lane = l
		r.wait(t)
		e := Event{Type: TaskQueued, Time: now, Task: t.id, Priority: t.priority}
		if l.q != nil {
			e.Queue = l.q.Name
		} else {
			e.Worker = l.owner.id
		}
		r.emit(e)
		r.offerTask(t, now)
		return
	}
}

func (r *Router) targetLane(t *task, tgt compiler.Target, now time.Time) (*lane, string) {
	if tgt.Worker == nil {
		l := r.laneByName[tgt.Queue]
		if l == nil {
			return nil, fmt.Sprintf("unknown queue %q", tgt.Queue)
		}
		return l, ""
	}
	v, err := tgt.Worker.Eval(r.taskEnv(t, now))
	if err != nil {
		return nil, err.Error()
	}
	id, _ := v.(string)
	w := r.workers[id]
	if w == nil {
		return nil, fmt.Sprintf("no worker %q", compiler.Stringify(v))
	}
	return w.direct, ""
}

func (r *Router) wait(t *task) {
	t.state = stateWaiting
	t.waitSeq = r.next()
	t.lane.heap(t.channel).push(t)
}

// offerTask offers a waiting task to the best ready member of its lane.
func (r *Router) offerTask(t *task, now time.Time) bool {
	l := t.lane
	if l == nil || l.throttled() {
		return false
	}
	w := l.choose(t)
	if w == nil {
		return false
	}
	r.reserve(t, w, now)
	return true
}

func (r *Router) reserve(t *task, w *worker, now time.Time) {
	l := t.lane
	l.heap(t.channel).remove(t)
	r.resSeq++
	res := &reservation{id: fmt.Sprintf("R%d", r.resSeq), task: t, worker: w, offerSeq: r.next()}
	r.res[res.id] = res
	t.res = res
	t.state = statePending
	w.load[t.channel]++
	w.total++
	w.lastWork = now
	l.pending++
	if l.q != nil {
		l.lastServed = w.seq
	}
	r.refresh(w)
	e := Event{Type: ReservationCreated, Time: now, Task: t.id, Reservation: res.id, Worker: w.id, Priority: t.priority}
	if l.q != nil {
		e.Queue = l.q.Name
	}
	r.emit(e)
}

// fillWorker offers w the best waiting tasks it can take until it is full.
func (r *Router) fillWorker(w *worker, now time.Time) {
	for r.available(w) {
		var best *task
		consider := func(l *lane) {
			if l.throttled() {
				return
			}
			for ch, c := range w.capacity {
				if w.load[ch] >= c {
					continue
				}
				h := l.heaps[ch]
				if h == nil {
					continue
				}
				if t := h.best(func(t *task) bool { return t.rejected[w] }); t != nil && (best == nil || less(t, best)) {
					best = t
				}
			}
		}
		for _, l := range w.lanes {
			consider(l)
		}
		consider(w.direct)
		if best == nil {
			return
		}
		r.reserve(best, w, now)
	}
}

// fillLane serves a lane's waiting tasks after its throttle is released.
func (r *Router) fillLane(l *lane, now time.Time) {
	for !l.throttled() {
		var best *task
		chans := make([]string, 0, len(l.heaps))
		for ch := range l.heaps {
			chans = append(chans, ch)
		}
		sort.Strings(chans)
		for _, ch := range chans {
			if len(l.ready[ch]) == 0 {
				continue
			}
			t := l.heaps[ch].best(func(t *task) bool { return l.choose(t) == nil })
			if t != nil && (best == nil || less(t, best)) {
				best = t
			}
		}
		if best == nil {
			return
		}
		r.offerTask(best, now)
	}
}

// ---- reservations ----

func (r *Router) pending(id string) (*reservation, error) {
	res := r.res[id]
	if res == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownReservation, id)
	}
	if res.accepted {
		return nil, fmt.Errorf("%w: reservation %q is already accepted", ErrState, id)
	}
	return res, nil
}

// Accept accepts a pending reservation: the task is assigned to the worker.
func (r *Router) Accept(resID string, now time.Time) ([]Event, error) {
	res, err := r.pending(resID)
	if err != nil {
		return nil, err
	}
	t := res.task
	res.accepted = true
	t.lane.pending--
	t.state = stateAssigned
	t.timerGen++ // escalation no longer applies
	t.overdue = false
	r.emit(Event{Type: ReservationAccepted, Time: now, Task: t.id, Reservation: res.id, Worker: res.worker.id, Queue: t.lane.name()})
	r.release(t.lane, now)
	return r.flush(), nil
}

// Reject rejects a pending reservation: the task goes to the next eligible
// worker, never back to this one, and the worker's capacity is free again.
func (r *Router) Reject(resID string, now time.Time) ([]Event, error) {
	return r.decline(resID, ReservationRejected, now)
}

// Timeout ends a pending reservation the worker did not answer in time; it
// behaves like Reject.
func (r *Router) Timeout(resID string, now time.Time) ([]Event, error) {
	return r.decline(resID, ReservationTimeout, now)
}

func (r *Router) decline(resID string, typ EventType, now time.Time) ([]Event, error) {
	res, err := r.pending(resID)
	if err != nil {
		return nil, err
	}
	t, w := res.task, res.worker
	r.emit(Event{Type: typ, Time: now, Task: t.id, Reservation: res.id, Worker: w.id, Queue: t.lane.name()})
	if t.rejected == nil {
		t.rejected = map[*worker]bool{}
	}
	t.rejected[w] = true
	r.unreserve(res)
	l := t.lane
	if t.overdue {
		r.escalate(t, "target timed out", now)
	} else {
		r.wait(t)
		r.offerTask(t, now)
	}
	r.fillWorker(w, now)
	r.release(l, now)
	return r.flush(), nil
}

// unreserve drops a reservation and frees its worker's capacity.
func (r *Router) unreserve(res *reservation) {
	t, w := res.task, res.worker
	delete(r.res, res.id)
	t.res = nil
	w.load[t.channel]--
	w.total--
	if !res.accepted {
		t.lane.pending--
	}
	r.refresh(w)
}

// release serves a throttled lane once one of its reservations is answered.
func (r *Router) release(l *lane, now time.Time) {
	if l != nil && l.q != nil && l.q.MaxReserved > 0 {
		r.fillLane(l, now)
	}
}

// Complete ends an assigned task; its worker's capacity is offered at once.
func (r *Router) Complete(taskID string, now time.Time) ([]Event, error) {
	t := r.tasks[taskID]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTask, taskID)
	}
	if t.state != stateAssigned {
		return nil, fmt.Errorf("%w: task %q is not assigned", ErrState, taskID)
	}
	res := t.res
	w := res.worker
	r.unreserve(res)
	delete(r.tasks, taskID)
	r.emit(Event{Type: ReservationDone, Time: now, Task: t.id, Reservation: res.id, Worker: w.id, Queue: t.lane.name()})
	r.emit(Event{Type: TaskCompleted, Time: now, Task: t.id, Worker: w.id, Queue: t.lane.name()})
	r.fillWorker(w, now)
	return r.flush(), nil
}

// Cancel ends a task in any state (the customer left, the flow timed out).
func (r *Router) Cancel(taskID string, now time.Time) ([]Event, error) {
	t := r.tasks[taskID]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTask, taskID)
	}
	delete(r.tasks, taskID)
	t.timerGen++
	switch t.state {
	case stateWaiting:
		if t.lane != nil {
			t.lane.heap(t.channel).remove(t)
		}
		r.emit(Event{Type: TaskCanceled, Time: now, Task: t.id, Queue: t.lane.name()})
	default:
		res, w := t.res, t.res.worker
		pending := !res.accepted
		r.unreserve(res)
		r.emit(Event{Type: ReservationCanceled, Time: now, Task: t.id, Reservation: res.id, Worker: w.id, Queue: t.lane.name()})
		r.emit(Event{Type: TaskCanceled, Time: now, Task: t.id, Worker: w.id, Queue: t.lane.name()})
		r.fillWorker(w, now)
		if pending {
			r.release(t.lane, now)
		}
	}
	return r.flush(), nil
}

// Tick escalates every task whose current target timed out at or before
// now to the next target of its chain. A task with a pending reservation
// escalates when that reservation is rejected or times out.
func (r *Router) Tick(now time.Time) []Event {
	for len(r.timers) > 0 && !r.timers[0].at.After(now) {
		tm := r.timers.pop()
		t := tm.t
		if tm.gen != t.timerGen || r.tasks[t.id] != t {
			continue
		}
		switch t.state {
		case stateWaiting:
			t.lane.heap(t.channel).remove(t)
			r.escalate(t, "target timed out", now)
		case statePending:
			t.overdue = true
		}
	}
	return r.flush()
}

func (r *Router) escalate(t *task, reason string, now time.Time) {
	from := t.lane.name()
	if t.target+1 >= len(t.chain) {
		// Nowhere left to go (its last queue was removed): unrouted until canceled.
		t.lane = nil
		t.state = stateWaiting
		r.emit(Event{Type: TaskEscalated, Time: now, Task: t.id, Queue: from, Reason: reason + "; no target left"})
		return
	}
	t.target++
	r.emit(Event{Type: TaskEscalated, Time: now, Task: t.id, Queue: from, Reason: reason})
	r.place(t, now)
}

// NextDeadline returns the earliest pending escalation, for the runtime's
// timer; ok is false when there is none.
func (r *Router) NextDeadline() (time.Time, bool) {
	for len(r.timers) > 0 {
		tm := r.timers[0]
		if tm.gen == tm.t.timerGen && r.tasks[tm.t.id] == tm.t && tm.t.state != stateAssigned {
			return tm.at, true
		}
		r.timers.pop()
	}
	return time.Time{}, false
}

// ---- read-only views ----

// Waiting returns the number of tasks waiting in a queue.
func (r *Router) Waiting(queue string) int {
	l := r.laneByName[queue]
	if l == nil {
		return 0
	}
	n := 0
	for _, h := range l.heaps {
		n += len(h.ts)
	}
	return n
}

// Members returns the ids of a queue's members, sorted.
func (r *Router) Members(queue string) []string {
	l := r.laneByName[queue]
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l.members))
	for w := range l.members {
		out = append(out, w.id)
	}
	sort.Strings(out)
	return out
}

// Load returns how many tasks (pending or accepted) a worker holds on a channel.
func (r *Router) Load(worker, channel string) int {
	if w := r.workers[worker]; w != nil {
		return w.load[channel]
	}
	return 0
}

// TaskQueue returns the queue a task is in (empty for a known-worker target)
// and its current priority.
func (r *Router) TaskQueue(taskID string) (queue string, priority int, ok bool) {
	t := r.tasks[taskID]
	if t == nil {
		return "", 0, false
	}
	return t.lane.name(), t.priority, true
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyCap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
