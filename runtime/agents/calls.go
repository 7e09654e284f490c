package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/leader"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// A voice task reaches its agent by phone: once the agent accepts it, the
// caller's call is put through to the worker's contact_uri (Connect); the
// agent's leg ending wraps the task up or, when the agent did not answer,
// bounces it to the next agent (the ingest's Control).

// commandTimeout bounds the wait for the router leader in a call's
// callback, which the platform waits for.
const commandTimeout = 5 * time.Second

// WrapUp moves an assigned task to wrapping: the call with its agent is
// over. A task already wrapping or ended is left alone.
func (a *Agents) WrapUp(ctx context.Context, taskID string) error {
	_, err := a.Command(ctx, leader.CmdWrapUp, leader.CommandArgs{Task: taskID}, commandTimeout)
	return applied(err)
}

// Bounce offers an assigned task to the next agent: its agent's phone did
// not answer (reason says how).
func (a *Agents) Bounce(ctx context.Context, taskID, reason string) error {
	_, err := a.Command(ctx, leader.CmdBounce, leader.CommandArgs{Task: taskID, Reason: reason}, commandTimeout)
	return applied(err)
}

// applied drops the router's refusal of a command whose effect is already
// there: a callback delivered twice, a task that ended meanwhile.
func applied(err error) error {
	var ce *leader.CommandError
	if errors.As(err, &ce) && (ce.Code == "not_found" || ce.Code == "conflict") {
		return nil
	}
	return err
}

// Connect puts the caller of a voice task through to the worker who
// accepted it: the outbox's Handler for leader.KindCallConnect rows. A
// worker without a contact_uri cannot be rung: the task goes to the next.
func (a *Agents) Connect(ctx context.Context, row store.Effect) error {
	var c leader.CallConnect
	if err := json.Unmarshal(row.Payload, &c); err != nil {
		return connectors.Permanent(fmt.Errorf("unreadable call connection: %w", err))
	}
	if c.ContactURI == "" {
		if err := a.Bounce(ctx, c.Task, "no_contact_uri"); err != nil {
			return err
		}
		return connectors.Permanent(fmt.Errorf("worker %q has no contact_uri attribute: the call of task %s cannot ring it", c.Worker, c.Task))
	}
	if a.cfg.Call == nil {
		return connectors.Permanent(errors.New("no connector performs calls on this node"))
	}
	route, _, err := a.core.RouteFor(ctx, c.Conversation)
	if err != nil {
		return err
	}
	_, err = a.cfg.Call(ctx, route, connectors.CallAction{Key: row.IdempotencyKey, ConversationID: c.Conversation, Call: route.Thread,
		To: route.Address, Verbs: []connectors.CallVerb{{Verb: connectors.VerbConnect, Number: c.ContactURI, Task: c.Task, Worker: c.Worker,
			Timeout: a.cfg.RingTimeout}}})
	if errors.Is(err, connectors.ErrCallEnded) {
		// The caller hung up before the agent's phone rang: the task is withdrawn with the call.
		return a.CloseConversation(ctx, c.Conversation)
	}
	return err
}

// Hangup ends the call of a voice task the agent holds: the call's end
// then wraps the task up.
func (a *Agents) Hangup(ctx context.Context, workerID, taskID string) error {
	t, err := a.store.GetTask(ctx, taskID)
	if err != nil {
		return err
	}
	if workerID != "" && t.WorkerID != workerID {
		return leader.Refuse("forbidden", "task %q is not yours", taskID)
	}
	if t.Channel != "voice" || (t.Status != store.TaskAssigned && t.Status != store.TaskWrapping) {
		return leader.Refuse("conflict", "task %q is a %s task, %s: only an assigned call hangs up", taskID, t.Channel, t.Status)
	}
	route, tmpl, err := a.core.RouteFor(ctx, t.ConversationID)
	if err != nil {
		return err
	}
	e := engine.Effect{Kind: engine.EffectVoice, Key: store.NewID(), Voice: &engine.VoiceEffect{Verb: "hangup"}}
	op := mustJSON(effect.OutboxPayload{Route: route, Effect: e, Event: tmpl})
	unit := &store.Unit{At: a.core.Now(), Effects: []store.Effect{{ID: e.Key, Kind: string(e.Kind), IdempotencyKey: e.Key, Payload: op}}}
	res, err := a.core.Submit(ctx, unit)
	if err != nil {
		return err
	}
	if res.Outcome != store.Committed {
		return fmt.Errorf("node: storing the hang-up: %v", res.Err)
	}
	a.core.WakeOutbox()
	return nil
}
