// Package ingest receives customers' messages: a connector's normalized
// message is deduplicated, given its contact and conversation, stepped
// through the conversation's flow (or passed to the agent holding it),
// and committed with everything the step did in one unit of the group
// commit. Only then may the webhook be acknowledged; the inline replies
// of connectors that answer in the webhook's response come back with it.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Ingest receives messages into the executions of core.
type Ingest struct {
	core  *execution.Core
	store store.Store
	log   *slog.Logger
	ctl   Control
	// linkPhones makes one contact of the senders with the same phone
	// number on every phone channel (connectors.Inbound.Phone).
	linkPhones bool
	// linkEmails makes one contact of the senders with the same email
	// address on every channel (connectors.Inbound.Email).
	linkEmails bool
	onTyping   TypingFunc
}

// SeparatePhones keeps the senders with one phone number on SMS, WhatsApp
// and calls apart, as contacts of their own.
func (g *Ingest) SeparatePhones() { g.linkPhones = false }

// Control is what a call's progress asks of the rest of the runtime: the
// router's commands and the end of a conversation (runtime/agents).
type Control interface {
	// WrapUp moves an assigned task to wrapping (the call with its agent is over).
	WrapUp(ctx context.Context, taskID string) error
	// Bounce offers an assigned task to the next agent: its agent could not be reached.
	Bounce(ctx context.Context, taskID, reason string) error
	// CloseConversation cancels the conversation's execution, with its task, and closes it.
	CloseConversation(ctx context.Context, conversationID string) error
}

// New returns an Ingest stepping the executions of core; ctl serves the
// calls' progress (nil: calls end with their conversation untouched).
func New(core *execution.Core, log *slog.Logger, ctl Control) *Ingest {
	if log == nil {
		log = slog.Default()
	}
	return &Ingest{core: core, store: core.Store(), log: log, ctl: ctl, linkPhones: true, linkEmails: true}
}

// Reaction is what the flow did while handling an inbound message, for
// connectors that answer inline.
type Reaction struct {
	Replies  []connectors.Outbound
	Enqueued []engine.EnqueueEffect
	// Calls, Holding and Hangup are a call's next verbs, the task (or other
	// wait) it now holds for, and whether it is over (connectors.Reaction).
	Calls    []connectors.CallVerb
	Holding  string
	Position int
	Hangup   bool
}

// Receive records an inbound message and steps its conversation's flow,
// returning once all of it is durably committed: only then may the
// webhook be acknowledged. A redelivered message is recognised by its
// platform id and does nothing twice.
//
// A new contact and a new conversation are created by the message's own
// unit, in the group-committed transaction: a message from a new contact
// costs no transaction of its own. When a concurrent message created the
// same contact or conversation first, the unit is a Conflict and Receive
// looks them up again.
func (g *Ingest) Receive(ctx context.Context, connector, instance string, in connectors.Inbound, inline bool) (*Reaction, error) {
	in = cleanInbound(in)
	switch {
	case in.Status != nil:
		return &Reaction{}, g.delivery(ctx, connector, instance, in)
	case in.Typing:
		return &Reaction{}, g.typing(ctx, instance, in)
	case in.Call != nil && in.Call.Kind != connectors.CallResultEvent:
		return g.callEvent(ctx, connector, instance, in)
	}
	payload, _ := json.Marshal(in)
	// A call's webhooks are answered with its verbs (TwiML).
	calls := inline && (in.Channel == connectors.ChannelVoice || in.Call != nil)
	m := &inbound{connector: connector, instance: instance, in: in, inline: inline, calls: calls, payload: payload, id: store.NewID()}
	m.msg = &compiler.Message{ID: m.id, Channel: in.Channel, From: in.From, To: in.To, Text: in.Text, Media: in.Media, Attributes: in.Attributes,
		Choice: in.Choice}
	lastConv := ""
	for attempt := 0; attempt < execution.MaxConflicts; attempt++ {
		r, convID, done, err := g.receiveOnce(ctx, m, attempt == 0)
		if done || err != nil {
			return r, err
		}
		lastConv = convID
	}
	return nil, fmt.Errorf("node: conversation %s kept changing; gave up after %d attempts", lastConv, execution.MaxConflicts)
}

// inbound is a message being received, across the attempts of Receive.
type inbound struct {
	connector, instance string
	in                  connectors.Inbound
	inline, calls       bool
	payload             []byte
	id                  string
	msg                 *compiler.Message
	checked             bool // FindMessage was asked
}

// party is the contact and conversation of a message; the New ones are
// created by its unit.
type party struct {
	contact    store.Contact
	conv       store.Conversation
	newContact *store.NewContact
	newConv    *store.NewConversation
}

// receiveOnce is one attempt of Receive: done is false after a Conflict
// (look up and step again).
func (g *Ingest) receiveOnce(ctx context.Context, m *inbound, first bool) (r *Reaction, convID string, done bool, err error) {
	now := g.core.Now()
	p, replay, err := g.party(ctx, m, first, now)
	if err != nil || replay != nil {
		return replay, "", true, err
	}
	in := m.in
	msg := &store.Message{ID: m.id, ConversationID: p.conv.ID, Direction: store.Inbound, Connector: m.connector,
		Instance: m.instance, PlatformMessageID: in.PlatformID, Text: in.Text, Payload: m.payload}
	route := effect.Route{ConversationID: p.conv.ID, ContactID: p.contact.ID, Connector: m.connector, Instance: m.instance, Channel: in.Channel,
		Address: in.From, Thread: in.Thread}
	tmpl := effect.EventTemplate{Contact: execution.ContactOf(p.contact), Conversation: execution.ConversationOf(p.conv)}
	defer g.core.Lock(p.conv.ID)()

	s, err := g.step(ctx, m, p, route, tmpl, now)
	if err != nil {
		return nil, "", true, err
	}
	unit := s.unit
	unit.Contact, unit.Conversation = p.newContact, p.newConv
	unit.Inbound = msg
	res, err := g.core.Submit(ctx, unit)
	if err != nil {
		return nil, "", true, err
	}
	switch res.Outcome {
	case store.Committed:
		g.core.Committed(ctx, unit)
		g.core.Report(s.fails)
		if s.agentTask != "" && len(unit.TaskUpdates) == 0 {
			g.toAgent(ctx, s.agentTask, msg, in.Media)
		}
		r := reaction(s.replies, unit, route)
		if m.calls {
			callReaction(r, s.replies, s.x, unitTasks(unit))
			g.position(ctx, r)
		}
		return r, p.conv.ID, true, nil
	case store.Duplicate: // a concurrent delivery of the same message won
		first, err := g.store.FindMessage(ctx, m.connector, m.instance, in.PlatformID)
		if err != nil {
			return &Reaction{}, "", true, nil
		}
		r, err := g.replay(ctx, first, m.inline)
		if err == nil && m.calls {
			err = g.replayHold(ctx, r, first.ConversationID)
		}
		return r, "", true, err
	case store.Conflict: // the execution moved, or the contact or conversation was created meanwhile
		return nil, p.conv.ID, false, nil
	default:
		return nil, "", true, fmt.Errorf("node: storing message: %v", res.Err)
	}
}

// party finds or makes the message's contact and conversation. A message
// delivered before is answered as the first time (replay).
func (g *Ingest) party(ctx context.Context, m *inbound, first bool, now time.Time) (p party, replay *Reaction, err error) {
	in := m.in
	p.contact, err = g.lookupContact(ctx, in.Channel, in.From, first)
	if errors.Is(err, store.ErrNotFound) && in.Phone != "" && g.linkPhones {
		p.contact, err = g.samePhone(ctx, in, first)
	}
	if in.Email != "" && g.linkEmails && in.Channel != connectors.ChannelEmail {
		if errors.Is(err, store.ErrNotFound) {
			p.contact, err = g.sameEmail(ctx, in, first)
		} else if err == nil {
			p.contact, err = g.emailOf(ctx, p.contact, in.Email)
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound) && in.Call != nil:
		return p, &Reaction{Hangup: true}, nil // a callback of a call never seen
	case errors.Is(err, store.ErrNotFound):
		// A new contact: it has no conversation, no execution, and no
		// stored message (the unit's Inbound dedupe still guards that).
		p.newContact = &store.NewContact{ID: store.NewID(), Name: in.FromName, Channel: in.Channel, Address: in.From}
		p.contact = store.Contact{ID: p.newContact.ID, Name: in.FromName, Attributes: json.RawMessage("{}"),
			Addresses: []store.Address{{Channel: in.Channel, Address: in.From}}, CreatedAt: store.Micro(now)}
	case err != nil:
		return p, nil, err
	default:
		if in.PlatformID != "" && !m.checked {
			m.checked = true
			if first, err := g.store.FindMessage(ctx, m.connector, m.instance, in.PlatformID); err == nil {
				r, err := g.replay(ctx, first, m.inline) // delivered before: answer as the first time
				if err == nil && m.calls {
					err = g.replayHold(ctx, r, first.ConversationID)
				}
				return p, r, err
			} else if !errors.Is(err, store.ErrNotFound) {
				return p, nil, err
			}
		}
	}
	if p.newContact == nil {
		switch {
		case in.Call != nil: // a call's callback: its own call's conversation
			p.conv, err = g.callConversation(ctx, m.connector, m.instance, in)
			if errors.Is(err, store.ErrNotFound) {
				return p, &Reaction{Hangup: true}, nil // a call no longer followed
			}
		case callStart(in):
			err = store.ErrNotFound
		default:
			p.conv, err = g.store.LookupConversation(ctx, p.contact.ID, in.Channel, m.instance)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return p, nil, err
		}
	}
	if p.newContact != nil || err != nil { // no open conversation: the unit opens one
		at := store.Micro(now)
		p.newConv = &store.NewConversation{ID: store.NewID(), ContactID: p.contact.ID, Channel: in.Channel, Instance: m.instance, Beside: callStart(in)}
		p.conv = store.Conversation{ID: p.newConv.ID, ContactID: p.contact.ID, Channel: in.Channel, Instance: m.instance,
			Status: store.ConversationOpen, Attributes: json.RawMessage("{}"), CreatedAt: at, UpdatedAt: at}
	}
	return p, nil, nil
}

// stepped is what the message did to the conversation's execution.
type stepped struct {
	unit      *store.Unit
	replies   []engine.Effect
	agentTask string            // the execution waits for this routed task: the message goes to its agent
	fails     execution.Failure // the execution fails in this unit
	x         *engine.Execution // the execution after the step; nil when none ran
}

// step starts the conversation's flow or steps its live execution with
// the message.
func (g *Ingest) step(ctx context.Context, m *inbound, p party, route effect.Route, tmpl effect.EventTemplate, now time.Time) (stepped, error) {
	s := stepped{unit: &store.Unit{At: now}}
	ev := g.core.Event(now, tmpl)
	ev.Message = m.msg
	plan := effect.Step{Route: route, Event: tmpl, At: now, Inline: m.inline, InlineCalls: m.calls, InReplyTo: m.id,
		Quiet: g.core.Quiet(route)}
	live := store.Execution{}
	err := store.ErrNotFound // a new conversation has no execution
	if p.newConv == nil {
		live, err = g.store.LiveExecution(ctx, p.conv.ID)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		if m.in.Call != nil { // a call's callback after its flow ended
			return s, nil
		}
		prog := g.core.Active()
		trigger := compiler.TriggerMessage
		if m.in.Channel == connectors.ChannelVoice {
			trigger = compiler.TriggerCall
		}
		f := pickFlow(prog, trigger, m.in.Channel)
		if f == nil {
			return s, nil
		}
		ev.Kind = engine.EventStart
		plan.Execution, plan.Effects, err = g.core.Start(prog, f.Name, ev)
	case err != nil:
		return s, err
	default:
		x, prog, err := g.core.Load(ctx, live)
		if err != nil {
			return s, err
		}
		if x.Wait != nil && x.Wait.Kind == engine.WaitTask {
			s.agentTask = x.Wait.Task
		}
		ev.Kind = engine.EventInbound
		if c := m.in.Call; c != nil { // a call's verb ended: its outcome is the result the execution waits for
			ev.Kind, ev.WaitID, ev.Result = engine.EventResult, c.WaitID, callResult(c.Result)
		}
		plan.Execution, plan.Effects, err = g.core.Step(prog, x, ev)
		if err != nil {
			return s, err
		}
		if plan.Execution == x { // the execution did not take the message
			return s, nil
		}
		plan.Expected = live.Version
	}
	if err != nil {
		return s, err
	}
	s.fails, s.x = execution.FailureOf(plan.Execution, plan.Effects), plan.Execution
	s.unit, s.replies, err = effect.Plan(plan)
	return s, err
}

// lookupContact is LookupContact, skipped on the first attempt when the
// store knows the address is new (store.AddressFilter): after a Conflict
// the address may have been stored by another process, so it is looked up.
func (g *Ingest) lookupContact(ctx context.Context, channel, address string, first bool) (store.Contact, error) {
	if f, ok := g.store.(store.AddressFilter); ok && first && !f.MayHaveAddress(channel, address) {
		return store.Contact{}, store.ErrNotFound
	}
	return g.store.LookupContact(ctx, channel, address)
}

// replay rebuilds the inline answer given to a message's first delivery,
// so an answer lost on the way is not lost for good. Tasks are not
// repeated: the first answer reported them.
func (g *Ingest) replay(ctx context.Context, first store.Message, inline bool) (*Reaction, error) {
	r := &Reaction{}
	if !inline {
		return r, nil
	}
	msgs, _, err := g.store.ListMessages(ctx, first.ConversationID, store.Page{Newest: true, Limit: 200})
	if err != nil {
		return nil, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		var ir effect.InlineReply
		if m.Direction != store.Outbound || json.Unmarshal(m.Payload, &ir) != nil || ir.InReplyTo != first.ID {
			continue
		}
		if ir.Call != nil {
			r.Calls = append(r.Calls, *ir.Call)
			continue
		}
		out := connectors.Outbound{Key: ir.Key, Channel: ir.Send.Channel, To: ir.Send.To, Text: ir.Send.Text,
			Media: ir.Send.Media, ConversationID: first.ConversationID, Choices: effect.Choices(ir.Send.Choices), Menu: ir.Send.Menu}
		r.Replies = append(r.Replies, out)
	}
	return r, nil
}

func reaction(replies []engine.Effect, u *store.Unit, route effect.Route) *Reaction {
	r := &Reaction{}
	for _, e := range replies {
		if e.Kind == engine.EffectSend {
			r.Replies = append(r.Replies, effect.Outbound(route, e))
		}
	}
	for _, t := range u.Tasks {
		var attrs map[string]any
		_ = json.Unmarshal(t.Attributes, &attrs)
		r.Enqueued = append(r.Enqueued, engine.EnqueueEffect{TaskID: t.ID, Workflow: t.Workflow, Attributes: attrs, Priority: float64(t.Priority)})
	}
	return r
}

// toAgent passes a customer's message to the agent holding the
// conversation's task, instead of the flow.
func (g *Ingest) toAgent(ctx context.Context, taskID string, msg *store.Message, media []string) {
	t, err := g.store.GetTask(ctx, taskID)
	if err != nil || (t.Status != store.TaskAssigned && t.Status != store.TaskWrapping) || t.WorkerID == "" {
		return
	}
	fields := map[string]any{"conversation_id": msg.ConversationID, "message_id": msg.ID, "text": msg.Text}
	if len(media) > 0 {
		fields["media"] = media // the customer's attachments, for the desktop to show
	}
	data, _ := json.Marshal(fields)
	ev := store.RouterEvent{Type: "conversation.message", TaskID: t.ID, WorkerID: t.WorkerID, Queue: t.Queue, Data: data}
	if err := g.store.AppendRouterEvents(ctx, []store.RouterEvent{ev}); err != nil {
		// The message is stored: the agent sees it in the conversation's history.
		g.log.Error("passing a message to the agent", "task", taskID, "err", err)
	}
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
