package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Batches as a group commit forms them under load: many units, mostly new
// contacts, and now and then one that does not commit. An implementation may
// write a batch table by table rather than unit by unit (the SQLite store
// does); these check that the outcome is still that of the units applied one
// by one in batch order.

// newContactUnits returns n units that each create a contact (address
// prefix-i), its conversation, an inbound message and a live execution; every
// third one also stores an outbound reply and every fifth a task.
func newContactUnits(prefix string, n int) []*store.Unit {
	units := make([]*store.Unit, n)
	for i := range units {
		u := identityUnit(fmt.Sprintf("%s-%d", prefix, i))
		conv := u.Conversation.ID
		if i%3 == 0 {
			u.Messages = []store.Message{{ID: store.NewID(), ConversationID: conv, Direction: store.Outbound,
				Connector: "webchat", Instance: "default", Text: "reply", Payload: json.RawMessage(`{"r":1}`)}}
		}
		if i%5 == 0 {
			u.Tasks = []store.Task{{ID: store.NewID(), ConversationID: conv, ContactID: u.Contact.ID,
				ExecutionID: u.Execution.Execution.ID, Workflow: "support"}}
		}
		units[i] = u
	}
	return units
}

// written checks that everything of a committed new-contact unit is stored.
func written(t *testing.T, s store.Store, u *store.Unit) {
	t.Helper()
	c := must[store.Contact](t)(s.LookupContact(ctx(t), u.Contact.Channel, u.Contact.Address))
	if c.ID != u.Contact.ID {
		t.Fatalf("address %s owned by %s, want %s", u.Contact.Address, c.ID, u.Contact.ID)
	}
	v := must[store.Conversation](t)(s.LookupConversation(ctx(t), c.ID, u.Conversation.Channel, u.Conversation.Instance))
	if v.ID != u.Conversation.ID {
		t.Fatalf("conversation %s, want %s", v.ID, u.Conversation.ID)
	}
	if n := messageCount(t, s, v.ID); n != 1+len(u.Messages) {
		t.Fatalf("%d messages in %s, want %d", n, v.ID, 1+len(u.Messages))
	}
	if x := must[store.Execution](t)(s.LiveExecution(ctx(t), v.ID)); x.ID != u.Execution.Execution.ID || x.Version != 1 {
		t.Fatalf("live execution %+v, want %s at version 1", x, u.Execution.Execution.ID)
	}
	for _, tk := range u.Tasks {
		if got := must[store.Task](t)(s.GetTask(ctx(t), tk.ID)); got.Status != store.TaskWaiting || got.ConversationID != v.ID {
			t.Fatalf("task %+v", got)
		}
	}
}

func testCommitLargeBatches(t *testing.T, s store.Store) {
	// Sizes around the powers of two a multi-row statement may be cut into.
	for _, n := range []int{1, 2, 3, 63, 64, 65, 300} {
		units := newContactUnits(fmt.Sprintf("large%d", n), n)
		res := commit(t, s, units...)
		for i, r := range res {
			if r.Outcome != store.Committed || r.ExecutionVersion != 1 {
				t.Fatalf("batch of %d, unit %d: %+v", n, i, r)
			}
		}
		for _, u := range units {
			written(t, s, u)
		}
	}

	// One unit that does not commit, anywhere in a large batch, leaves no
	// trace and the others commit: a redelivered message (Duplicate), an
	// address taken by an earlier unit (Conflict), a conversation that does
	// not exist (Failed).
	for _, at := range []int{0, 77, 199} {
		units := newContactUnits(fmt.Sprintf("mixed%d", at), 200)
		bad := units[at]
		var want store.Outcome
		switch at {
		case 0: // the message was stored before
			first := identityUnit(fmt.Sprintf("mixed%d-first", at))
			wantOutcomes(t, commit(t, s, first), store.Committed)
			bad.Inbound.PlatformMessageID = first.Inbound.PlatformMessageID
			want = store.Duplicate
		case 77: // unit 12 of the batch claims the address first
			bad.Contact.Address = units[12].Contact.Address
			want = store.Conflict
		case 199:
			bad.Inbound.ConversationID = "no-such-conversation"
			want = store.Failed
		}
		res := commit(t, s, units...)
		for i, r := range res {
			if i == at && r.Outcome != want || i != at && r.Outcome != store.Committed {
				t.Fatalf("bad unit %d: unit %d is %+v", at, i, r)
			}
		}
		for i, u := range units {
			if i != at {
				written(t, s, u)
			}
		}
		if at == 77 {
			wantReason(t, res[at], store.ReasonAddressTaken)
		}
		_, err := s.GetContact(ctx(t), bad.Contact.ID)
		isErr(t, err, store.ErrNotFound)
		_, err = s.GetConversation(ctx(t), bad.Conversation.ID)
		isErr(t, err, store.ErrNotFound)
		_, err = s.GetExecution(ctx(t), bad.Execution.Execution.ID)
		isErr(t, err, store.ErrNotFound)
	}
}

// testCommitForwardReferences: a unit that names what a later unit of its
// batch creates finds nothing (units apply in batch order), whatever the
// kind of row.
func testCommitForwardReferences(t *testing.T, s store.Store) {
	creator := identityUnit("forward")
	conv, contact := creator.Conversation.ID, creator.Contact.ID
	exec := creator.Execution.Execution.ID
	msg := inbound(conv, "fwd-msg", store.NewID(), 0)
	msg.Execution = nil
	newConv := &store.Unit{At: t0, Conversation: &store.NewConversation{ID: store.NewID(), ContactID: contact, Channel: "webchat", Instance: "other"}}
	effect := &store.Unit{At: t0, Effects: []store.Effect{{ID: store.NewID(), ExecutionID: exec, Kind: "send"}}}
	timer := &store.Unit{At: t0, Timers: []store.Timer{{ID: "fwd-timer", ExecutionID: exec, FireAt: t0.Add(time.Hour)}}}
	task := &store.Unit{At: t0, Tasks: []store.Task{{ID: store.NewID(), ConversationID: conv, ContactID: contact, Workflow: "support"}}}
	closeConv := &store.Unit{At: t0, CloseConversations: []string{conv}}
	res := commit(t, s, msg, newConv, effect, timer, task, closeConv, creator)
	wantOutcomes(t, res, store.Failed, store.Failed, store.Failed, store.Failed, store.Failed, store.Failed, store.Committed)
	written(t, s, creator)
	if n := messageCount(t, s, conv); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	_, err := s.GetEffect(ctx(t), effect.Effects[0].ID)
	isErr(t, err, store.ErrNotFound)
	_, ok, err := s.NextTimerAt(ctx(t))
	noErr(t, err)
	if ok {
		t.Fatal("a timer was stored")
	}

	// An effect completed before a later unit stores it stays pending; a task
	// updated before a later unit creates it is not found.
	later := identityUnit("forward2")
	eid, tid := store.NewID(), store.NewID()
	complete := &store.Unit{At: t0, CompleteEffects: []store.EffectResult{{ID: eid, Result: json.RawMessage(`{"ok":true}`)}}}
	update := &store.Unit{At: t0, TaskUpdates: []store.TaskUpdate{{ID: tid, Status: store.TaskCanceled}}}
	later.Effects = []store.Effect{{ID: eid, ExecutionID: later.Execution.Execution.ID, Kind: "send"}}
	later.Tasks = []store.Task{{ID: tid, ConversationID: later.Conversation.ID, ContactID: later.Contact.ID, Workflow: "support"}}
	wantOutcomes(t, commit(t, s, complete, update, later), store.Committed, store.Failed, store.Committed)
	if e := must[store.Effect](t)(s.GetEffect(ctx(t), eid)); e.Status != store.EffectPending {
		t.Fatalf("effect %s, want pending", e.Status)
	}
	if tk := must[store.Task](t)(s.GetTask(ctx(t), tid)); tk.Status != store.TaskWaiting {
		t.Fatalf("task %s, want waiting", tk.Status)
	}

	// The other way round, a later unit sees what an earlier one wrote.
	first := identityUnit("forward3")
	eid, tid = store.NewID(), store.NewID()
	first.Effects = []store.Effect{{ID: eid, ExecutionID: first.Execution.Execution.ID, Kind: "send"}}
	first.Tasks = []store.Task{{ID: tid, ConversationID: first.Conversation.ID, ContactID: first.Contact.ID, Workflow: "support"}}
	then := &store.Unit{At: t0, CompleteEffects: []store.EffectResult{{ID: eid, Result: json.RawMessage(`{"ok":true}`)}},
		TaskUpdates:        []store.TaskUpdate{{ID: tid, Status: store.TaskCanceled}},
		CloseConversations: []string{first.Conversation.ID}}
	step := inbound(first.Conversation.ID, "forward3-2", first.Execution.Execution.ID, 1)
	step.Execution.Execution.Status = store.ExecutionEnded
	wantOutcomes(t, commit(t, s, first, then, step), store.Committed, store.Committed, store.Committed)
	if e := must[store.Effect](t)(s.GetEffect(ctx(t), eid)); e.Status != store.EffectDone {
		t.Fatalf("effect %s, want done", e.Status)
	}
	if tk := must[store.Task](t)(s.GetTask(ctx(t), tid)); tk.Status != store.TaskCanceled {
		t.Fatalf("task %s, want canceled", tk.Status)
	}
	if v := must[store.Conversation](t)(s.GetConversation(ctx(t), first.Conversation.ID)); v.Status != store.ConversationClosed {
		t.Fatalf("conversation %s, want closed", v.Status)
	}
	if x := must[store.Execution](t)(s.GetExecution(ctx(t), first.Execution.Execution.ID)); x.Version != 2 || x.Status != store.ExecutionEnded {
		t.Fatalf("execution %+v, want ended at version 2", x)
	}
}

// testCommitSharedRows: units of one batch that write the same rows meet
// in batch order (the first effect with an idempotency key stays, the last
// timer with an id wins) and a second message with an id already stored is
// skipped, as in separate batches.
func testCommitSharedRows(t *testing.T, s store.Store) {
	a, b := identityUnit("shared-a"), identityUnit("shared-b")
	a.Effects = []store.Effect{{ID: store.NewID(), ExecutionID: a.Execution.Execution.ID, Kind: "send", IdempotencyKey: "shared-key"}}
	b.Effects = []store.Effect{{ID: store.NewID(), ExecutionID: b.Execution.Execution.ID, Kind: "send", IdempotencyKey: "shared-key"}}
	wantOutcomes(t, commit(t, s, a, b), store.Committed, store.Committed)
	must[store.Effect](t)(s.GetEffect(ctx(t), a.Effects[0].ID))
	_, err := s.GetEffect(ctx(t), b.Effects[0].ID)
	isErr(t, err, store.ErrNotFound)

	c, d := identityUnit("shared-c"), identityUnit("shared-d")
	c.Timers = []store.Timer{{ID: "shared-timer", ExecutionID: c.Execution.Execution.ID, FireAt: t0.Add(time.Hour)}}
	d.Timers = []store.Timer{{ID: "shared-timer", ExecutionID: d.Execution.Execution.ID, FireAt: t0.Add(2 * time.Hour)}}
	reply := store.Message{ID: store.NewID(), ConversationID: c.Conversation.ID, Direction: store.Outbound,
		Connector: "webchat", Instance: "default", Text: "first"}
	c.Messages = []store.Message{reply}
	again := reply
	again.ConversationID, again.Text = d.Conversation.ID, "second"
	d.Messages = []store.Message{again}
	wantOutcomes(t, commit(t, s, c, d), store.Committed, store.Committed)
	ts := must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "o", t0.Add(24*time.Hour), 10, time.Minute))
	if len(ts) != 1 || ts[0].ExecutionID != d.Execution.Execution.ID {
		t.Fatalf("timers %+v, want d's", ts)
	}
	timeEq(t, "shared timer", ts[0].FireAt, t0.Add(2*time.Hour))
	if n := messageCount(t, s, c.Conversation.ID); n != 2 {
		t.Fatalf("%d messages in c, want 2", n)
	}
	if n := messageCount(t, s, d.Conversation.ID); n != 1 {
		t.Fatalf("%d messages in d, want 1 (the reply's id was c's)", n)
	}
}
