package leader

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/router"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// replayStats feeds the cumulative statistics with the logged events of
// the window, so a new leader reports what its predecessor measured.
func (l *leader) replayStats(ctx context.Context, now time.Time) error {
	since := now.Add(-l.cfg.StatsWindow)
	var newest []store.RouterEvent
	page := store.Page{Newest: true, Limit: store.MaxPageLimit}
	for {
		evs, next, err := l.n.store.ListRouterEvents(ctx, store.RouterEventFilter{}, page)
		if err != nil {
			return err
		}
		done := next == ""
		for _, e := range evs {
			if e.Time.Before(since) {
				done = true
				break
			}
			newest = append(newest, e)
		}
		if done {
			break
		}
		page.After = next
	}
	for i := len(newest) - 1; i >= 0; i-- {
		l.cum.Observe(routerEventOf(newest[i]))
	}
	return nil
}

// routerEventOf reads a logged event back (the inverse of record's encoding).
func routerEventOf(e store.RouterEvent) router.Event {
	var d struct {
		Priority     int            `json:"priority"`
		Reason       string         `json:"reason"`
		Workflow     string         `json:"workflow"`
		Channel      string         `json:"channel"`
		WaitMS       int64          `json:"wait_ms"`
		ToWorker     string         `json:"to_worker"`
		Activity     string         `json:"activity"`
		PrevActivity string         `json:"prev_activity"`
		Capacity     map[string]int `json:"capacity"`
		Attributes   map[string]any `json:"attributes"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return router.Event{Type: router.EventType(e.Type), Time: e.Time, Task: e.TaskID, Reservation: e.ReservationID,
		Worker: e.WorkerID, Queue: e.Queue, Priority: d.Priority, Reason: d.Reason, Workflow: d.Workflow, Channel: d.Channel,
		Wait: time.Duration(d.WaitMS) * time.Millisecond, ToWorker: d.ToWorker, Activity: d.Activity, PrevActivity: d.PrevActivity,
		Capacity: d.Capacity, Attributes: d.Attributes}
}

// statsJSON is the API's form of the statistics: snake_case, durations in seconds.
func statsJSON(rt router.Snapshot, cum router.CumulativeSnapshot) map[string]any {
	queues := make([]map[string]any, 0, len(rt.Queues))
	for _, q := range rt.Queues {
		byPriority := map[string]int{}
		for p, n := range q.WaitingByPriority {
			byPriority[fmt.Sprint(p)] = n
		}
		queues = append(queues, map[string]any{"queue": q.Queue, "waiting": q.Waiting, "waiting_by_priority": byPriority,
			"longest_wait_s": q.LongestWait.Seconds(), "members": q.Members, "activities": q.Activities, "available": q.Available,
			"reserved": q.Reserved, "assigned": q.Assigned, "wrapping": q.Wrapping})
	}
	workflows := make([]map[string]any, 0, len(rt.Workflows))
	for _, w := range rt.Workflows {
		workflows = append(workflows, map[string]any{"workflow": w.Workflow, "waiting": w.Waiting, "longest_wait_s": w.LongestWait.Seconds()})
	}
	levels := make([]float64, len(cum.ServiceLevels))
	for i, d := range cum.ServiceLevels {
		levels[i] = d.Seconds()
	}
	cumulative := func(m map[string]router.CumulativeStats) map[string]any {
		out := map[string]any{}
		for name, c := range m {
			out[name] = map[string]any{"entered": c.Entered, "accepted": c.Accepted, "abandoned": c.Abandoned, "completed": c.Completed,
				"rejected": c.Rejected, "timed_out": c.TimedOut, "avg_wait_s": c.AvgWait.Seconds(), "p90_wait_s": c.P90Wait.Seconds(),
				"service_level": c.ServiceLevel}
		}
		return out
	}
	return map[string]any{"time": rt.Time, "queues": queues, "workflows": workflows,
		"cumulative": map[string]any{"window_s": cum.Window.Seconds(), "service_levels_s": levels,
			"queues": cumulative(cum.Queues), "workflows": cumulative(cum.Workflows)}}
}
