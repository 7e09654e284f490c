package policy

import (
	"time"

	"github.com/switchboard-dev/switchboard/runtime/router"
)

// WorkerChange is a change to a worker: nil maps and an empty activity
// leave that part as it is.
type WorkerChange struct {
	Attributes map[string]any
	Capacity   map[string]int
	Activity   string
}

// ChangeWorker applies c to worker id as the agent API does: attributes,
// then capacity, then activity, so a worker who becomes available is
// offered work by the queues its new attributes put it in.
func ChangeWorker(r *router.Router, id string, c WorkerChange, now time.Time) ([]router.Event, error) {
	var evs []router.Event
	if c.Attributes != nil {
		e, err := r.SetAttributes(id, c.Attributes, now)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	if c.Capacity != nil {
		e, err := r.SetCapacity(id, c.Capacity, now)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	if c.Activity != "" {
		e, err := r.SetActivity(id, c.Activity, now)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	return evs, nil
}
