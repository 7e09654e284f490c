package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/custom"

	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// routeFor rebuilds the route and event context of a conversation, for
// work that starts outside an inbound message (a task's outcome, an
// agent's reply): the connector is the one its latest message came through.
func (n *Node) routeFor(ctx context.Context, conversationID string) (Route, EventTemplate, error) {
	conv, err := n.store.GetConversation(ctx, conversationID)
	if err != nil {
		return Route{}, EventTemplate{}, err
	}
	contact, err := n.store.GetContact(ctx, conv.ContactID)
	if err != nil {
		return Route{}, EventTemplate{}, err
	}
	route := Route{ConversationID: conv.ID, ContactID: contact.ID, Connector: conv.Channel, Instance: conv.Instance, Channel: conv.Channel}
	msgs, _, err := n.store.ListMessages(ctx, conv.ID, store.Page{Newest: true, Limit: 20})
	if err != nil {
		return Route{}, EventTemplate{}, err
	}
	for _, m := range msgs {
		if m.Direction == store.Inbound {
			route.Connector, route.Instance = m.Connector, m.Instance
			break
		}
	}
	for _, a := range contact.Addresses {
		if a.Channel == conv.Channel {
			route.Address = a.Address
			break
		}
	}
	return route, EventTemplate{Contact: compilerContact(contact), Conversation: compilerConversation(conv)}, nil
}

// Command asks the router leader to apply a command and waits for its
// result (at most timeout): the leader may be another node.
func (n *Node) Command(ctx context.Context, kind string, args CommandArgs, timeout time.Duration) (json.RawMessage, error) {
	seq, err := n.store.SubmitCommand(ctx, store.Command{Kind: kind, Args: mustJSON(args)})
	if err != nil {
		return nil, err
	}
	// Subscribed after submitting (the seq names the answer's wake-up); an
	// answer in between is found by the first read below.
	var wake <-chan struct{}
	if notifier, ok := n.store.(store.Notifier); ok {
		ch, cancel := notifier.Subscribe(store.TopicEvents, store.CommandParty(seq))
		defer cancel()
		wake = ch
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := n.store.GetCommand(ctx, seq)
		if err != nil {
			return nil, err
		}
		switch c.Status {
		case store.CommandDone:
			return c.Result, nil
		case store.CommandFailed:
			code, msg, ok := strings.Cut(c.Error, ": ")
			if !ok {
				code, msg = "invalid", c.Error
			}
			return nil, &CommandError{Code: code, Msg: msg}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, ErrNoLeader
		case <-wake:
		case <-tick.C:
		}
	}
}

// ErrNoLeader: no router leader applied a command in time.
var ErrNoLeader = errors.New("node: the router did not answer in time (is a router leader running?)")

// AgentReply sends an agent's message to the customer of a task the agent
// holds, through the conversation's connector (the outbox delivers it).
func (n *Node) AgentReply(ctx context.Context, workerID, taskID, text string) (string, error) {
	t, err := n.store.GetTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	if workerID != "" && t.WorkerID != workerID {
		return "", cmdErr("forbidden", "task %q is not yours", taskID)
	}
	if t.Status != store.TaskAssigned && t.Status != store.TaskWrapping {
		return "", cmdErr("conflict", "task %q is %s: replies go to assigned tasks", taskID, t.Status)
	}
	route, tmpl, err := n.routeFor(ctx, t.ConversationID)
	if err != nil {
		return "", err
	}
	e := engine.Effect{Kind: engine.EffectSend, Key: store.NewID(), Send: &engine.SendEffect{Text: text}}
	op := mustJSON(OutboxPayload{Route: route, Effect: e, Event: tmpl, Agent: &AgentReplyOf{Worker: t.WorkerID, Task: t.ID}})
	unit := &store.Unit{At: n.cfg.Now(), Effects: []store.Effect{{ID: e.Key, Kind: string(e.Kind), IdempotencyKey: e.Key, Payload: op}}}
	res, err := n.committer.Submit(ctx, unit)
	if err != nil {
		return "", err
	}
	if res.Outcome != store.Committed {
		return "", fmt.Errorf("node: storing the reply: %v", res.Err)
	}
	n.signal()
	return e.Key, nil
}

// toAgent passes a customer's message to the agent holding the
// conversation's task, instead of the flow.
func (n *Node) toAgent(ctx context.Context, taskID string, msg *store.Message) {
	t, err := n.store.GetTask(ctx, taskID)
	if err != nil || (t.Status != store.TaskAssigned && t.Status != store.TaskWrapping) || t.WorkerID == "" {
		return
	}
	ev := store.RouterEvent{Type: "conversation.message", TaskID: t.ID, WorkerID: t.WorkerID, Queue: t.Queue,
		Data: mustJSON(map[string]any{"conversation_id": msg.ConversationID, "message_id": msg.ID, "text": msg.Text})}
	if err := n.store.AppendRouterEvents(ctx, []store.RouterEvent{ev}); err != nil {
		// The message is stored: the agent sees it in the conversation's history.
		n.log.Error("passing a message to the agent", "task", taskID, "err", err)
	}
}

// deliverEvents POSTs a batch of the router's events to the event webhook.
func (n *Node) deliverEvents(ctx context.Context, row store.Effect) {
	var d eventDelivery
	if err := json.Unmarshal(row.Payload, &d); err != nil {
		n.deadLetter(ctx, row, fmt.Errorf("unreadable event delivery: %w", err))
		return
	}
	body := mustJSON(map[string]any{"events": d.Events})
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
		if err != nil {
			return connectors.Permanent(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", row.IdempotencyKey)
		if secret := n.cfg.EventWebhook.Secret; secret != "" {
			custom.SignHeader(req.Header, secret, n.cfg.Now(), body)
		}
		resp, err := n.cfg.HTTP.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("event webhook answered %s", resp.Status)
		}
		return nil
	}()
	if err != nil {
		if !connectors.IsPermanent(err) && row.Attempts < n.cfg.MaxAttempts {
			n.retry(ctx, row, err)
		} else {
			n.deadLetter(ctx, row, err)
		}
		return
	}
	if err := n.store.CompleteEffect(ctx, row.ID, nil); err != nil {
		n.log.Error("completing event delivery", "effect", row.ID, "err", err)
	}
}

// CloseConversation ends a conversation (the customer left, an agent or an
// admin resolved it): its running execution is canceled — with its timers
// and its open task, whose agent's reservation is withdrawn — and the
// conversation is closed, so the customer's next message starts a new one.
func (n *Node) CloseConversation(ctx context.Context, conversationID string) error {
	conv, err := n.store.GetConversation(ctx, conversationID)
	if err != nil {
		return err
	}
	if conv.Status == store.ConversationClosed {
		return nil
	}
	route, tmpl, err := n.routeFor(ctx, conversationID)
	if err != nil {
		return err
	}
	execID := ""
	switch live, err := n.store.LiveExecution(ctx, conversationID); {
	case err == nil:
		execID = live.ID
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return n.resume(ctx, execID, route, tmpl,
		func(ev *engine.Event) { ev.Kind = engine.EventCancel },
		func(u *store.Unit) { u.CloseConversations = append(u.CloseConversations, conversationID) })
}

// agentReplyResult tells the agent's stream what became of its reply: a
// stored message (delivered) or an error (dead-lettered).
func (n *Node) agentReplyResult(ctx context.Context, p OutboxPayload, effectID string, sent *store.Message, failure error) {
	data := map[string]any{"conversation_id": p.Route.ConversationID, "reply_id": effectID, "text": p.Effect.Send.Text}
	typ := "agent.reply.delivered"
	if sent != nil {
		data["message_id"] = sent.ID
	}
	if failure != nil {
		typ, data["error"] = "agent.reply.failed", failure.Error()
	}
	ev := store.RouterEvent{Type: typ, TaskID: p.Agent.Task, WorkerID: p.Agent.Worker, Data: mustJSON(data)}
	if err := n.store.AppendRouterEvents(ctx, []store.RouterEvent{ev}); err != nil {
		n.log.Error("telling the agent about its reply", "task", p.Agent.Task, "err", err)
	}
}
