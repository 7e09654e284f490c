package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// A call is a conversation whose webhooks are answered with its next verbs.
// A verb's outcome (the caller's keys, a recording) steps the flow like a
// message and is answered the same way; the call's other progress — the
// caller on hold asking again, the agent's leg ending, the call ending —
// steps no flow but the router and the conversation.

// callReaction completes the answer to a call's webhook: the verbs the
// step decided, else what the call now waits for, or its end. liveTask
// says whether a task is a live call's (the "voice" channel): a caller
// holds for such a task only; a task for later (a voicemail's call-back)
// lets the call end while the flow waits for it.
func callReaction(r *Reaction, replies []engine.Effect, x *engine.Execution, liveTask func(id string) bool) {
	for _, e := range replies {
		if e.Kind == engine.EffectVoice {
			r.Calls = append(r.Calls, effect.CallVerb(e))
		}
	}
	switch {
	case x == nil || x.Status == engine.StatusEnded || x.Status == engine.StatusFailed:
		r.Hangup = len(r.Calls) == 0
	case len(r.Calls) > 0 && r.Calls[len(r.Calls)-1].WaitID != "":
	case x.Wait != nil && x.Wait.Task != "":
		if liveTask(x.Wait.Task) {
			r.Holding = x.Wait.Task
		} else {
			r.Hangup = true
		}
	case x.Wait != nil:
		// A request the flow makes before it speaks again: the caller
		// holds until the next verbs replace the hold (CallPerformer).
		r.Holding = x.Wait.ID
	}
}

// unitTasks tells whether the tasks a unit creates are live calls'.
func unitTasks(u *store.Unit) func(string) bool {
	return func(id string) bool {
		for _, t := range u.Tasks {
			if t.ID == id {
				return t.Channel == connectors.ChannelVoice
			}
		}
		return true // created earlier: the call holds for it
	}
}

// storedTasks tells whether a stored task is a live call's.
func (g *Ingest) storedTasks(ctx context.Context) func(string) bool {
	return func(id string) bool {
		t, err := g.store.GetTask(ctx, id)
		return err != nil || t.Channel == connectors.ChannelVoice
	}
}

// position tells a held caller its place in line, when it holds for a
// task; a failed lookup only leaves the announcement out.
func (g *Ingest) position(ctx context.Context, r *Reaction) {
	if r.Holding == "" {
		return
	}
	if n, err := g.store.TaskPosition(ctx, r.Holding); err == nil {
		r.Position = n
	}
}

// callResult is a verb's outcome as the engine takes it.
func callResult(c connectors.CallResult) *engine.Result {
	return &engine.Result{Digits: c.Digits, Speech: c.Speech, Confidence: c.Confidence, RecordingURL: c.RecordingURL,
		RecordingID: c.RecordingID, Duration: c.Duration, Transcript: c.Transcript, DialStatus: c.DialStatus}
}

// replayHold completes a redelivered call webhook's answer when its verbs
// were not stored: the call goes on holding for what its execution waits for.
func (g *Ingest) replayHold(ctx context.Context, r *Reaction, conversationID string) error {
	if len(r.Calls) > 0 {
		return nil
	}
	x, err := g.liveCall(ctx, conversationID)
	if err != nil {
		return err
	}
	callReaction(r, nil, x, g.storedTasks(ctx))
	return nil
}

// liveCall is the conversation's running execution; nil when none runs.
func (g *Ingest) liveCall(ctx context.Context, conversationID string) (*engine.Execution, error) {
	row, err := g.store.LiveExecution(ctx, conversationID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	x, _, err := g.core.Load(ctx, row)
	return x, err
}

// callConversation finds the open conversation of a call's callback by the
// call's id: the call's first webhook is stored with it as its PlatformID.
// A caller may be on two calls at once (a PBX's lines share one number),
// and each call is a conversation of its own.
func (g *Ingest) callConversation(ctx context.Context, connector, instance string, in connectors.Inbound) (store.Conversation, error) {
	if in.Thread == "" {
		return store.Conversation{}, connectors.Errorf(400, "a call's callback without the call's id")
	}
	first, err := g.store.FindMessage(ctx, connector, instance, in.Thread)
	if err != nil {
		return store.Conversation{}, err
	}
	conv, err := g.store.GetConversation(ctx, first.ConversationID)
	if err == nil && conv.Status != store.ConversationOpen {
		err = store.ErrNotFound
	}
	return conv, err
}

// callStart reports whether in begins a call: it opens a conversation of
// its own, whatever else its caller has open.
func callStart(in connectors.Inbound) bool {
	return in.Channel == connectors.ChannelVoice && in.Call == nil
}

// callEvent applies a call's progress other than a verb's outcome.
func (g *Ingest) callEvent(ctx context.Context, connector, instance string, in connectors.Inbound) (*Reaction, error) {
	c := in.Call
	conv, err := g.callConversation(ctx, connector, instance, in)
	if errors.Is(err, store.ErrNotFound) { // a call the runtime no longer follows
		return &Reaction{Hangup: c.Kind != connectors.CallEndedEvent}, nil
	}
	if err != nil {
		return nil, err
	}
	x, err := g.liveCall(ctx, conv.ID)
	if err != nil {
		return nil, err
	}
	r := &Reaction{}
	switch c.Kind {
	case connectors.CallHoldEvent:
		callReaction(r, nil, x, g.storedTasks(ctx))
		g.position(ctx, r)
	case connectors.CallAgentEvent:
		err = g.agentLeg(ctx, c, r, x)
	case connectors.CallEndedEvent:
		err = g.callEnded(ctx, conv.ID, x)
	case connectors.CallAnsweredEvent:
		err = g.agentAnswered(ctx, conv.ID, c)
	default:
		err = connectors.Errorf(400, "unknown call event %q", c.Kind)
	}
	return r, err
}

// agentLeg: the agent talked with the caller and hung up (the task wraps
// up, the call ends), or did not answer (the task goes to the next agent
// while the caller holds again).
func (g *Ingest) agentLeg(ctx context.Context, c *connectors.CallEvent, r *Reaction, x *engine.Execution) error {
	if g.ctl == nil {
		return errors.New("ingest: no router to tell about the agent's call")
	}
	if c.Status == "answered" {
		r.Hangup = true
		return g.ctl.WrapUp(ctx, c.Task)
	}
	if err := g.ctl.Bounce(ctx, c.Task, c.Status); err != nil {
		return err
	}
	callReaction(r, nil, x, g.storedTasks(ctx))
	return nil
}

// agentAnswered tells the agent's desktop that its phone picked up: the
// call's time with the agent starts now.
func (g *Ingest) agentAnswered(ctx context.Context, conversationID string, c *connectors.CallEvent) error {
	data, _ := json.Marshal(map[string]any{"conversation_id": conversationID})
	return g.store.AppendRouterEvents(ctx, []store.RouterEvent{{Type: "call.answered", TaskID: c.Task, WorkerID: c.Worker, Data: data}})
}

// callEnded: a caller who hangs up while an agent has the call leaves the
// task to wrap up, and the flow goes on at the task's end; a task for
// later (a call-back) goes on without the call; otherwise the flow, its
// task and the conversation end.
func (g *Ingest) callEnded(ctx context.Context, conversationID string, x *engine.Execution) error {
	if g.ctl == nil {
		return errors.New("ingest: no way to end the call's conversation")
	}
	if x != nil && x.Wait != nil && x.Wait.Task != "" {
		t, err := g.store.GetTask(ctx, x.Wait.Task)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		switch {
		case err == nil && t.Channel != connectors.ChannelVoice:
			return nil
		case t.Status == store.TaskAssigned:
			return g.ctl.WrapUp(ctx, t.ID)
		case t.Status == store.TaskWrapping:
			return nil
		}
	}
	return g.ctl.CloseConversation(ctx, conversationID)
}

// delivery applies a platform's report on an outbound message: a send the
// flow waits for takes its outcome from it, and an agent's reply that
// failed is reported to the agent.
func (g *Ingest) delivery(ctx context.Context, connector, instance string, in connectors.Inbound) error {
	st := in.Status
	if st.Status != "sent" && st.Status != "delivered" && st.Status != "read" && !st.Failed() {
		return nil
	}
	sent, err := g.findSent(ctx, connector, instance, st.PlatformID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // an inline reply, or sent by another system
	}
	if err != nil {
		return err
	}
	var rec effect.SentRecord
	_ = json.Unmarshal(sent.Payload, &rec)
	if st.Failed() && rec.Agent != "" && rec.Task != "" {
		data, _ := json.Marshal(map[string]any{"conversation_id": sent.ConversationID, "message_id": sent.ID, "text": sent.Text,
			"error": fmt.Sprintf("%s: %s", st.Status, st.Error)})
		if err := g.store.AppendRouterEvents(ctx, []store.RouterEvent{{Type: "agent.reply.failed", TaskID: rec.Task, WorkerID: rec.Agent, Data: data}}); err != nil {
			return err
		}
	}
	if (st.Status == "delivered" || st.Status == "read") && rec.Agent != "" && rec.Task != "" {
		// The customer's device has the reply, or they saw it: the
		// agent's desktop marks it.
		data, _ := json.Marshal(map[string]any{"conversation_id": sent.ConversationID, "message_id": sent.ID, "status": st.Status})
		if err := g.store.AppendRouterEvents(ctx, []store.RouterEvent{{Type: "agent.reply.status", TaskID: rec.Task, WorkerID: rec.Agent, Data: data}}); err != nil {
			return err
		}
	}
	if rec.Wait == "" || rec.Execution == "" {
		return nil
	}
	route, tmpl, err := g.core.RouteFor(ctx, sent.ConversationID)
	if err != nil {
		return err
	}
	res := engine.Result{}
	if st.Failed() {
		res.Err = fmt.Sprintf("%s: %s", st.Status, st.Error)
	}
	wait := rec.Wait
	return g.core.Resume(ctx, rec.Execution, route, tmpl,
		func(ev *engine.Event) { ev.Kind, ev.WaitID, ev.Result = engine.EventResult, wait, &res }, func(*store.Unit) {})
}

// findSent finds a sent message by the platform's id. A report can
// overtake the commit of the send it reports on (the platform calls back
// while the outbox records its answer): it is looked for again a moment.
func (g *Ingest) findSent(ctx context.Context, connector, instance, platformID string) (store.Message, error) {
	for attempt := 0; ; attempt++ {
		m, err := g.store.FindSent(ctx, connector, instance, platformID)
		if !errors.Is(err, store.ErrNotFound) || attempt == 5 {
			return m, err
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
