package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Unit is the durable outcome of one piece of runtime work — one inbound
// webhook stepped through the engine, one timer fired, one effect result —
// applied all-or-nothing. Every field is optional.
//
// Within a unit the changes apply in this order: Contact, Conversation, Inbound, Execution,
// Messages, Effects, CompleteEffects, DeleteTimers, Timers, Tasks,
// TaskUpdates, CloseConversations. Units of a batch apply in batch order, so
// a later unit sees an earlier one's writes (its execution version, say).
type Unit struct {
	// At is the unit's time: created_at/updated_at of what it writes and
	// the due time of effects without NextAttemptAt. Zero means now.
	At time.Time

	// Contact creates a contact with its first address. If another contact
	// already owns the address (stored, or created by an earlier unit of
	// the batch), the unit is a Conflict (ReasonAddressTaken).
	Contact *NewContact
	// Conversation creates an open conversation (after Contact, so it may
	// belong to the unit's new contact). If the contact already has an open
	// conversation on (Channel, Instance), the unit is a Conflict
	// (ReasonConversationExists); if the contact was merged into another
	// one, too (ReasonContactMerged); an unknown contact makes it Failed.
	Conversation *NewConversation

	// Inbound is the webhook's message; its dedupe key (Connector, Instance,
	// PlatformMessageID) makes the whole unit a Duplicate, skipped, when a
	// message with that key is already stored or earlier in the batch.
	Inbound *Message

	// Execution writes an execution with optimistic concurrency: Expected is
	// the version the caller read (0: the execution is new and must not
	// exist). It is stored with Version Expected+1. A version mismatch, or a
	// second live execution for the conversation, makes the unit a Conflict.
	Execution *ExecutionWrite

	// Messages are other messages to store (outbound replies, say); their
	// dedupe keys, if any, are not checked.
	Messages []Message

	// Effects are new outbox rows, pending. An effect whose IdempotencyKey is
	// already stored is skipped silently: that effect exists already.
	Effects []Effect
	// CompleteEffects marks effects done with their result, in the same
	// transaction as the execution step that consumed the result.
	CompleteEffects []EffectResult

	// DeleteTimers deletes timers (a fired one, or cancelled ones); missing
	// ones are ignored: the Execution version is what makes a firing count once.
	DeleteTimers []string
	// Timers are created or replaced by ID (the lease is cleared).
	Timers []Timer

	// Tasks are new tasks (status waiting unless set). A second open task
	// for the same (contact, conversation) makes the unit a Conflict.
	Tasks       []Task
	TaskUpdates []TaskUpdate

	// CloseConversations closes conversations by id.
	CloseConversations []string
}

// NewContact is a contact created by a unit (the caller makes the ID).
type NewContact struct {
	ID      string
	Name    string
	Channel string
	Address string
}

// NewConversation is an open conversation created by a unit.
type NewConversation struct {
	ID        string
	ContactID string
	Channel   string
	Instance  string
	// Beside opens it whatever else the contact has open on (Channel,
	// Instance): each phone call is a conversation of its own, and one
	// number may be on two calls at once.
	Beside bool
}

// ExecutionWrite is an execution to store and the version it was read at.
type ExecutionWrite struct {
	Execution Execution
	Expected  int64
}

// EffectResult completes an effect.
type EffectResult struct {
	ID     string
	Result json.RawMessage
}

// TaskUpdate changes a task's status (and its attributes when not nil).
type TaskUpdate struct {
	ID         string
	Status     TaskStatus
	Attributes json.RawMessage
}

// Batch is a group of units committed in one transaction. However an
// implementation writes it (the SQLite store writes a batch whose units all
// commit table by table, with one multi-row INSERT per table), the results
// and the stored rows are those of applying its units one by one, in batch
// order; storetest's CommitLargeBatches, CommitForwardReferences and
// CommitSharedRows check it.
type Batch struct {
	Units []*Unit
}

// Add appends a unit and returns its index (the index of its result).
func (b *Batch) Add(u *Unit) int {
	b.Units = append(b.Units, u)
	return len(b.Units) - 1
}

// Len returns the number of units.
func (b *Batch) Len() int { return len(b.Units) }

// Outcome is what became of a unit in a Commit.
type Outcome uint8

const (
	// Committed: every change of the unit is stored.
	Committed Outcome = iota + 1
	// Duplicate: the inbound dedupe key was already stored; nothing of the
	// unit was written. The webhook can be acknowledged: its first delivery was.
	Duplicate
	// Conflict: the execution version did not match, or a uniqueness rule
	// (one live execution per conversation, one open task per contact and
	// conversation) would break; nothing of the unit was written. Reload the
	// execution and step again.
	Conflict
	// Failed: the unit could not be stored (Err says why, e.g. it names a
	// conversation that does not exist); nothing of it was written, and the
	// other units of its batch are not affected. Retrying will fail again.
	Failed
)

func (o Outcome) String() string {
	switch o {
	case Committed:
		return "committed"
	case Duplicate:
		return "duplicate"
	case Conflict:
		return "conflict"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("Outcome(%d)", o)
}

// UnitResult reports one unit of a Commit.
type UnitResult struct {
	Outcome Outcome
	// Reason says what conflicted (Conflict) or what the stored duplicate is.
	Reason string
	// Err is the cause of a Failed unit.
	Err error
	// ExecutionVersion is the stored version of the unit's execution after
	// a Committed unit that wrote one.
	ExecutionVersion int64
}

// Conflict reasons.
const (
	ReasonVersion       = "execution version mismatch"
	ReasonLiveExecution = "conversation has another live execution"
	ReasonOpenTask      = "contact has an open task in this conversation"
	ReasonDuplicate     = "inbound message already stored"
	// Identity creation (Unit.Contact, Unit.Conversation) lost a race.
	ReasonAddressTaken       = "another contact owns the address"
	ReasonConversationExists = "contact has an open conversation on this channel instance"
	ReasonContactMerged      = "contact was merged into another one"
)

// CommittedResult is the result of the unit once it committed.
func (u *Unit) CommittedResult() UnitResult {
	r := UnitResult{Outcome: Committed}
	if u.Execution != nil {
		r.ExecutionVersion = u.Execution.Expected + 1
	}
	return r
}

// Validate checks what every implementation requires of a unit before it
// touches the database; a unit that fails it is reported Failed.
func (u *Unit) Validate() error {
	if u == nil {
		return fmt.Errorf("%w: nil unit", ErrInvalid)
	}
	if c := u.Contact; c != nil && (c.ID == "" || c.Channel == "" || c.Address == "") {
		return fmt.Errorf("%w: new contact needs ID, Channel and Address", ErrInvalid)
	}
	if c := u.Conversation; c != nil && (c.ID == "" || c.ContactID == "" || c.Channel == "") {
		return fmt.Errorf("%w: new conversation needs ID, ContactID and Channel", ErrInvalid)
	}
	if m := u.Inbound; m != nil {
		if m.ID == "" || m.ConversationID == "" {
			return fmt.Errorf("%w: inbound message needs ID and ConversationID", ErrInvalid)
		}
		if m.Direction != "" && m.Direction != Inbound {
			return fmt.Errorf("%w: Unit.Inbound has direction %q", ErrInvalid, m.Direction)
		}
	}
	for _, m := range u.Messages {
		if m.ID == "" || m.ConversationID == "" {
			return fmt.Errorf("%w: message needs ID and ConversationID", ErrInvalid)
		}
		if m.Direction != Inbound && m.Direction != Outbound {
			return fmt.Errorf("%w: message direction %q", ErrInvalid, m.Direction)
		}
	}
	if w := u.Execution; w != nil {
		e := w.Execution
		if e.ID == "" || e.ConversationID == "" {
			return fmt.Errorf("%w: execution needs ID and ConversationID", ErrInvalid)
		}
		switch e.Status {
		case ExecutionRunning, ExecutionWaiting, ExecutionEnded, ExecutionFailed:
		default:
			return fmt.Errorf("%w: execution status %q", ErrInvalid, e.Status)
		}
		if w.Expected < 0 {
			return fmt.Errorf("%w: negative expected version", ErrInvalid)
		}
	}
	for _, e := range u.Effects {
		if e.ID == "" || e.Kind == "" {
			return fmt.Errorf("%w: effect needs ID and Kind", ErrInvalid)
		}
	}
	for _, r := range u.CompleteEffects {
		if r.ID == "" {
			return fmt.Errorf("%w: effect result needs ID", ErrInvalid)
		}
	}
	for _, t := range u.Timers {
		if t.ID == "" || t.FireAt.IsZero() {
			return fmt.Errorf("%w: timer needs ID and FireAt", ErrInvalid)
		}
	}
	for _, t := range u.Tasks {
		if t.ID == "" || t.ConversationID == "" || t.ContactID == "" || t.Workflow == "" {
			return fmt.Errorf("%w: task needs ID, ConversationID, ContactID and Workflow", ErrInvalid)
		}
		if t.Status != "" && !t.Status.valid() {
			return fmt.Errorf("%w: task status %q", ErrInvalid, t.Status)
		}
	}
	for _, t := range u.TaskUpdates {
		if t.ID == "" || !t.Status.valid() {
			return fmt.Errorf("%w: task update needs ID and a valid status", ErrInvalid)
		}
	}
	return nil
}

// Helpers shared by the implementations, exported for them only.

// Micro truncates t to the stored precision in UTC; zero stays zero.
func Micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

// Now returns t, or the current time when t is zero, at the stored precision.
func Now(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return Micro(t)
}

// Object returns attrs, or {} when empty, after checking it is JSON, with
// the text rule applied (CleanJSON).
func Object(attrs json.RawMessage) (json.RawMessage, error) {
	if len(attrs) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(attrs) {
		return nil, fmt.Errorf("%w: attributes are not JSON", ErrInvalid)
	}
	return CleanJSON(attrs), nil
}

// MergeAttributes returns keep's attributes completed with merge's keys that
// keep lacks (LinkContacts). Non-object attributes leave keep as it is.
func MergeAttributes(keep, merge json.RawMessage) json.RawMessage {
	var k, m map[string]json.RawMessage
	if json.Unmarshal(keep, &k) != nil || json.Unmarshal(merge, &m) != nil || len(m) == 0 {
		return keep
	}
	if k == nil {
		k = map[string]json.RawMessage{}
	}
	for key, v := range m {
		if _, ok := k[key]; !ok {
			k[key] = v
		}
	}
	out, err := json.Marshal(k)
	if err != nil {
		return keep
	}
	return out
}
