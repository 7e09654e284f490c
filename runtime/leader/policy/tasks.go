package policy

import (
	"github.com/switchboard-dev/switchboard/runtime/router"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Task is where a routed task stands, as the router's events tell it:
// what the leader writes in the task's row and what a flow test checks.
type Task struct {
	ID     string
	Status store.TaskStatus
	Queue  string // the queue it waits in, or was offered or assigned from
	Worker string // who holds it: offered (reserved), assigned or wrapping
	Res    string // that worker's reservation
	// A warm transfer's pending offer and the worker it is made to: the
	// task (Worker, Res) stays with the transferring worker until it is
	// accepted, yet the destination answers it.
	Offer, OfferTo string
	Closed         bool // completed or canceled
}

// Tasks follows the tasks it is given through the router's events.
type Tasks struct {
	tasks   map[string]*Task
	resTask map[string]string // reservation → task
}

// NewTasks returns an empty Tasks.
func NewTasks() *Tasks {
	return &Tasks{tasks: map[string]*Task{}, resTask: map[string]string{}}
}

// Track starts following t (waiting, when its status is empty).
func (k *Tasks) Track(t *Task) {
	if t.Status == "" {
		t.Status = store.TaskWaiting
	}
	k.tasks[t.ID] = t
}

// Forget stops following a task.
func (k *Tasks) Forget(id string) { delete(k.tasks, id) }

// Get returns a followed task, or nil.
func (k *Tasks) Get(id string) *Task { return k.tasks[id] }

// Holder returns who answers reservation res: the worker holding it, be it
// the task's own reservation or a warm transfer's offer; "" when no
// followed task has it.
func (k *Tasks) Holder(res string) string {
	t := k.tasks[k.resTask[res]]
	switch {
	case t == nil:
	case t.Res == res:
		return t.Worker
	case t.Offer == res:
		return t.OfferTo
	}
	return ""
}

// Apply takes in one router event and returns the task it moved (nil for
// a task not followed).
func (k *Tasks) Apply(e router.Event) *Task {
	t := k.tasks[e.Task]
	switch e.Type {
	case router.TaskQueued:
		if t != nil && t.Status != store.TaskAssigned {
			t.Status, t.Queue, t.Worker, t.Res = store.TaskWaiting, e.Queue, "", ""
		}
	case router.ReservationCreated:
		k.resTask[e.Reservation] = e.Task
		switch {
		case t == nil:
		case t.Status == store.TaskAssigned: // a warm transfer's offer
			t.Offer, t.OfferTo = e.Reservation, e.Worker
		default:
			t.Status, t.Worker, t.Res = store.TaskReserved, e.Worker, e.Reservation
			if e.Queue != "" {
				t.Queue = e.Queue
			}
		}
	case router.ReservationAccepted:
		if t != nil {
			t.Status, t.Worker, t.Res = store.TaskAssigned, e.Worker, e.Reservation
			t.Offer, t.OfferTo = "", ""
			if e.Queue != "" {
				t.Queue = e.Queue
			}
		}
	case router.ReservationRejected, router.ReservationTimeout, router.ReservationCanceled:
		delete(k.resTask, e.Reservation)
		// An assigned task's reservation ends this way when its worker could
		// not be reached (Router.Bounce).
		if t != nil && t.Res == e.Reservation && (t.Status == store.TaskReserved || t.Status == store.TaskAssigned) {
			t.Status, t.Worker, t.Res = store.TaskWaiting, "", ""
		}
		if t != nil && t.Offer == e.Reservation {
			t.Offer, t.OfferTo = "", ""
		}
	case router.ReservationTransferred, router.ReservationDone:
		delete(k.resTask, e.Reservation)
	case router.TaskWrapping:
		if t != nil {
			t.Status = store.TaskWrapping
		}
	case router.TaskTransferred:
		if t != nil && e.Reason == "cold" {
			t.Status, t.Worker, t.Res = store.TaskWaiting, "", ""
		}
	case router.TaskCompleted:
		if t != nil {
			t.Status, t.Closed = store.TaskCompleted, true
		}
	case router.TaskCanceled:
		if t != nil {
			t.Status, t.Closed = store.TaskCanceled, true
		}
	}
	return t
}

// TaskAttributes are what the router sees of a task: the attributes its
// flow gave it, and last_worker (the worker who last completed a task for
// the contact, or nil) unless the flow set it. attrs is changed in place.
func TaskAttributes(attrs map[string]any, lastWorker string) map[string]any {
	if _, set := attrs["last_worker"]; set {
		return attrs
	}
	attrs["last_worker"] = nil
	if lastWorker != "" {
		attrs["last_worker"] = lastWorker
	}
	return attrs
}
