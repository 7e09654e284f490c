package node

import (
	"context"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/leader"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// AgentTyping tells the customer of a task that its agent is typing, on
// channels that show it (connectors.Notifier): at once, best effort, and
// never stored. workerID "" is an admin acting for the task's agent.
func (n *Node) AgentTyping(ctx context.Context, workerID, taskID string) error {
	t, err := n.cfg.Store.GetTask(ctx, taskID)
	if err != nil {
		return err
	}
	if workerID != "" && t.WorkerID != workerID {
		return leader.Refuse("forbidden", "task %q is not yours", taskID)
	}
	if t.Status != store.TaskAssigned && t.Status != store.TaskWrapping {
		return leader.Refuse("conflict", "task %q is %s: only its agent types to the customer", taskID, t.Status)
	}
	return n.outbox.Notify(ctx, "", effect.NoticePayload{Kind: connectors.NoticeTyping, Conversation: t.ConversationID, Task: t.ID,
		Worker: t.WorkerID})
}
