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

	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

const (
	lease      = 30 * time.Second // a claimed timer returns to the pool when its owner died
	pollEvery  = 200 * time.Millisecond
	claimBatch = 64
)

// Run fires the due timers of core's store until ctx ends; wake says a
// timer may have been set before the next poll.
func Run(ctx context.Context, core *execution.Core, owner string, log *slog.Logger, wake <-chan struct{}) {
	ticker := time.NewTicker(pollEvery)
	defer ticker.Stop()
	for {
		if fire(ctx, core, owner, log) {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-wake:
		}
	}
}

// fire steps the executions of due timers; it reports whether there may
// be more due.
func fire(ctx context.Context, core *execution.Core, owner string, log *slog.Logger) bool {
	timers, err := core.Store().ClaimDueTimers(ctx, owner, core.Now(), claimBatch, lease)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("claiming timers", "err", err)
		}
		return false
	}
	// Fired concurrently, so their commits share group transactions.
	var wg sync.WaitGroup
	for _, t := range timers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tp effect.TimerPayload
			_ = json.Unmarshal(t.Payload, &tp)
			err := core.Resume(ctx, t.ExecutionID, tp.Route, tp.Event,
				func(ev *engine.Event) {
					if tp.Task != nil { // a routed task ended
						ev.Kind, ev.Task = engine.EventTask, tp.Task
						return
					}
					ev.Kind, ev.Timer = engine.EventTimer, t.ID
				},
				func(u *store.Unit) { u.DeleteTimers = append(u.DeleteTimers, t.ID) })
			if err != nil && ctx.Err() == nil {
				log.Error("firing timer", "timer", t.ID, "err", err)
			}
		}()
	}
	wg.Wait()
	return len(timers) == claimBatch
}
