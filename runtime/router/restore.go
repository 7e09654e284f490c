package router

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TaskState is the state of a restored task.
type TaskState string

// States Restore accepts. A pending reservation is not restored: the
// runtime treats it as rescinded and restores its task as waiting.
const (
	StateWaiting  TaskState = "waiting"
	StateAssigned TaskState = "assigned"
	StateWrapping TaskState = "wrapping"
)

// TaskSnapshot is a task as the runtime stored it, for Restore.
type TaskSnapshot struct {
	ID         string
	Workflow   string
	Attributes map[string]any
	Priority   int // the base priority given to Enqueue
	Channel    string
	Created    time.Time // keeps the task's age and its place in priority order
	State      TaskState
	// WaitingSince is when the wait for its current assignment began
	// (reservation.accepted's Wait counts from it); zero means Created.
	WaitingSince time.Time

	// Assigned and wrapping tasks only.
	Worker      string
	Reservation string    // its id; empty: a new one is generated
	Queue       string    // the queue it was assigned through, if any
	WrapStarted time.Time // wrapping: when wrap-up began (WithWrapUp counts from it); zero means now
}

// Restore re-creates tasks as they were, for a router rebuilt on leader
// takeover. Add the workers first, then restore every task in one call:
// assigned and wrapping tasks go back to their workers first (capacity
// held, even beyond a capacity lowered since; no new offer, no
// reservation.created), then waiting tasks are placed oldest first and
// offered exactly as new ones.
//
// A waiting task's workflow filters are evaluated again and its target
// chain restarts at the first target; its created time is kept, so its
// age and priority order are too, but a target timeout counts from now.
// Escalation history and the workers who rejected it are forgotten.
//
// A task whose workflow a redeploy removed is restored all the same:
// assigned, as it was; waiting, unrouted until canceled, like a task whose
// last queue a redeploy removed (task.escalated says so).
//
// Nothing changes when Restore returns an error (unknown worker, duplicate
// id, bad state).
func (r *Router) Restore(snaps []TaskSnapshot, now time.Time) ([]Event, error) {
	ids := map[string]bool{}
	resIDs := map[string]bool{}
	for _, s := range snaps {
		if r.tasks[s.ID] != nil || ids[s.ID] {
			return nil, fmt.Errorf("%w: task %q", ErrDuplicate, s.ID)
		}
		ids[s.ID] = true
		switch s.State {
		case StateWaiting:
		case StateAssigned, StateWrapping:
			if r.workers[s.Worker] == nil {
				return nil, fmt.Errorf("%w: %q (task %q)", ErrUnknownWorker, s.Worker, s.ID)
			}
			if s.Reservation != "" {
				if r.res[s.Reservation] != nil || resIDs[s.Reservation] {
					return nil, fmt.Errorf("%w: reservation %q", ErrDuplicate, s.Reservation)
				}
				resIDs[s.Reservation] = true
			}
		default:
			return nil, fmt.Errorf("%w: task %q: cannot restore state %q", ErrState, s.ID, s.State)
		}
	}
	order := make([]TaskSnapshot, len(snaps))
	copy(order, snaps)
	sort.SliceStable(order, func(i, j int) bool {
		wi, wj := order[i].State == StateWaiting, order[j].State == StateWaiting
		if wi != wj {
			return !wi
		}
		return order[i].Created.Before(order[j].Created)
	})
	// A waiting task emits task.restored and its placement: growing the
	// list one append at a time copied 100,000 tasks' events about twenty
	// times over, most of a restore's allocation.
	r.ev = slices.Grow(r.ev, 2*len(order))
	for _, s := range order {
		r.restore(s, now)
	}
	return r.flush(), nil
}

func (r *Router) restore(s TaskSnapshot, now time.Time) {
	created := s.Created
	if created.IsZero() {
		created = now
	}
	t := r.newTask(s.ID, s.Workflow, r.prog.Workflow(s.Workflow), copyMap(s.Attributes), s.Priority, s.Channel, created, now)
	if !s.WaitingSince.IsZero() {
		t.waitStart = s.WaitingSince
	}
	r.tasks[t.id] = t
	if s.State == StateWaiting {
		e := r.taskEvent(TaskRestored, t, now)
		e.Reason = string(s.State)
		r.emit(e)
		if len(t.chain) == 0 {
			// As when a redeploy removes a task's last queue: unrouted
			// until canceled (the flow's enqueue timeout still applies).
			e := r.taskEvent(TaskEscalated, t, now)
			e.Reason = fmt.Sprintf("unknown workflow %q; no target left", s.Workflow)
			r.emit(e)
			return
		}
		r.place(t, "restored", now)
		return
	}
	w := r.workers[s.Worker]
	l := r.laneByName[s.Queue]
	for i, tg := range t.chain {
		if tg.Worker == nil && tg.Queue == s.Queue {
			t.target = i // a later cold transfer falls back from here
			break
		}
	}
	if l == nil {
		l = w.direct
	}
	id := s.Reservation
	if id == "" {
		id = r.newResID()
	} else if n, err := strconv.ParseUint(strings.TrimPrefix(id, "R"), 10, 64); err == nil && strings.HasPrefix(id, "R") && n > r.resSeq {
		r.resSeq = n // the default generator must not hand it out again
	}
	res := &reservation{id: id, task: t, worker: w, lane: l, offerSeq: r.next(), accepted: true}
	r.res[id] = res
	t.res, t.lane, t.state = res, l, stateAssigned
	w.load[t.channel]++
	w.total++
	r.refresh(w)
	e := r.resEvent(TaskRestored, res, now)
	e.Reason = string(s.State)
	r.emit(e)
	if s.State == StateWrapping {
		t.state = stateWrapping
		if r.wrapUp > 0 {
			start := s.WrapStarted
			if start.IsZero() {
				start = now
			}
			r.setDeadline(t, start.Add(r.wrapUp))
		}
	}
}
