package leader

import (
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// maxWaiting bounds the tasks CmdWaiting answers: a desktop shows the
// oldest; the queue's stats count them all.
const maxWaiting = 100

// WaitingTask is one task of CmdWaiting's answer.
type WaitingTask struct {
	ID             string          `json:"id"`
	Queue          string          `json:"queue"`
	Workflow       string          `json:"workflow"`
	Channel        string          `json:"channel"`
	Priority       int             `json:"priority"`
	ContactID      string          `json:"contact_id"`
	ConversationID string          `json:"conversation_id"`
	Attributes     json.RawMessage `json:"attributes,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	WaitMS         int64           `json:"wait_ms"`
}

// waiting answers CmdWaiting: the tasks waiting now in the queues the
// worker is a member of, oldest first. The membership is the router's,
// evaluated when the worker changed, so the answer costs the open tasks
// once, whatever the number of queues.
func (l *leader) waiting(a CommandArgs, now time.Time) (json.RawMessage, *CommandError) {
	if a.Actor != "" && a.Actor != a.Worker {
		return nil, Refuse("forbidden", "a worker sees only the tasks of its own queues")
	}
	if _, ok := l.workers[a.Worker]; !ok {
		return nil, Refuse("not_found", "no worker %q", a.Worker)
	}
	queues := []string{}
	for _, q := range l.prog.Queues {
		if slices.Contains(l.r.Members(q.Name), a.Worker) {
			queues = append(queues, q.Name)
		}
	}
	tasks := []WaitingTask{}
	for id, t := range l.tasks {
		if t.Closed || t.Status != store.TaskWaiting {
			continue
		}
		queue, priority, ok := l.r.TaskQueue(id)
		if !ok || !slices.Contains(queues, queue) {
			continue
		}
		tasks = append(tasks, WaitingTask{ID: id, Queue: queue, Workflow: t.row.Workflow, Channel: t.channel, Priority: priority,
			ContactID: t.row.ContactID, ConversationID: t.row.ConversationID, Attributes: t.row.Attributes,
			CreatedAt: t.row.CreatedAt, WaitMS: now.Sub(t.row.CreatedAt).Milliseconds()})
	}
	sort.Slice(tasks, func(i, j int) bool {
		if !tasks[i].CreatedAt.Equal(tasks[j].CreatedAt) {
			return tasks[i].CreatedAt.Before(tasks[j].CreatedAt)
		}
		return tasks[i].ID < tasks[j].ID
	})
	total := len(tasks)
	if total > maxWaiting {
		tasks = tasks[:maxWaiting]
	}
	return mustJSON(map[string]any{"queues": queues, "tasks": tasks, "total": total}), nil
}

// loads answers CmdLoads: how many tasks each worker holds per channel
// (offered, assigned or wrapping), from the router's memory, for every
// channel the worker has capacity on.
func (l *leader) loads() (json.RawMessage, *CommandError) {
	out := make(map[string]map[string]int, len(l.workers))
	for id, w := range l.workers {
		m := make(map[string]int, len(w.Capacity))
		for ch := range w.Capacity {
			m[ch] = l.r.Load(id, ch)
		}
		out[id] = m
	}
	return mustJSON(map[string]any{"loads": out}), nil
}
