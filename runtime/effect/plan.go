package effect

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Route says where an execution's messages go: the conversation and the
// connector instance it lives on. It travels with every outbox row, so a
// worker can perform the effect without loading the conversation.
type Route struct {
	ConversationID string `json:"conversation"`
	ContactID      string `json:"contact"`
	Connector      string `json:"connector"`
	Instance       string `json:"instance"`
	Channel        string `json:"channel"`
	Address        string `json:"address"` // the contact's address on the channel
	// Thread is the platform's session of the conversation (a call's id),
	// from its latest inbound message.
	Thread string `json:"thread,omitempty"`
}

// OutboxPayload is what an outbox row holds.
type OutboxPayload struct {
	Route  Route         `json:"route"`
	Effect engine.Effect `json:"effect"`
	// Script holds the voice effects the step emitted right after Effect
	// (a voice effect too): the call performs them together.
	Script []engine.Effect `json:"script,omitempty"`
	Event  EventTemplate   `json:"event"` // the context a result event needs
	// Agent is set on a live agent's reply: the stored message names the
	// worker, and the worker's stream hears whether it was delivered.
	Agent *AgentReplyOf `json:"agent,omitempty"`
}

// WaitID is the wait the row's result answers: its effect's, or the
// last of its script's.
func (p OutboxPayload) WaitID() string {
	if n := len(p.Script); n > 0 {
		return p.Script[n-1].WaitID
	}
	return p.Effect.WaitID
}

// SentRecord is how a delivered send is stored with its message: the
// send, the agent whose reply it is, and the wait of an execution that
// waits for the platform's report on it (connectors.DeliveryReporter).
type SentRecord struct {
	*engine.SendEffect
	Agent     string `json:"agent,omitempty"`
	Task      string `json:"task,omitempty"`
	Execution string `json:"execution,omitempty"`
	Wait      string `json:"wait,omitempty"`
}

// AgentReplyOf names the worker and task of an agent's reply.
type AgentReplyOf struct {
	Worker string `json:"worker"`
	Task   string `json:"task"`
}

// EventTemplate is the context of the event that produced an effect, kept
// so the effect's result can be stepped with the same contact and
// conversation without loading them.
type EventTemplate struct {
	Contact      compiler.Contact      `json:"contact"`
	Conversation compiler.Conversation `json:"conversation"`
}

// TimerPayload is what a timer row holds. A timer with a Task carries a
// routed task's outcome (written by the router leader) instead of a timeout.
type TimerPayload struct {
	Route Route              `json:"route"`
	Event EventTemplate      `json:"event"`
	Task  *engine.TaskResult `json:"task,omitempty"`
}

// InlineReply is how a reply given in a webhook's response is stored: with
// the inbound message it answered, so a redelivery of that message gets
// the same answer.
type InlineReply struct {
	Key       string            `json:"key"`
	InReplyTo string            `json:"in_reply_to"`
	Send      engine.SendEffect `json:"send"`
	// Call is set instead of Send on a call's verb.
	Call *connectors.CallVerb `json:"call,omitempty"`
}

// Step is one engine step to record: the execution after it, the version
// it had before (0 for a new one), and its effects.
type Step struct {
	Execution *engine.Execution
	Expected  int64
	Effects   []engine.Effect
	Route     Route
	Event     EventTemplate
	At        time.Time
	// Inline is set when the connector answers the webhook inline: sends
	// that wait for nothing are then returned as replies instead of
	// queued, and recorded as outbound messages answering InReplyTo.
	Inline    bool
	InReplyTo string
	// InlineCalls is set when the connector answers the webhook with the
	// call's verbs (TwiML): every voice effect is then returned as a
	// reply, its wait answered by the call's next callback.
	InlineCalls bool
	// Quiet is set when the conversation's channel shows no notices
	// (connectors.Notifier): no notice rows are written for it.
	Quiet bool
}

// Plan turns one engine step into the store unit that records it, durably:
// the caller adds the inbound message, if any. It returns the inline
// replies.
func Plan(s Step) (*store.Unit, []engine.Effect, error) {
	x := s.Execution
	payload, err := json.Marshal(x)
	if err != nil {
		return nil, nil, fmt.Errorf("effect: encoding execution %s: %w", x.ID, err)
	}
	p := &planner{s: s, u: &store.Unit{At: s.At, Execution: &store.ExecutionWrite{Expected: s.Expected, Execution: store.Execution{
		ID: x.ID, ConversationID: s.Route.ConversationID, Flow: x.Flow, ProgramVersion: x.Version,
		Status: store.ExecutionStatus(x.Status), Payload: payload, Step: stepOf(x),
	}}}}
	if err := Apply(p, s.Effects); err != nil {
		return nil, nil, err
	}
	return p.u, p.replies, nil
}

// stepOf is where x is, for the store's count of executions per step.
func stepOf(x *engine.Execution) string {
	if len(x.Frames) == 0 {
		return ""
	}
	f := x.Frames[len(x.Frames)-1]
	return store.StepOf(f.Flow, int(f.State))
}

// planner is serve's Book: the effects become rows of one unit.
type planner struct {
	s       Step
	u       *store.Unit
	replies []engine.Effect
	// script is the payload of the step's last outbox row when it is a
	// voice effect, at index scriptRow: the voice effects right after it
	// join its script.
	script    *OutboxPayload
	scriptRow int
}

func (p *planner) SetTimer(e engine.Effect) error {
	tp, _ := json.Marshal(TimerPayload{Route: p.s.Route, Event: p.s.Event})
	p.u.Timers = append(p.u.Timers, store.Timer{ID: e.Timer.ID, ExecutionID: p.s.Execution.ID, FireAt: e.Timer.At, Payload: tp})
	return nil
}

func (p *planner) CancelTimer(e engine.Effect) error {
	p.u.DeleteTimers = append(p.u.DeleteTimers, e.Timer.ID)
	return nil
}

func (p *planner) Enqueue(e engine.Effect) error {
	attrs, err := json.Marshal(e.Enqueue.Attributes)
	if err != nil {
		return fmt.Errorf("effect: task attributes: %w", err)
	}
	r := p.s.Route
	p.u.Tasks = append(p.u.Tasks, store.Task{ID: e.Enqueue.TaskID, ConversationID: r.ConversationID, ContactID: r.ContactID,
		ExecutionID: p.s.Execution.ID, Workflow: e.Enqueue.Workflow, Attributes: attrs, Priority: int(e.Enqueue.Priority), Channel: e.Enqueue.Channel,
		Quiet: p.s.Quiet})
	if r.Channel != connectors.ChannelVoice && !p.s.InlineCalls && !p.s.Quiet { // a caller hears the hold instead
		p.u.Effects = append(p.u.Effects, NoticeRow(NoticePayload{Kind: connectors.NoticeQueued, Conversation: r.ConversationID, Task: e.Enqueue.TaskID}))
	}
	return nil
}

func (p *planner) CancelTask(e engine.Effect) error {
	p.u.TaskUpdates = append(p.u.TaskUpdates, store.TaskUpdate{ID: e.TaskID, Status: store.TaskCanceled})
	return nil
}

// End is recorded by the execution's status.
func (p *planner) End(engine.Effect) error { return nil }

// Perform queues the effect in the outbox, or answers inline.
func (p *planner) Perform(e engine.Effect) error {
	r := p.s.Route
	// A template cannot go in a webhook's answer (TwiML has none): it is sent.
	if p.s.Inline && e.Kind == engine.EffectSend && e.WaitID == "" && e.Send.Template == nil {
		p.replies = append(p.replies, e)
		body, _ := json.Marshal(InlineReply{Key: e.Key, InReplyTo: p.s.InReplyTo, Send: *e.Send})
		p.u.Messages = append(p.u.Messages, store.Message{ID: store.NewID(), ConversationID: r.ConversationID, Direction: store.Outbound,
			Connector: r.Connector, Instance: r.Instance, Text: e.Send.Text, Payload: body})
		return nil
	}
	if e.Kind == engine.EffectVoice {
		return p.voice(e)
	}
	p.script = nil
	return p.queue(e, OutboxPayload{Route: r, Effect: e, Event: p.s.Event})
}

// queue adds an outbox row performing e.
func (p *planner) queue(e engine.Effect, payload OutboxPayload) error {
	op, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("effect: encoding effect: %w", err)
	}
	// A request that backs off is due later; the others at once.
	p.u.Effects = append(p.u.Effects, store.Effect{ID: store.NewID(), ExecutionID: p.s.Execution.ID, Kind: string(e.Kind),
		IdempotencyKey: e.Key, Payload: op, NextAttemptAt: e.NotBefore})
	return nil
}

// voice answers a call's verb inline, or queues it with the step's other
// verbs as one script.
func (p *planner) voice(e engine.Effect) error {
	r := p.s.Route
	if p.s.InlineCalls {
		p.replies = append(p.replies, e)
		v := CallVerb(e)
		body, _ := json.Marshal(InlineReply{Key: e.Key, InReplyTo: p.s.InReplyTo, Call: &v})
		p.u.Messages = append(p.u.Messages, store.Message{ID: store.NewID(), ConversationID: r.ConversationID, Direction: store.Outbound,
			Connector: r.Connector, Instance: r.Instance, Text: v.Text, Payload: body})
		return nil
	}
	if p.script != nil {
		p.script.Script = append(p.script.Script, e)
		op, err := json.Marshal(p.script)
		if err != nil {
			return fmt.Errorf("effect: encoding effect: %w", err)
		}
		p.u.Effects[p.scriptRow].Payload = op
		return nil
	}
	p.script = &OutboxPayload{Route: r, Effect: e, Event: p.s.Event}
	p.scriptRow = len(p.u.Effects)
	return p.queue(e, *p.script)
}
