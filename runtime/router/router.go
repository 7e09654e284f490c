package router

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
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
	ErrUnknownQueue       = errors.New("router: unknown queue")
	ErrDuplicate          = errors.New("router: id already in use")
	ErrState              = errors.New("router: not allowed in the current state")
)

// EventType names what happened.
type EventType string

// Event types.
const (
	// TaskQueued: the task waits in Queue (or for Worker). Reason is empty
	// for a new task, else "escalated", "transferred" or "restored".
	TaskQueued    EventType = "task.queued"
	TaskEscalated EventType = "task.escalated" // its target timed out or could not be used; Reason says which
	TaskWrapping  EventType = "task.wrapping"  // the worker finished the conversation and wraps up; capacity stays held
	// TaskCompleted: Reason "wrapup_timeout" when Tick ended the wrap-up.
	TaskCompleted EventType = "task.completed"
	// TaskCanceled: Reason "abandoned" when the task was never assigned.
	TaskCanceled EventType = "task.canceled"
	// TaskTransferred: Transfer was called (Reason "cold" or "warm"); Worker
	// is the worker handing the task over, Queue or ToWorker the destination.
	TaskTransferred EventType = "task.transferred"
	// TaskTransferFailed: a warm transfer ended without the destination
	// accepting; the task stays assigned to Worker. Reason says why.
	TaskTransferFailed EventType = "task.transfer_failed"
	// TaskRestored: Restore re-created the task (State in Reason).
	TaskRestored        EventType = "task.restored"
	ReservationCreated  EventType = "reservation.created" // offered to Worker
	ReservationAccepted EventType = "reservation.accepted"
	ReservationRejected EventType = "reservation.rejected"
	ReservationTimeout  EventType = "reservation.timeout"
	ReservationCanceled EventType = "reservation.canceled" // its task was canceled (pending or accepted), or a warm transfer's offer was withdrawn
	ReservationDone     EventType = "reservation.completed"
	// ReservationTransferred: the worker's reservation ended because the
	// task was transferred (cold: at once; warm: when the destination accepted).
	ReservationTransferred EventType = "reservation.transferred"
	WorkerCreated          EventType = "worker.created" // Activity, Capacity, Attributes
	WorkerRemoved          EventType = "worker.removed"
	// WorkerActivity: Activity is the new activity, PrevActivity the old;
	// Reason "missed_reservations" when WithMissedLimit moved the worker.
	WorkerActivity   EventType = "worker.activity"
	WorkerCapacity   EventType = "worker.capacity"   // Capacity is the new capacity
	WorkerAttributes EventType = "worker.attributes" // Attributes are the new attributes
	ExprError        EventType = "expr.error"        // an expression failed; Reason holds the error
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

	Workflow string // the task's workflow, on every task and reservation event
	Channel  string // the task's channel, on every task and reservation event
	// Wait is, on reservation.accepted, how long the task waited for this
	// assignment (since it was enqueued or transferred); on an abandoned
	// task.canceled, how long it waited before the customer left.
	Wait         time.Duration
	ToWorker     string         // task.transferred to a worker
	Activity     string         // worker.created, worker.activity
	PrevActivity string         // worker.activity
	Capacity     map[string]int // worker.created, worker.capacity
	Attributes   map[string]any // worker.created, worker.attributes
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

// WithWrapUp completes a wrapping task automatically (Reason
// "wrapup_timeout") when it has wrapped up for d. 0, the default, lets
// wrap-up last until Complete.
func WithWrapUp(d time.Duration) Option { return func(r *Router) { r.wrapUp = d } }

// WithReservationTimeout times out (as Timeout does) a reservation not
// accepted within d of its offer. 0, the default, leaves it to the caller.
func WithReservationTimeout(d time.Duration) Option {
	return func(r *Router) { r.resTimeout = d }
}

// WithMissedLimit moves a worker to activity (meant to be an unavailable
// one such as "away") after n consecutive rejected or timed-out
// reservations, so that tasks stop going to someone who is not there. An
// accepted reservation resets the count, and so does becoming available
// again. n <= 0, the default, disables it. An activity missing from the
// activity table is unavailable, so "away" needs no WithActivities entry.
func WithMissedLimit(n int, activity string) Option {
	return func(r *Router) { r.missedLimit, r.missedActivity = n, activity }
}

// WithReofferAfter lets a worker who rejected a task, or let its offer
// time out, be offered that task again once d has passed, if it is still
// waiting then. Until then the task goes only to other workers; without
// the lapse a task every eligible worker declined would wait unseen until
// its flow's timeout. The lapse is not immediate because an offer made
// back at once to whoever just declined it would bounce straight back.
// A cold transfer's handing-over worker is excluded the same way. 0, the
// default, keeps every exclusion for the task's life.
func WithReofferAfter(d time.Duration) Option { return func(r *Router) { r.reoffer = d } }

// WithReservationIDs replaces the reservation id generator (default "R1",
// "R2", …). A router rebuilt on leader takeover needs ids that cannot
// collide with those its predecessor handed out.
func WithReservationIDs(next func() string) Option { return func(r *Router) { r.newResID = next } }

// Router is the in-memory task router. See the package comment.
type Router struct {
	prog           *compiler.Program
	activities     map[string]bool
	wrapUp         time.Duration
	resTimeout     time.Duration
	missedLimit    int
	missedActivity string
	reoffer        time.Duration
	newResID       func() string
	lanes          []*lane // one per queue, in program order
	laneByName     map[string]*lane
	workers        map[string]*worker
	tasks          map[string]*task
	res            map[string]*reservation
	timers         timerHeap
	seq            uint64 // tasks, workers, waits: a total order
	resSeq         uint64
	ev             []Event
}

type worker struct {
	id       string
	seq      uint64
	attrs    map[string]any
	activity string
	capacity map[string]int
	load     map[string]int
	total    int
	lastWork time.Time // became available or was last offered a task
	lanes    []*lane   // member queues, program order
	direct   *lane     // tasks targeting this worker by id
	missed   int       // consecutive rejected or timed-out reservations
}

type taskState uint8

const (
	stateWaiting taskState = iota
	statePending
	stateAssigned
	stateWrapping
)

// target is a workflow target (shared with the program, not copied: every
// waiting task holds its chain), or a transfer's destination worker given
// by id instead of by expression.
type target struct {
	*compiler.Target
	workerID string
}

type task struct {
	// The heap order and the offer checks read these first fields for
	// every task they look at: together they fill one cache line.
	priority int
	created  time.Time // its age, kept across escalations and transfers
	seq      uint64
	hidx     int // index in its heap, -1 when not waiting
	// rejected holds the workers the task must not be offered to, each
	// with when that lapses (zero: never; see WithReofferAfter).
	rejected map[*worker]time.Time
	xfer     *warmTransfer // a warm transfer in progress

	id        string
	waitSeq   uint64 // when it last entered a heap
	workflow  string
	attrs     map[string]any
	channel   string
	waitStart time.Time // since when it waits for the current assignment
	chain     []target
	target    int
	lane      *lane
	state     taskState
	deadline  time.Time // of the current target; zero: none
	timerGen  uint64
	overdue   bool // the target timed out while a reservation was pending
	res       *reservation
}

// excluded reports whether t must not be offered to w: w rejected it, or w
// still holds it while it is being warm-transferred.
func (t *task) excluded(w *worker) bool {
	_, declined := t.rejected[w]
	return declined || (t.xfer != nil && t.xfer.held.worker == w)
}

// exclude keeps t from w, for the re-offer time if one is set.
func (r *Router) exclude(t *task, w *worker, now time.Time) {
	if t.rejected == nil {
		t.rejected = map[*worker]time.Time{}
	}
	var until time.Time
	if r.reoffer > 0 {
		until = now.Add(r.reoffer)
		r.timers.push(timer{at: until, seq: r.next(), t: t, w: w})
	}
	t.rejected[w] = until
}

// lapse ends w's exclusion from t; a task still waiting may go to w now,
// since it is the one worker the last offer attempt could not consider.
func (r *Router) lapse(t *task, w *worker, now time.Time) {
	delete(t.rejected, w)
	if t.state == stateWaiting && t.lane != nil {
		r.offerTask(t, now)
	}
}

type reservation struct {
	id       string
	task     *task
	worker   *worker
	lane     *lane // the lane it was offered through
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
	if r.newResID == nil {
		r.newResID = func() string { r.resSeq++; return fmt.Sprintf("R%d", r.resSeq) }
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

// expect sizes the next call's event list for the n events it usually
// returns: growing it one append at a time would allocate three times on
// the assignment path.
func (r *Router) expect(n int) {
	if r.ev == nil {
		r.ev = make([]Event, 0, n)
	}
}

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
	relane := func(l *lane) *lane {
		if l == nil || l.q == nil {
			return l // unrouted, or a known-worker lane: unchanged
		}
		if nl := r.laneByName[l.q.Name]; nl != nil {
			return nl
		}
		return l
	}
	for _, t := range r.sortedTasks() {
		if t.xfer != nil {
			t.xfer.held.lane = relane(t.xfer.held.lane)
		}
		if t.lane == nil || t.lane.q == nil {
			continue
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
				t.res.lane = nl
				nl.pending++
			} else {
				t.overdue = true // escalates if declined
			}
		case stateAssigned, stateWrapping:
			if nl != nil {
				t.lane = nl
				t.res.lane = nl
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
		if t.xfer != nil {
			r.failTransfer(t, "queue removed", now)
		} else {
			r.escalate(t, "queue removed", now)
		}
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
	r.emit(Event{Type: WorkerCreated, Time: now, Worker: id, Activity: activity,
		Capacity: copyCap(w.capacity), Attributes: copyMap(w.attrs)})
	r.membership(w, now)
	r.fillWorker(w, now)
	return r.flush(), nil
}

// RemoveWorker deletes a worker that holds no reservation (set it to an
// unavailable activity and let it finish first). Tasks waiting for it by
// id escalate to their next target; a warm transfer to it fails.
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
	r.emit(Event{Type: WorkerRemoved, Time: now, Worker: id, Activity: w.activity})
	var waiting []*task
	for _, h := range w.direct.heaps {
		waiting = append(waiting, h.tasks()...)
	}
	sort.Slice(waiting, func(i, j int) bool { return waiting[i].seq < waiting[j].seq })
	for _, t := range waiting {
		if t.xfer != nil {
			r.failTransfer(t, "worker removed", now)
			continue
		}
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
	r.setActivity(w, activity, "", now)
	r.fillWorker(w, now)
	return r.flush(), nil
}

func (r *Router) setActivity(w *worker, activity, reason string, now time.Time) {
	if activity == w.activity {
		return
	}
	r.emit(Event{Type: WorkerActivity, Time: now, Worker: w.id, Activity: activity, PrevActivity: w.activity, Reason: reason})
	was := r.available(w)
	w.activity = activity
	if !was && r.available(w) {
		w.lastWork = now
		w.missed = 0
	}
	r.membership(w, now) // worker.activity is visible to queue expressions
}

// SetCapacity replaces a worker's per-channel capacity. Lowering it below
// the current load takes nothing away; it only stops new offers.
func (r *Router) SetCapacity(id string, capacity map[string]int, now time.Time) ([]Event, error) {
	w := r.workers[id]
	if w == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownWorker, id)
	}
	if !maps.Equal(w.capacity, capacity) {
		w.capacity = copyCap(capacity)
		r.emit(Event{Type: WorkerCapacity, Time: now, Worker: id, Capacity: copyCap(capacity)})
	}
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
	if (len(w.attrs) != 0 || len(attrs) != 0) && !reflect.DeepEqual(w.attrs, attrs) {
		w.attrs = copyMap(attrs)
		r.emit(Event{Type: WorkerAttributes, Time: now, Worker: id, Attributes: copyMap(attrs)})
	}
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
	r.expect(2) // task.queued, the offer
	t := r.newTask(id, workflow, wf, attrs, priority, channel, now, now)
	r.tasks[id] = t
	r.place(t, "", now)
	return r.flush(), nil
}

// newTask builds a task and its target chain: the first matching filter's
// targets followed by the default. A nil wf (a restored task whose
// workflow a redeploy removed) gives an empty chain.
func (r *Router) newTask(id, workflow string, wf *compiler.Workflow, attrs map[string]any, priority int, channel string, created, now time.Time) *task {
	if channel == "" {
		channel = DefaultChannel
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	t := &task{id: id, seq: r.next(), workflow: workflow, attrs: attrs, channel: channel, priority: priority,
		created: created, waitStart: created, hidx: -1}
	if wf == nil {
		return t
	}
	var targets []compiler.Target
	env := r.taskEnv(t, now) // one for all filters: it is the same task at the same time
	for _, f := range wf.Filters {
		v, err := f.When.Eval(env)
		if err != nil {
			r.emit(Event{Type: ExprError, Time: now, Task: id, Workflow: wf.Name, Channel: channel, Reason: err.Error()})
			continue
		}
		if b, _ := v.(bool); b {
			targets = f.Targets
			break
		}
	}
	t.chain = make([]target, 0, len(targets)+1)
	for i := range targets {
		t.chain = append(t.chain, target{Target: &targets[i]})
	}
	t.chain = append(t.chain, target{Target: &wf.Default})
	return t
}

// taskEvent is an event about t, carrying what statistics need.
func (r *Router) taskEvent(typ EventType, t *task, now time.Time) Event {
	return Event{Type: typ, Time: now, Task: t.id, Queue: t.lane.name(), Priority: t.priority,
		Workflow: t.workflow, Channel: t.channel}
}

func (r *Router) resEvent(typ EventType, res *reservation, now time.Time) Event {
	e := r.taskEvent(typ, res.task, now)
	e.Reservation, e.Worker, e.Queue = res.id, res.worker.id, res.lane.name()
	return e
}

// place puts t in the waiting list of chain[t.target], skipping targets it
// cannot use, and tries to offer it. why is the Reason of task.queued.
func (r *Router) place(t *task, why string, now time.Time) {
	for {
		tgt := t.chain[t.target]
		l, reason := r.targetLane(t, tgt, now)
		last := t.target == len(t.chain)-1
		if l == nil {
			if last {
				// Nowhere to go: the task stays unrouted until canceled.
				r.unroute(t)
				e := r.taskEvent(TaskEscalated, t, now)
				e.Reason = reason + "; no target left"
				r.emit(e)
				return
			}
			t.target++
			e := r.taskEvent(TaskEscalated, t, now)
			e.Queue, e.Reason = "", reason
			r.emit(e)
			continue
		}
		if tgt.Priority != nil {
			v, err := tgt.Priority.Eval(r.taskEnv(t, now))
			if err != nil {
				r.emit(Event{Type: ExprError, Time: now, Task: t.id, Workflow: t.workflow, Channel: t.channel, Reason: err.Error()})
			} else if p, ok := toFloat(v); ok {
				t.priority = int(p)
			}
		}
		t.deadline = time.Time{}
		t.overdue = false
		t.timerGen++
		// A warm transfer's only target still needs its deadline: that is
		// when the transfer fails.
		if tgt.Timeout > 0 && (!last || t.xfer != nil) {
			r.setDeadline(t, now.Add(tgt.Timeout))
		}
		t.lane = l
		r.wait(t)
		e := r.taskEvent(TaskQueued, t, now)
		e.Reason = why
		if l.q == nil {
			e.Worker = l.owner.id
		}
		r.emit(e)
		r.offerTask(t, now)
		return
	}
}

// setDeadline arms t's one timer (its target's timeout, or its wrap-up),
// replacing the previous one.
func (r *Router) setDeadline(t *task, at time.Time) {
	t.timerGen++
	t.deadline = at
	r.timers.push(timer{at: at, seq: t.seq, t: t, gen: t.timerGen})
}

func (r *Router) targetLane(t *task, tgt target, now time.Time) (*lane, string) {
	if tgt.workerID != "" {
		if w := r.workers[tgt.workerID]; w != nil {
			return w.direct, ""
		}
		return nil, fmt.Sprintf("no worker %q", tgt.workerID)
	}
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
	res := &reservation{id: r.newResID(), task: t, worker: w, lane: l, offerSeq: r.next()}
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
	if r.resTimeout > 0 {
		r.timers.push(timer{at: now.Add(r.resTimeout), seq: res.offerSeq, t: t, res: res})
	}
	r.refresh(w)
	r.emit(r.resEvent(ReservationCreated, res, now))
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
				if t := h.best(func(t *task) bool { return t.excluded(w) }); t != nil && (best == nil || less(t, best)) {
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
		chans := slices.Sorted(maps.Keys(l.heaps))
		for _, ch := range chans {
			if l.ready[ch].len() == 0 {
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
// Accepting a warm transfer's offer ends the transferring worker's
// reservation.
func (r *Router) Accept(resID string, now time.Time) ([]Event, error) {
	res, err := r.pending(resID)
	if err != nil {
		return nil, err
	}
	t, w := res.task, res.worker
	res.accepted = true
	res.lane.pending--
	t.state = stateAssigned
	t.timerGen++ // escalation no longer applies
	t.overdue = false
	w.missed = 0
	e := r.resEvent(ReservationAccepted, res, now)
	e.Wait = now.Sub(t.waitStart)
	r.emit(e)
	if x := t.xfer; x != nil {
		t.xfer = nil
		r.emit(r.resEvent(ReservationTransferred, x.held, now))
		r.unreserve(x.held)
		r.fillWorker(x.held.worker, now)
	}
	r.release(res.lane, now)
	return r.flush(), nil
}

// Reject rejects a pending reservation: the task goes to the next eligible
// worker, never back to this one, and the worker's capacity is free again.
func (r *Router) Reject(resID string, now time.Time) ([]Event, error) {
	res, err := r.pending(resID)
	if err != nil {
		return nil, err
	}
	r.decline(res, ReservationRejected, "", now)
	return r.flush(), nil
}

// Bounce ends the accepted reservation of an assigned task whose worker
// could not be reached (the agent's phone did not answer the call): like a
// rejection, the task waits for the next eligible worker, never this one.
func (r *Router) Bounce(taskID, reason string, now time.Time) ([]Event, error) {
	t := r.tasks[taskID]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTask, taskID)
	}
	if t.state != stateAssigned || t.res == nil {
		return nil, fmt.Errorf("%w: task %q is not assigned", ErrState, taskID)
	}
	if t.xfer != nil {
		r.failTransfer(t, "worker unreachable", now)
	}
	r.decline(t.res, ReservationRejected, reason, now)
	return r.flush(), nil
}

// Timeout ends a pending reservation the worker did not answer in time; it
// behaves like Reject.
func (r *Router) Timeout(resID string, now time.Time) ([]Event, error) {
	res, err := r.pending(resID)
	if err != nil {
		return nil, err
	}
	r.decline(res, ReservationTimeout, "", now)
	return r.flush(), nil
}

func (r *Router) decline(res *reservation, typ EventType, reason string, now time.Time) {
	t, w, l := res.task, res.worker, res.lane
	e := r.resEvent(typ, res, now)
	e.Reason = reason
	r.emit(e)
	r.exclude(t, w, now)
	r.unreserve(res)
	w.missed++
	if r.missedLimit > 0 && w.missed >= r.missedLimit {
		w.missed = 0
		r.setActivity(w, r.missedActivity, "missed_reservations", now)
	}
	switch {
	case t.xfer != nil && (l.q == nil || t.overdue):
		// A worker destination answers for itself; a queue destination
		// keeps trying its members until the transfer's timeout.
		why := "destination rejected"
		if typ == ReservationTimeout {
			why = "destination timed out"
		}
		if t.overdue {
			why = "transfer timed out"
		}
		r.failTransfer(t, why, now)
	case t.overdue:
		r.escalate(t, "target timed out", now)
	default:
		r.wait(t)
		if l.q == nil || l.q.MaxReserved == 0 {
			r.offerTask(t, now)
		} // else release serves the queue in priority order: a better task may have waited for the throttle
	}
	r.fillWorker(w, now)
	r.release(l, now)
}

// unreserve drops a reservation and frees its worker's capacity.
func (r *Router) unreserve(res *reservation) {
	t, w := res.task, res.worker
	delete(r.res, res.id)
	if t.res == res {
		t.res = nil
	}
	w.load[t.channel]--
	w.total--
	if !res.accepted {
		res.lane.pending--
	}
	r.refresh(w)
}

// release serves a throttled lane once one of its reservations is answered.
func (r *Router) release(l *lane, now time.Time) {
	if l != nil && l.q != nil && l.q.MaxReserved > 0 {
		r.fillLane(l, now)
	}
}

// WrapUp moves an assigned task to wrapping: the conversation is over but
// the worker's capacity stays held until Complete (or, with WithWrapUp,
// until the wrap-up time runs out). A warm transfer in progress is
// abandoned.
func (r *Router) WrapUp(taskID string, now time.Time) ([]Event, error) {
	t := r.tasks[taskID]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTask, taskID)
	}
	if t.xfer != nil {
		r.failTransfer(t, "wrapping", now)
	}
	if t.state != stateAssigned {
		return nil, fmt.Errorf("%w: task %q is not assigned", ErrState, taskID)
	}
	t.state = stateWrapping
	r.emit(r.resEvent(TaskWrapping, t.res, now))
	if r.wrapUp > 0 {
		r.setDeadline(t, now.Add(r.wrapUp))
	}
	return r.flush(), nil
}

// Complete ends an assigned or wrapping task; its worker's capacity is
// offered at once. A warm transfer in progress is abandoned.
func (r *Router) Complete(taskID string, now time.Time) ([]Event, error) {
	t := r.tasks[taskID]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTask, taskID)
	}
	r.expect(3) // reservation.completed, task.completed, the next offer
	if t.xfer != nil {
		r.failTransfer(t, "completed", now)
	}
	if t.state != stateAssigned && t.state != stateWrapping {
		return nil, fmt.Errorf("%w: task %q is not assigned", ErrState, taskID)
	}
	r.complete(t, "", now)
	return r.flush(), nil
}

func (r *Router) complete(t *task, reason string, now time.Time) {
	res := t.res
	w := res.worker
	r.unreserve(res)
	delete(r.tasks, t.id)
	t.timerGen++
	r.emit(r.resEvent(ReservationDone, res, now))
	e := r.resEvent(TaskCompleted, res, now)
	e.Reservation, e.Reason = "", reason
	r.emit(e)
	r.fillWorker(w, now)
}

// Cancel ends a task in any state (the customer left, the flow timed out).
func (r *Router) Cancel(taskID string, now time.Time) ([]Event, error) {
	t := r.tasks[taskID]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTask, taskID)
	}
	if t.xfer != nil {
		r.failTransfer(t, "task canceled", now)
	}
	delete(r.tasks, taskID)
	t.timerGen++
	switch t.state {
	case stateWaiting:
		if t.lane != nil {
			t.lane.heap(t.channel).remove(t)
		}
		e := r.taskEvent(TaskCanceled, t, now)
		e.Reason, e.Wait = "abandoned", now.Sub(t.waitStart)
		r.emit(e)
	default:
		res, w := t.res, t.res.worker
		pending := !res.accepted
		r.unreserve(res)
		r.emit(r.resEvent(ReservationCanceled, res, now))
		e := r.resEvent(TaskCanceled, res, now)
		e.Reservation = ""
		if pending {
			e.Reason, e.Wait = "abandoned", now.Sub(t.waitStart)
		}
		r.emit(e)
		r.fillWorker(w, now)
		if pending {
			r.release(res.lane, now)
		}
	}
	return r.flush(), nil
}

// Tick handles every deadline at or before now: a task whose current target
// timed out escalates to the next target of its chain (a task with a
// pending reservation escalates when that reservation is rejected or times
// out); a reservation older than WithReservationTimeout times out; a
// wrap-up longer than WithWrapUp completes; a warm transfer past its
// timeout fails; a worker's exclusion from a task it declined lapses
// (WithReofferAfter) and the task, if still waiting, may be offered to it.
func (r *Router) Tick(now time.Time) []Event {
	for len(r.timers) > 0 && !r.timers[0].at.After(now) {
		tm := r.timers.pop()
		if !r.live(tm) {
			continue
		}
		if tm.res != nil {
			r.decline(tm.res, ReservationTimeout, "", now)
			continue
		}
		if tm.w != nil {
			r.lapse(tm.t, tm.w, now)
			continue
		}
		t := tm.t
		switch t.state {
		case stateWaiting:
			if t.xfer != nil {
				r.failTransfer(t, "transfer timed out", now)
				continue
			}
			t.lane.heap(t.channel).remove(t)
			r.escalate(t, "target timed out", now)
		case statePending:
			t.overdue = true
		case stateWrapping:
			r.complete(t, "wrapup_timeout", now)
		}
	}
	return r.flush()
}

// live reports whether a timer still applies: its reservation is still
// pending, or its task still has this deadline.
func (r *Router) live(tm timer) bool {
	if tm.res != nil {
		return r.res[tm.res.id] == tm.res && !tm.res.accepted
	}
	if tm.w != nil {
		until, ok := tm.t.rejected[tm.w]
		return ok && until.Equal(tm.at) && r.tasks[tm.t.id] == tm.t
	}
	return tm.gen == tm.t.timerGen && r.tasks[tm.t.id] == tm.t && tm.t.state != stateAssigned
}

// unroute leaves t waiting nowhere; no deadline of a target it left (nor
// the state of an offer it just lost) may act on it any more.
func (r *Router) unroute(t *task) {
	t.lane = nil
	t.state = stateWaiting
	t.timerGen++
	t.deadline = time.Time{}
	t.overdue = false
}

func (r *Router) escalate(t *task, reason string, now time.Time) {
	from := t.lane.name()
	if t.target+1 >= len(t.chain) {
		// Nowhere left to go (its last queue was removed): unrouted until canceled.
		r.unroute(t)
		e := r.taskEvent(TaskEscalated, t, now)
		e.Queue, e.Reason = from, reason+"; no target left"
		r.emit(e)
		return
	}
	t.target++
	e := r.taskEvent(TaskEscalated, t, now)
	e.Queue, e.Reason = from, reason
	r.emit(e)
	r.place(t, "escalated", now)
}

// NextDeadline returns the earliest pending escalation, reservation
// timeout, wrap-up end, transfer timeout or exclusion lapse, for the runtime's timer; ok is
// false when there is none.
func (r *Router) NextDeadline() (time.Time, bool) {
	for len(r.timers) > 0 {
		if tm := r.timers[0]; r.live(tm) {
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
		n += h.len()
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
