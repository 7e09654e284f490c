package ingest

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TypingFunc hears that the customer of a task is typing: frame is what
// the agent's stream sends, {"type": "typing", "task_id", "conversation_id"}.
type TypingFunc func(ctx context.Context, worker string, frame json.RawMessage)

// OnTyping sets who hears that a customer types (the node's agent
// signals); without it typing reports are dropped.
func (g *Ingest) OnTyping(f TypingFunc) { g.onTyping = f }

// typing passes a customer's "typing" to the agent holding their
// conversation's task. It is best effort and stores nothing: a customer
// who is unknown, has no open conversation, or waits for no agent is
// typing to nobody.
func (g *Ingest) typing(ctx context.Context, instance string, in connectors.Inbound) error {
	if g.onTyping == nil {
		return nil
	}
	c, err := g.store.LookupContact(ctx, in.Channel, in.From)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	conv, err := g.store.LookupConversation(ctx, c.ID, in.Channel, instance)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	live, err := g.store.LiveExecution(ctx, conv.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	x, _, err := g.core.Load(ctx, live)
	if err != nil || x.Wait == nil || x.Wait.Kind != engine.WaitTask {
		return err
	}
	t, err := g.store.GetTask(ctx, x.Wait.Task)
	if err != nil || t.WorkerID == "" || (t.Status != store.TaskAssigned && t.Status != store.TaskWrapping) {
		return nil
	}
	frame, _ := json.Marshal(map[string]string{"type": "typing", "task_id": t.ID, "conversation_id": conv.ID})
	g.onTyping(ctx, t.WorkerID, frame)
	return nil
}
