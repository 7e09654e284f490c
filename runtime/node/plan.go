// Package node is one Switchboard runtime node: it ties the pure engine to
// the store, the connectors and the clock. An inbound message is stepped
// through the engine and its outcome (the message, the new execution, the
// effects, timers and tasks) is committed in one unit of a group commit
// before the webhook is answered; outbox workers then perform the effects
// and feed their results back as events, and a timer loop fires durable
// timers. Several nodes may share one PostgreSQL store: leases and the
// executions' versions keep every effect and every event applied once.
package node

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
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
}

// OutboxPayload is what an outbox row holds.
type OutboxPayload struct {
	Route  Route         `json:"route"`
	Effect engine.Effect `json:"effect"`
	Event  EventTemplate `json:"event"` // the context a result event needs
	// Agent is set on a live agent's reply: the stored message names the
	// worker, and the worker's stream hears whether it was delivered.
	Agent *AgentReplyOf `json:"agent,omitempty"`
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

// plan turns one engine step into the store unit that records it. The
// caller adds the inbound message, if any. Sends that the connector answers
// inline (inline = true) are not queued: they are returned, and recorded as
// outbound messages of the unit.
// inlineReply is how a reply given in a webhook's response is stored: with
// the inbound message it answered, so a redelivery of that message gets
// the same answer.
type inlineReply struct {
	Key       string            `json:"key"`
	InReplyTo string            `json:"in_reply_to"`
	Send      engine.SendEffect `json:"send"`
}

func plan(x *engine.Execution, expected int64, convID string, route Route, tmpl EventTemplate, effects []engine.Effect, at time.Time, inline bool, inReplyTo string) (*store.Unit, []engine.Effect, error) {
	payload, err := json.Marshal(x)
	if err != nil {
		return nil, nil, fmt.Errorf("node: encoding execution %s: %w", x.ID, err)
	}
	u := &store.Unit{At: at, Execution: &store.ExecutionWrite{Expected: expected, Execution: store.Execution{
		ID: x.ID, ConversationID: convID, Flow: x.Flow, ProgramVersion: x.Version,
		Status: store.ExecutionStatus(x.Status), Payload: payload,
	}}}
	var replies []engine.Effect
	for _, e := range effects {
		switch e.Kind {
		case engine.EffectSetTimer:
			tp, _ := json.Marshal(TimerPayload{Route: route, Event: tmpl})
			u.Timers = append(u.Timers, store.Timer{ID: e.Timer.ID, ExecutionID: x.ID, FireAt: e.Timer.At, Payload: tp})
		case engine.EffectCancelTimer:
			u.DeleteTimers = append(u.DeleteTimers, e.Timer.ID)
		case engine.EffectEnqueue:
			attrs, err := json.Marshal(e.Enqueue.Attributes)
			if err != nil {
				return nil, nil, fmt.Errorf("node: task attributes: %w", err)
			}
			u.Tasks = append(u.Tasks, store.Task{ID: e.Enqueue.TaskID, ConversationID: convID, ContactID: route.ContactID,
				ExecutionID: x.ID, Workflow: e.Enqueue.Workflow, Attributes: attrs, Priority: int(e.Enqueue.Priority), Channel: e.Enqueue.Channel})
		case engine.EffectCancelTask:
			u.TaskUpdates = append(u.TaskUpdates, store.TaskUpdate{ID: e.TaskID, Status: store.TaskCanceled})
		case engine.EffectEnd:
			// The execution's status says it.
		case engine.EffectSend:
			if inline && e.WaitID == "" {
				replies = append(replies, e)
				body, _ := json.Marshal(inlineReply{Key: e.Key, InReplyTo: inReplyTo, Send: *e.Send})
				u.Messages = append(u.Messages, store.Message{ID: store.NewID(), ConversationID: convID, Direction: store.Outbound,
					Connector: route.Connector, Instance: route.Instance, Text: e.Send.Text, Payload: body})
				continue
			}
			fallthrough
		default:
			op, err := json.Marshal(OutboxPayload{Route: route, Effect: e, Event: tmpl})
			if err != nil {
				return nil, nil, fmt.Errorf("node: encoding effect: %w", err)
			}
			// A request that backs off is due later; the others at once.
			u.Effects = append(u.Effects, store.Effect{ID: store.NewID(), ExecutionID: x.ID, Kind: string(e.Kind), IdempotencyKey: e.Key, Payload: op,
				NextAttemptAt: e.NotBefore})
		}
	}
	return u, replies, nil
}

// pickFlow chooses the flow a new conversation starts: a flow with the
// trigger that names the channel, else one that serves every channel. Among
// equals the first declared wins. Nil means no flow handles it.
func pickFlow(prog *compiler.Program, trigger compiler.Trigger, channel string) *compiler.Flow {
	var fallback *compiler.Flow
	for _, f := range prog.Flows {
		if f.Trigger != trigger {
			continue
		}
		if len(f.Channels) == 0 {
			if fallback == nil {
				fallback = f
			}
			continue
		}
		for _, c := range f.Channels {
			if c == channel {
				return f
			}
		}
	}
	return fallback
}
