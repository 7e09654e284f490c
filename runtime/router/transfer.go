package router

import (
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

// TransferTarget is where Transfer sends a task: a queue, or one worker
// by id (set exactly one).
type TransferTarget struct {
	Queue  string
	Worker string
	// Timeout bounds how long the task waits in the destination. Warm: the
	// transfer fails then and the task stays with its worker. Cold: the task
	// moves on to the target it was assigned from. 0: no limit.
	Timeout time.Duration
}

// warmTransfer is a warm transfer in progress: the task waits in (or is
// offered by) its destination while held, the transferring worker's
// accepted reservation, keeps that worker's capacity.
type warmTransfer struct {
	held   *reservation
	chain  []target // the task's chain before the transfer, restored if it fails
	target int
}

// Transfer hands an assigned task to another queue or worker; the task
// keeps its id, age (created time) and priority.
//
// Cold (warm false): the current reservation ends at once
// (reservation.transferred), the worker's capacity is offered again, and
// the task waits in the destination like a new one. The transferring
// worker is not offered it again unless a later transfer names them.
//
// Warm: the worker keeps the task, and its capacity, until the destination
// accepts; only then does their reservation end (reservation.transferred).
// If a destination worker rejects or lets the offer time out, or the
// destination queue finds nobody within the Timeout, the task stays
// assigned to the worker and task.transfer_failed says why. Rejections
// within a destination queue pass the task to the queue's next member.
//
// A worker who rejected the task before may be named as the destination.
func (r *Router) Transfer(taskID string, to TransferTarget, warm bool, now time.Time) ([]Event, error) {
	t := r.tasks[taskID]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTask, taskID)
	}
	if t.state != stateAssigned || t.xfer != nil {
		return nil, fmt.Errorf("%w: task %q is not assigned (or already being transferred)", ErrState, taskID)
	}
	if (to.Queue == "") == (to.Worker == "") {
		return nil, fmt.Errorf("%w: transfer needs a queue or a worker", ErrState)
	}
	res := t.res
	dest := target{Target: &compiler.Target{Timeout: to.Timeout}}
	if to.Queue != "" {
		if r.laneByName[to.Queue] == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownQueue, to.Queue)
		}
		dest.Queue = to.Queue
	} else {
		w := r.workers[to.Worker]
		if w == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownWorker, to.Worker)
		}
		if w == res.worker {
			return nil, fmt.Errorf("%w: task %q is already with %q", ErrState, taskID, to.Worker)
		}
		dest.workerID = to.Worker
		delete(t.rejected, w)
	}
	kind := "cold"
	if warm {
		kind = "warm"
	}
	from := res.worker
	e := r.resEvent(TaskTransferred, res, now)
	e.Queue, e.ToWorker, e.Reason = to.Queue, to.Worker, kind
	// The chain goes on from the target the task was assigned from, so a
	// cold transfer that times out falls back to where it came from.
	chain := append([]target{dest}, t.chain[t.target:]...)
	if warm {
		t.xfer = &warmTransfer{held: res, chain: t.chain, target: t.target}
		t.res = nil
		chain = chain[:1]
	} else {
		r.emit(r.resEvent(ReservationTransferred, res, now))
		r.unreserve(res)
		r.exclude(t, from, now)
	}
	r.emit(e)
	t.chain, t.target = chain, 0
	t.waitStart = now
	r.place(t, "transferred", now)
	if !warm {
		r.fillWorker(from, now)
	}
	return r.flush(), nil
}

// failTransfer ends a warm transfer without a hand-over: a pending offer
// in the destination is withdrawn and the task is assigned to the
// transferring worker again, as it was.
func (r *Router) failTransfer(t *task, why string, now time.Time) {
	x := t.xfer
	var withdrawn *reservation
	switch {
	case t.state == stateWaiting && t.lane != nil:
		t.lane.heap(t.channel).remove(t)
	case t.state == statePending && t.res != nil: // not yet declined: withdraw the offer
		withdrawn = t.res
		r.unreserve(withdrawn)
		r.emit(r.resEvent(ReservationCanceled, withdrawn, now))
	}
	t.xfer = nil
	t.chain, t.target = x.chain, x.target
	t.res = x.held
	t.lane = x.held.lane
	t.state = stateAssigned
	t.timerGen++
	t.overdue = false
	t.deadline = time.Time{}
	e := r.resEvent(TaskTransferFailed, x.held, now)
	e.Reason = why
	r.emit(e)
	if withdrawn != nil {
		// The freed worker first takes the best task it can; only then
		// may its queue, no longer throttled, serve its other members.
		r.fillWorker(withdrawn.worker, now)
		r.release(withdrawn.lane, now)
	}
}
