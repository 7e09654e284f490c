package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Notice performs a KindNotice row: the outbox's Handler for them.
func (o *Outbox) Notice(ctx context.Context, row store.Effect) error {
	var p effect.NoticePayload
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		return connectors.Permanent(fmt.Errorf("unreadable notice: %w", err))
	}
	return o.Notify(ctx, row.IdempotencyKey, p)
}

// Notify tells the conversation's channel what happened, if it shows
// notices (connectors.Notifier); for other channels it does nothing. The
// route, the agent's display name and the task's place in the queue are
// read now, so a notice says what is true when it is delivered. key is
// the notice's idempotency key ("" for one never retried: typing).
func (o *Outbox) Notify(ctx context.Context, key string, p effect.NoticePayload) error {
	route, _, err := o.core.RouteFor(ctx, p.Conversation)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the conversation is gone: nobody to tell
	}
	if err != nil {
		return err
	}
	n, ok := o.io.Channel(route).(connectors.Notifier)
	if !ok {
		return nil
	}
	notice := &connectors.Notice{Kind: p.Kind, Channel: route.Channel, To: route.Address, ConversationID: p.Conversation, Key: key,
		Agent: p.Worker, At: o.core.Now()}
	if p.Worker != "" {
		notice.AgentName = o.agentName(ctx, p.Worker)
	}
	if p.Kind == connectors.NoticeQueued && p.Task != "" {
		t, err := o.store.GetTask(ctx, p.Task)
		if err != nil {
			return nil // the task is gone: so is the wait
		}
		if t.Status != store.TaskWaiting && t.Status != store.TaskReserved {
			return nil // an agent has it, or it ended: the other notices say so
		}
		// 0 while an agent is being offered it: "connecting", no number.
		notice.Position, _ = o.store.TaskPosition(ctx, p.Task)
		notice.Wait = o.core.Now().Sub(t.CreatedAt)
	}
	if route.Address == "" {
		return nil
	}
	return n.Notify(ctx, notice)
}

// agentName is what the customer sees of a worker (store.Worker.DisplayName);
// its id when the worker cannot be read.
func (o *Outbox) agentName(ctx context.Context, worker string) string {
	if w, err := o.store.GetWorker(ctx, worker); err == nil {
		return w.DisplayName()
	}
	return worker
}
