// Package timers fires durable timers: ask and gather timeouts, waits,
// task timeouts, and the routed tasks' outcomes the router leader writes
// as timers due at once. Due rows are claimed under a lease, the
// execution each belongs to is stepped with the timer's event, and the
// timer's deletion is committed with the step, so a timer fires once.
package timers

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/internal/inflight"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

const (
	lease = 30 * time.Second // a claimed timer returns to the pool when its owner died
	// pollEvery bounds the sleep between claims: a wake-up missed, or a
	// timer set by another node, costs at most this.
	pollEvery = 200 * time.Millisecond
	// minGap is the shortest sleep: timers due closer together than this
	// are claimed together rather than one transaction each.
	minGap     = 10 * time.Millisecond
	claimBatch = 256
	// inFlight bounds the timers being fired at once. Claiming again while
	// earlier ones still commit keeps the group commit fed in a bulk; a
	// batch that waited for its slowest step left the writer idle. It is
	// far below what a lease's 30 s could leave unstarted.
	inFlight = 1024
)

// Run fires the due timers of core's store until ctx ends; wake says a
// timer may have been set before the next poll.
func Run(ctx context.Context, core *execution.Core, owner string, log *slog.Logger, wake <-chan struct{}) {
	f := &firer{core: core, owner: owner, log: log, slots: inflight.New(inFlight)}
	defer f.wg.Wait()
	sleep := time.NewTimer(0)
	defer sleep.Stop()
	for ctx.Err() == nil {
		room := f.slots.Room()
		if room < claimBatch/4 {
			// Mostly full: wait for firings to finish rather than claim a few.
			select {
			case <-ctx.Done():
			case <-f.slots.Freed():
			}
			continue
		}
		n := min(claimBatch, room)
		if f.claim(ctx, n) == n {
			continue
		}
		sleep.Reset(f.untilNext(ctx))
		select {
		case <-ctx.Done():
		case <-sleep.C:
		case <-wake:
		}
	}
}

type firer struct {
	core  *execution.Core
	owner string
	log   *slog.Logger
	slots *inflight.Limit // one per timer being fired
	wg    sync.WaitGroup
}

// claim leases up to n due timers and starts firing them; it returns how
// many it claimed.
func (f *firer) claim(ctx context.Context, n int) int {
	timers, err := f.core.Store().ClaimDueTimers(ctx, f.owner, f.core.Now(), n, lease)
	if err != nil {
		if ctx.Err() == nil {
			f.log.Error("claiming timers", "err", err)
		}
		return 0
	}
	// Fired concurrently, so their commits share group transactions.
	for _, t := range timers {
		f.slots.Take()
		f.wg.Go(func() {
			defer f.slots.Give()
			f.fire(ctx, t)
		})
	}
	return len(timers)
}

func (f *firer) fire(ctx context.Context, t store.Timer) {
	var tp effect.TimerPayload
	_ = json.Unmarshal(t.Payload, &tp)
	err := f.core.Resume(ctx, t.ExecutionID, tp.Route, tp.Event,
		func(ev *engine.Event) {
			if tp.Task != nil { // a routed task ended
				ev.Kind, ev.Task = engine.EventTask, tp.Task
				return
			}
			ev.Kind, ev.Timer = engine.EventTimer, t.ID
		},
		func(u *store.Unit) { u.DeleteTimers = append(u.DeleteTimers, t.ID) })
	if err != nil && ctx.Err() == nil {
		f.log.Error("firing timer", "timer", t.ID, "err", err)
	}
}

// untilNext is how long to sleep before the next claim: until the
// earliest timer is due, between minGap and pollEvery. The earliest may be
// one being fired (its row goes with its step's commit), so a due one
// means minGap, not a busy loop.
func (f *firer) untilNext(ctx context.Context) time.Duration {
	at, ok, err := f.core.Store().NextTimerAt(ctx)
	if err != nil || !ok {
		return pollEvery
	}
	return min(max(at.Sub(f.core.Now()), minGap), pollEvery)
}
