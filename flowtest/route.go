package flowtest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/leader/policy"
	"github.com/switchboard-dev/switchboard/runtime/router"
)

// routing is a test's router: the real router core (runtime/router) built
// from the program under test, fed the tasks the flow enqueues, with the
// test playing the agents' side.
type routing struct {
	rt         *router.Router
	task       string // the current task: the last one enqueued
	tasks      map[string]*routed
	lastWorker any      // task.last_worker for the next task: a worker id or nil
	errors     []string // queue expressions that failed on a worker
}

// routed is what the router did with one task, read back from its events.
type routed struct {
	id       string
	from     *visit    // the enqueue step
	at       time.Time // when it was enqueued
	queue    string    // the queue it waits in or was offered from
	known    string    // the known worker it waits for (no queue)
	unrouted bool      // no target left
	res      string    // the reservation, if any
	worker   string    // who holds it
	accepted bool
	ended    string // "completed by ana", "canceled"
	history  []string
}

// setupRouter builds the router and adds the test's workers.
func (r *runner) setupRouter() {
	r.route = &routing{rt: Policy.New(r.prog), tasks: map[string]*routed{}}
	if r.test.Setup.LastWorker != "" {
		r.route.lastWorker = r.test.Setup.LastWorker
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
func (r *runner) enqueue(e *engine.EnqueueEffect, from *visit) {
	attrs := make(map[string]any, len(e.Attributes)+1)
	for k, v := range normalize(e.Attributes).(map[string]any) {
		attrs[k] = v
	}
	if _, ok := attrs["last_worker"]; !ok {
		attrs["last_worker"] = r.route.lastWorker
	}
	t := &routed{id: e.TaskID, from: from, at: r.Now}
	r.route.tasks[e.TaskID] = t
	r.route.task = e.TaskID
	evs, err := r.route.rt.Enqueue(e.TaskID, e.Workflow, attrs, int(e.Priority), e.Channel, r.Now)
	if err != nil {
		name, span := r.stepName(from)
		r.fail(&Failure{Message: "the router refused the task: " + err.Error(), Step: name, StepSpan: span})
	}
	r.routerEvents(evs)
}

// routerEvents takes in what the router did. When a task the flow waits
// for ends, the engine gets the task's outcome.
func (r *runner) routerEvents(evs []router.Event) {
	var ended []router.Event
	for _, ev := range evs {
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
			t.queue, t.known, t.unrouted = ev.Queue, ev.Worker, false
		case router.TaskEscalated:
			if strings.HasSuffix(ev.Reason, "no target left") {
				t.queue, t.known, t.unrouted = "", "", true
			}
		case router.ReservationCreated:
			t.res, t.worker, t.accepted = ev.Reservation, ev.Worker, false
		case router.ReservationAccepted:
			t.accepted = true
		case router.ReservationRejected, router.ReservationTimeout, router.ReservationCanceled, router.ReservationDone:
			t.res, t.worker, t.accepted = "", "", false
		case router.TaskCompleted:
			t.ended = "completed by " + ev.Worker
			r.route.lastWorker = ev.Worker
			ended = append(ended, ev)
		case router.TaskCanceled:
			t.ended = "canceled"
			ended = append(ended, ev)
		}
	}
	for _, ev := range ended {
		if r.X == nil || r.X.Wait == nil || r.X.Wait.Kind != engine.WaitTask || r.X.Wait.Task != ev.Task {
			continue // the flow no longer waits for it (it canceled the task)
		}
		out := compiler.OutCompleted
		if ev.Type == router.TaskCanceled {
			out = compiler.OutCanceled
		}
		e := r.Event(engine.EventTask)
		e.Task = &engine.TaskResult{ID: ev.Task, Outcome: out, Queue: ev.Queue, Worker: ev.Worker}
		r.apply(e)
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
	case router.TaskCompleted:
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
	t := r.route.tasks[r.route.task]
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
	case t.queue == "" && t.known != "":
		b.WriteString("queue none (waits for worker " + t.known + ")")
	default:
		b.WriteString("queue " + orNone(t.queue))
	}
	switch {
	case t.worker == "":
		b.WriteString(", worker none (waiting)")
	case t.accepted:
		b.WriteString(", worker " + t.worker + " (accepted)")
	default:
		b.WriteString(", worker " + t.worker + " (offered)")
	}
	if _, p, ok := r.route.rt.TaskQueue(t.id); ok {
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
		ok = *want.Queue == t.queue && !(t.queue == "" && t.known == "" && !t.unrouted)
	}
	if ok && want.Worker != nil {
		ok = *want.Worker == t.worker
	}
	if ok && want.Priority != nil {
		_, p, found := r.route.rt.TaskQueue(t.id)
		ok = found && float64(p) == *want.Priority
	}
	if !ok {
		r.routeFail(t, describeRoute(want))
	}
}

func describeRoute(rt *Route) string { return strings.Join(rt.parts(), ", ") }

// agent plays a routing command: the agents' side of the router.
func (r *runner) agent(s *Step) {
	rt := r.current
	if s.Op == "activity" {
		if r.route == nil {
			r.failf("no router: declare the workers with `worker` lines")
		}
		evs, err := r.route.rt.SetActivity(s.Name, *s.Text, r.Now)
		if err != nil {
			if errors.Is(err, router.ErrUnknownWorker) {
				r.failf("no worker %q (declare it with a `worker` line)", s.Name)
			}
			r.failf("the router refused: %v", err)
		}
		r.routerEvents(evs)
		return
	}
	t := rt()
	if t.ended != "" {
		r.routeFail(t, "")
	}
	switch s.Op {
	case "accept", "reject", "timeout":
		if t.worker == "" || t.accepted || s.Name != "" && s.Name != t.worker {
			want := "a reservation"
			if s.Name != "" {
				want += " offered to " + s.Name
			}
			r.routeFail(t, want)
		}
		var (
			evs []router.Event
			err error
		)
		switch s.Op {
		case "accept":
			evs, err = r.route.rt.Accept(t.res, r.Now)
		case "reject":
			evs, err = r.route.rt.Reject(t.res, r.Now)
		default:
			evs, err = r.route.rt.Timeout(t.res, r.Now)
		}
		if err != nil {
			r.failf("the router refused: %v", err)
		}
		r.routerEvents(evs)
	case "complete":
		r.complete(t, s.Name)
	}
}

// complete ends the current task as its worker completes it.
func (r *runner) complete(t *routed, worker string) {
	if t.worker == "" || !t.accepted || worker != "" && worker != t.worker {
		want := "a task accepted"
		if worker != "" {
			want += " by " + worker
		}
		r.routeFail(t, want)
	}
	evs, err := r.route.rt.Complete(t.id, r.Now)
	if err != nil {
		r.failf("the router refused: %v", err)
	}
	r.routerEvents(evs)
}

// routedTask plays `task completed|canceled|failed` in a test with a
// router: the router ends the task, and the flow gets the outcome.
func (r *runner) routedTask(s *Step) {
	r.tick()
	t := r.current()
	if t.ended != "" {
		r.routeFail(t, "")
	}
	if q, ok := s.Value["queue"]; ok && str(q) != t.queue {
		r.routeFail(t, "queue "+str(q))
	}
	if w, ok := s.Value["worker"]; ok && str(w) != t.worker {
		r.routeFail(t, "worker "+str(w))
	}
	switch s.What {
	case "completed":
		r.complete(t, "")
	case "canceled":
		evs, err := r.route.rt.Cancel(t.id, r.Now)
		if err != nil {
			r.failf("the router refused: %v", err)
		}
		r.routerEvents(evs)
	case "failed":
		// The flow hears first, then the router drops the task.
		ev := r.Event(engine.EventTask)
		ev.Task = &engine.TaskResult{ID: t.id, Outcome: compiler.OutFailed, Queue: t.queue, Worker: t.worker}
		r.apply(ev)
		if t.ended == "" {
			evs, err := r.route.rt.Cancel(t.id, r.Now)
			if err != nil {
				r.failf("the router refused: %v", err)
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
