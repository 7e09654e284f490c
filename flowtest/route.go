package flowtest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/leader/policy"
	"github.com/switchboard-dev/switchboard/runtime/router"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// routing is a test's router: the real router core (runtime/router) built
// from the program under test as serve builds it (runtime/leader/policy),
// fed the tasks the flows enqueue, with the test playing the agents' side.
type routing struct {
	rt         *router.Router
	follow     *policy.Tasks // where each task stands, as the leader follows it
	tasks      map[string]*routed
	workers    map[string]*router.Event // by id: the worker as its last event left it
	lastWorker map[string]string        // by contact: task.last_worker for its next task
	errors     []string                 // queue expressions that failed on a worker
}

// routed is what the router did with one task, read back from its events.
type routed struct {
	*policy.Task
	conv     *conv     // the conversation whose flow enqueued it
	from     *visit    // the enqueue step
	at       time.Time // when it was enqueued
	known    string    // the known worker it waits for (no queue)
	unrouted bool      // no target left
	ended    string    // "completed by ana", "canceled"
	history  []string
}

// setupRouter builds the router and adds the test's workers.
func (r *runner) setupRouter() {
	r.route = &routing{rt: r.test.Policy().New(r.prog), follow: policy.NewTasks(), tasks: map[string]*routed{},
		workers: map[string]*router.Event{}, lastWorker: map[string]string{}}
	if r.test.Setup.LastWorker != "" {
		r.route.lastWorker[r.Contact.ID] = r.test.Setup.LastWorker
	}
	for _, w := range r.test.Setup.Workers {
		capacity := w.Capacity
		if capacity == nil {
			capacity = policy.DefaultCapacity
		}
		evs, err := r.route.rt.AddWorker(w.ID, w.Attributes, w.Activity, capacity, r.Now)
		if err != nil {
			f := &Failure{Message: fmt.Sprintf("worker %s: %v", w.ID, err), Line: "worker " + w.ID}
			r.fail(f)
		}
		r.routerEvents(evs)
	}
}

// enqueue feeds a task the flow created into the router. As the runtime
// does, it adds `last_worker` to the attributes unless the flow set it.
func (r *runner) enqueue(c *conv, e *engine.EnqueueEffect, from *visit) {
	attrs := make(map[string]any, len(e.Attributes)+1)
	for k, v := range normalize(e.Attributes).(map[string]any) {
		attrs[k] = v
	}
	policy.TaskAttributes(attrs, r.route.lastWorker[c.Contact.ID])
	t := &routed{Task: &policy.Task{ID: e.TaskID}, conv: c, from: from, at: r.Now}
	r.route.follow.Track(t.Task)
	r.route.tasks[e.TaskID] = t
	evs, err := r.route.rt.Enqueue(e.TaskID, e.Workflow, attrs, int(e.Priority), e.Channel, r.Now)
	if err != nil {
		name, span := r.stepName(from)
		r.fail(&Failure{Message: "the router refused the task: " + err.Error(), Step: name, StepSpan: span})
	}
	r.routerEvents(evs)
}

// routerEvents takes in what the router did. When a task a flow waits for
// ends, the engine gets the task's outcome in that flow's conversation.
func (r *runner) routerEvents(evs []router.Event) {
	var ended []router.Event
	for _, ev := range evs {
		r.route.follow.Apply(ev)
		switch ev.Type {
		case router.WorkerCreated:
			w := ev
			r.route.workers[ev.Worker] = &w
		case router.WorkerActivity:
			r.route.workers[ev.Worker].Activity = ev.Activity
		case router.WorkerCapacity:
			r.route.workers[ev.Worker].Capacity = ev.Capacity
		case router.WorkerAttributes:
			r.route.workers[ev.Worker].Attributes = ev.Attributes
		}
		t := r.route.tasks[ev.Task]
		if t == nil {
			if ev.Type == router.ExprError && ev.Worker != "" {
				r.route.errors = append(r.route.errors, fmt.Sprintf("queue %s, worker %s: %s", ev.Queue, ev.Worker, firstLine(ev.Reason)))
			}
			continue
		}
		t.history = append(t.history, describeRouterEvent(ev, t))
		switch ev.Type {
		case router.TaskQueued:
			if t.Status == store.TaskWaiting {
				t.known, t.unrouted = ev.Worker, false
			}
		case router.TaskEscalated:
			if strings.HasSuffix(ev.Reason, "no target left") {
				t.Queue, t.known, t.unrouted = "", "", true
			}
		case router.TaskCompleted:
			t.ended = "completed by " + ev.Worker
			r.route.lastWorker[t.conv.Contact.ID] = ev.Worker
			ended = append(ended, ev)
		case router.TaskCanceled:
			t.ended = "canceled"
			ended = append(ended, ev)
		}
	}
	for _, ev := range ended {
		c := r.route.tasks[ev.Task].conv
		x := c.X
		if x == nil || x.Wait == nil || x.Wait.Kind != engine.WaitTask || x.Wait.Task != ev.Task {
			continue // the flow no longer waits for it (it canceled the task)
		}
		out := compiler.OutCompleted
		if ev.Type == router.TaskCanceled {
			out = compiler.OutCanceled
		}
		r.with(c, func() {
			e := r.Event(engine.EventTask)
			e.Task = &engine.TaskResult{ID: ev.Task, Outcome: out, Queue: ev.Queue, Worker: ev.Worker}
			r.apply(e)
		})
	}
}

func describeRouterEvent(ev router.Event, t *routed) string {
	switch ev.Type {
	case router.TaskQueued:
		where := "queued in " + ev.Queue
		if ev.Queue == "" {
			where = "waits for worker " + ev.Worker
		}
		return fmt.Sprintf("%s (priority %d)", where, ev.Priority)
	case router.TaskEscalated:
		s := "escalated"
		if ev.Queue != "" {
			s += " from " + ev.Queue
		} else if t.known != "" {
			s += " from worker " + t.known
		}
		if d := ev.Time.Sub(t.at); d > 0 {
			s += " at +" + shortDuration(d)
		}
		return s + " (" + ev.Reason + ")"
	case router.ReservationCreated:
		return "offered to " + ev.Worker
	case router.ReservationAccepted:
		return "accepted by " + ev.Worker
	case router.ReservationRejected:
		return "rejected by " + ev.Worker
	case router.ReservationTimeout:
		return "not answered by " + ev.Worker
	case router.ReservationCanceled:
		return "reservation of " + ev.Worker + " canceled"
	case router.ReservationDone:
		return "reservation of " + ev.Worker + " completed"
	case router.ReservationTransferred:
		return "reservation of " + ev.Worker + " transferred"
	case router.TaskTransferred:
		to := "queue " + ev.Queue
		if ev.ToWorker != "" {
			to = "worker " + ev.ToWorker
		}
		return "transferred " + ev.Reason + " by " + ev.Worker + " to " + to
	case router.TaskTransferFailed:
		return "transfer failed (" + ev.Reason + "), stays with " + ev.Worker
	case router.TaskWrapping:
		return "wrapping up by " + ev.Worker
	case router.TaskCompleted:
		if ev.Reason != "" {
			return "completed (" + ev.Reason + ")"
		}
		return "completed"
	case router.TaskCanceled:
		return "canceled"
	case router.ExprError:
		return "expression error: " + firstLine(ev.Reason)
	}
	return string(ev.Type)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// shortDuration spells a duration as the test files do: 2m, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// tick lets the router escalate the tasks whose target timed out by now.
func (r *runner) tick() {
	if r.route != nil {
		r.routerEvents(r.route.rt.Tick(r.Now))
	}
}

// routerDue returns the router's next escalation at or before t.
func (r *runner) routerDue(t time.Time) (time.Time, bool) {
	if r.route == nil {
		return time.Time{}, false
	}
	at, ok := r.route.rt.NextDeadline()
	if !ok || at.After(t) {
		return time.Time{}, false
	}
	return at, true
}

// current returns the task the routing commands and `expect route` apply to.
func (r *runner) current() *routed {
	if r.route == nil {
		r.failf("no router: declare the workers with `worker` lines")
	}
	t := r.route.tasks[r.task]
	if t == nil {
		r.fail(&Failure{Message: "the flow has enqueued no task yet"})
	}
	return t
}

// state describes where a task is, as `expect route` reports it.
func (r *runner) state(t *routed) string {
	if t.ended != "" {
		return "the task has ended (" + t.ended + ")"
	}
	var b strings.Builder
	switch {
	case t.unrouted:
		b.WriteString("queue none (no target left)")
	case t.Queue == "" && t.known != "":
		b.WriteString("queue none (waits for worker " + t.known + ")")
	default:
		b.WriteString("queue " + orNone(t.Queue))
	}
	switch t.Status {
	case store.TaskReserved:
		b.WriteString(", worker " + t.Worker + " (offered)")
	case store.TaskAssigned:
		b.WriteString(", worker " + t.Worker + " (accepted)")
	case store.TaskWrapping:
		b.WriteString(", worker " + t.Worker + " (wrapping up)")
	default:
		b.WriteString(", worker none (waiting)")
	}
	if t.OfferTo != "" {
		b.WriteString(", offered to " + t.OfferTo + " (warm transfer)")
	}
	if _, p, ok := r.route.rt.TaskQueue(t.ID); ok {
		b.WriteString(", priority " + strconv.Itoa(p))
	}
	return b.String()
}

func (t *routed) story() string {
	h := t.history
	const max = 12
	prefix := "router: "
	if len(h) > max {
		h = h[len(h)-max:]
		prefix = "router: …, "
	}
	return prefix + strings.Join(h, ", ")
}

// story is what the router did with the task, and the expression errors
// that kept workers out of queues.
func (r *runner) story(t *routed) string {
	s := t.story()
	if n := len(r.route.errors); n > 0 {
		s += "; expression errors: " + strings.Join(r.route.errors[:min(n, 3)], "; ")
		if n > 3 {
			s += fmt.Sprintf("; and %d more", n-3)
		}
	}
	return s
}

// routeFail fails a routing line, naming the task's enqueue step and what
// the router did with it.
func (r *runner) routeFail(t *routed, expected string) {
	name, span := r.stepName(t.from)
	got := r.state(t)
	if expected == "" {
		r.fail(&Failure{Message: got + "; " + r.story(t), Step: name, StepSpan: span})
	}
	r.fail(&Failure{Expected: expected, Got: got, Message: r.story(t), Step: name, StepSpan: span})
}

// expectRoute checks where the current task is.
func (r *runner) expectRoute(s *Step) {
	r.tick()
	t := r.current()
	want := s.Route
	ok := t.ended == ""
	if ok && want.Queue != nil {
		ok = *want.Queue == t.Queue && !(t.Queue == "" && t.known == "" && !t.unrouted)
	}
	if ok && want.Worker != nil {
		ok = *want.Worker == t.Worker
	}
	if ok && want.Priority != nil {
		_, p, found := r.route.rt.TaskQueue(t.ID)
		ok = found && float64(p) == *want.Priority
	}
	if !ok {
		r.routeFail(t, describeRoute(want))
	}
}

func describeRoute(rt *Route) string { return strings.Join(rt.parts(), ", ") }

// refused fails a line the router refused.
func (r *runner) refused(err error) {
	if errors.Is(err, router.ErrUnknownWorker) || errors.Is(err, router.ErrUnknownQueue) {
		r.failf("the router refused: %v (declare workers with `worker` lines; queues are the program's)", err)
	}
	r.failf("the router refused: %v", err)
}

// agent plays a routing command: the agents' side of the router.
func (r *runner) agent(s *Step) {
	switch s.Op {
	case "activity", "update":
		if r.route == nil {
			r.failf("no router: declare the workers with `worker` lines")
		}
		if r.route.workers[s.Name] == nil {
			r.failf("no worker %q (declare it with a `worker` line)", s.Name)
		}
		change := s.Change
		if s.Op == "activity" {
			change = &policy.WorkerChange{Activity: *s.Text}
		}
		evs, err := policy.ChangeWorker(r.route.rt, s.Name, *change, r.Now)
		if err != nil {
			r.refused(err)
		}
		r.routerEvents(evs)
		return
	}
	t := r.current()
	if t.ended != "" {
		r.routeFail(t, "")
	}
	var (
		evs []router.Event
		err error
	)
	switch s.Op {
	case "accept", "reject", "timeout":
		// A warm transfer's offer is the one to answer; the task's own
		// reservation is answered only while it is pending.
		res, to := t.Offer, t.OfferTo
		if res == "" && t.Status == store.TaskReserved {
			res, to = t.Res, t.Worker
		}
		if res == "" || s.Name != "" && s.Name != to {
			want := "a reservation"
			if s.Name != "" {
				want += " offered to " + s.Name
			}
			r.routeFail(t, want)
		}
		switch s.Op {
		case "accept":
			evs, err = r.route.rt.Accept(res, r.Now)
		case "reject":
			evs, err = r.route.rt.Reject(res, r.Now)
		default:
			evs, err = r.route.rt.Timeout(res, r.Now)
		}
	case "complete":
		r.complete(t, s.Name)
		return
	case "wrapup":
		r.holds(t, s.Name, store.TaskAssigned)
		evs, err = r.route.rt.WrapUp(t.ID, r.Now)
	case "transfer":
		r.holds(t, s.Name, store.TaskAssigned)
		evs, err = r.route.rt.Transfer(t.ID, router.TransferTarget{Queue: str(s.Value["queue"]), Worker: str(s.Value["worker"])}, s.What == "warm", r.Now)
	}
	if err != nil {
		r.refused(err)
	}
	r.routerEvents(evs)
}

// holds fails unless the task is in one of the states, held by worker
// (when given).
func (r *runner) holds(t *routed, worker string, states ...store.TaskStatus) {
	if !slices.Contains(states, t.Status) || worker != "" && worker != t.Worker {
		want := "a task accepted"
		if worker != "" {
			want += " by " + worker
		}
		r.routeFail(t, want)
	}
}

// complete ends the current task as its worker completes it, accepted or
// wrapping up.
func (r *runner) complete(t *routed, worker string) {
	r.holds(t, worker, store.TaskAssigned, store.TaskWrapping)
	evs, err := r.route.rt.Complete(t.ID, r.Now)
	if err != nil {
		r.refused(err)
	}
	r.routerEvents(evs)
}

// expectWorker checks a worker's activity, load, capacity and attributes.
func (r *runner) expectWorker(s *Step) {
	r.tick()
	if r.route == nil {
		r.failf("no router: declare the workers with `worker` lines")
	}
	w := r.route.workers[s.Name]
	if w == nil {
		r.failf("no worker %q (declare it with a `worker` line)", s.Name)
	}
	load := map[string]any{}
	for ch := range w.Capacity {
		load[ch] = float64(r.route.rt.Load(s.Name, ch))
	}
	got := map[string]any{"activity": w.Activity, "load": load, "capacity": normalize(w.Capacity), "attributes": normalize(w.Attributes)}
	for _, k := range slices.Sorted(maps.Keys(s.Value)) {
		if why := subset(k, normalize(s.Value[k]), got[k]); why != "" {
			r.fail(&Failure{Expected: describeExpect(s), Got: "worker " + s.Name + " " + jsonText(got), Message: why})
		}
	}
}

// routedTask plays `task completed|canceled|failed` in a test with a
// router: the router ends the task, and the flow gets the outcome.
func (r *runner) routedTask(s *Step) {
	r.tick()
	t := r.current()
	if t.ended != "" {
		r.routeFail(t, "")
	}
	if q, ok := s.Value["queue"]; ok && str(q) != t.Queue {
		r.routeFail(t, "queue "+str(q))
	}
	if w, ok := s.Value["worker"]; ok && str(w) != t.Worker {
		r.routeFail(t, "worker "+str(w))
	}
	switch s.What {
	case "completed":
		r.complete(t, "")
	case "canceled":
		evs, err := r.route.rt.Cancel(t.ID, r.Now)
		if err != nil {
			r.refused(err)
		}
		r.routerEvents(evs)
	case "failed":
		// The flow hears first, then the router drops the task.
		ev := r.Event(engine.EventTask)
		ev.Task = &engine.TaskResult{ID: t.ID, Outcome: compiler.OutFailed, Queue: t.Queue, Worker: t.Worker}
		r.apply(ev)
		if t.ended == "" {
			evs, err := r.route.rt.Cancel(t.ID, r.Now)
			if err != nil {
				r.refused(err)
			}
			r.routerEvents(evs)
		}
	}
}

// cancelTask cancels a task the flow no longer waits for.
func (r *runner) cancelTask(id string) {
	if r.route == nil || r.route.tasks[id] == nil || r.route.tasks[id].ended != "" {
		return
	}
	evs, err := r.route.rt.Cancel(id, r.Now)
	if err != nil {
		r.failf("the router refused to cancel task %s: %v", id, err)
	}
	r.routerEvents(evs)
}
