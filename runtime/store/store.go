// Package store is the runtime's durable state: contacts and their channel
// addresses, conversations, messages, executions, the outbox of effects,
// timers, tasks, API tokens and deployed programs.
//
// The package defines the Store interface, the row types it exchanges, the
// Batch that commits the work of many inbound webhooks in one transaction, and
// the GroupCommitter that forms those batches from concurrent callers. It is
// independent of the engine's Go types: executions, effects and timers carry
// opaque JSON payloads next to the few columns the store indexes.
//
// Implementations live in sub-packages and register themselves with Register;
// import them for their side effect and call Open:
//
//	import (
//		_ "github.com/switchboard-dev/switchboard/runtime/store/postgres"
//		_ "github.com/switchboard-dev/switchboard/runtime/store/sqlite"
//	)
//	st, err := store.Open(ctx, "sqlite:./switchboard.db")
//
// Both implementations pass the conformance suite in storetest.
//
// # Conventions shared by every method
//
//   - Times are stored with microsecond precision and returned in UTC, so a
//     time read back equals the written one truncated with Truncate(time.Microsecond).
//   - A zero time.Time where the store needs a time means "now" (the store's
//     clock). The engine has no clock, so the runtime usually passes the event's time.
//   - Missing rows are reported as ErrNotFound (test with errors.Is).
//   - JSON attributes (contacts, conversations, tasks) are JSON objects; nil is
//     stored as {}. They may come back re-encoded (PostgreSQL's jsonb orders keys),
//     so compare them as JSON, not as bytes. Payloads (executions, effects,
//     timers, messages, programs) are opaque bytes returned exactly as written.
//   - Text is stored as valid UTF-8 without NUL, the same on every store: a NUL
//     or an invalid UTF-8 sequence in a string, or a \u0000 escape in JSON,
//     is stored as U+FFFD, and lookups apply the same rule to their keys
//     (see Text and CleanJSON). No write fails for its characters.
//   - IDs are strings. The store makes the ids of contacts and conversations
//     that ResolveContact and OpenConversation create; the caller makes every
//     id inside a Batch, Unit.Contact's and Unit.Conversation's included
//     (NewID gives sortable unique ones), because the engine needs them
//     before the commit.
//   - Methods are safe for concurrent use, also by several processes (or several
//     runtime nodes, on PostgreSQL) sharing one database.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors reported by every implementation.
var (
	// ErrNotFound: the row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid: the arguments cannot be stored (empty id, unknown status, …).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrExists: a row with that unique key already exists (tokens).
	ErrExists = errors.New("store: already exists")
	// ErrClosed: the Store or GroupCommitter was closed.
	ErrClosed = errors.New("store: closed")
	// ErrBadCursor: Page.After is not a cursor a list returned. It is an
	// ErrInvalid too; callers answer it as the client's mistake.
	ErrBadCursor = fmt.Errorf("%w: bad page cursor", ErrInvalid)
)

// AddressFilter is a Store that can tell, without a query, that no contact
// has a channel address: MayHaveAddress false means LookupContact would find
// none, unless another process stored the address meanwhile, which a unit
// creating it again finds out as a Conflict (ReasonAddressTaken). So a
// caller may skip the lookup on false the first time, not after a Conflict.
type AddressFilter interface {
	MayHaveAddress(channel, address string) bool
}

// Store is the durable state of the runtime.
//
// Call order on the inbound path (see Unit for the write):
//
//  1. FindMessage (optional): skip the engine for a redelivered webhook.
//  2. LookupContact, then LookupConversation: the identities, read only. A
//     missing contact or conversation is created by the unit itself
//     (Unit.Contact, Unit.Conversation), in the same group-committed
//     transaction; a unit that loses a race to create one is a Conflict
//     (ReasonAddressTaken, ReasonConversationExists): look up again. (The
//     older ResolveContact and OpenConversation find or create them in their
//     own transactions instead.)
//  3. LiveExecution: the execution to step (ErrNotFound: start a new one;
//     a conversation the unit creates has none).
//  4. Commit (or GroupCommitter.Submit) one Unit holding the inbound message,
//     the new execution state, its effects, timers and tasks; acknowledge the
//     webhook only when the unit's result is Committed or Duplicate.
//
// The outbox and timers are worked by leases: ClaimEffects / ClaimDueTimers
// hand rows to one owner until the lease ends; an owner that dies simply lets
// the lease expire and another claims the row again. So effects run at least
// once, and what makes them effectively once is the effect's idempotency key
// (given to the platform where it has one) and the execution's version (a
// second commit of the same step is a Conflict).
type Store interface {
	// ResolveContact returns the contact owning (channel, address), creating
	// the contact and the address atomically when none does: concurrent
	// callers with the same pair get the same contact. displayName is used
	// only on creation. The address is compared exactly: normalizing it
	// (E.164 numbers, lower-case emails) is the connector's job.
	ResolveContact(ctx context.Context, channel, address, displayName string) (Contact, error)
	// GetContact returns a contact with its addresses. The id of a contact
	// merged by LinkContacts returns the contact it was merged into.
	GetContact(ctx context.Context, id string) (Contact, error)
	// SetContactAttributes replaces a contact's attributes (name kept).
	SetContactAttributes(ctx context.Context, id string, attributes json.RawMessage) error
	// LinkContacts merges contact mergeID into keepID: mergeID's addresses,
	// conversations (so their messages and executions) and tasks move to
	// keepID, attributes that keepID lacks are copied over, and mergeID is
	// recorded as merged so every later lookup of it resolves to keepID.
	// Either id may itself be a merged id (it is resolved first). Linking two
	// ids that already resolve to the same contact is a no-op; an empty or
	// unknown id is ErrInvalid / ErrNotFound.
	LinkContacts(ctx context.Context, keepID, mergeID string) error
	// LookupContact returns the contact owning (channel, address), without
	// creating one: ErrNotFound when none does. Merges are followed (the
	// address of a merged contact belongs to the contact it was merged into).
	// A missing contact can be created inside a unit (Unit.Contact).
	LookupContact(ctx context.Context, channel, address string) (Contact, error)

	// OpenConversation returns the open conversation of (contact, channel,
	// instance), creating it when there is none; concurrent callers get the
	// same one. A merged contact id is resolved first. After LinkContacts a
	// contact may own two open conversations on one channel: the most
	// recently updated one is returned.
	OpenConversation(ctx context.Context, contactID, channel, instance string) (Conversation, error)
	// LookupConversation returns the open conversation of (contact, channel,
	// instance), the most recently updated one, without creating one:
	// ErrNotFound when there is none. A merged contact id is resolved first.
	// A missing conversation can be created inside a unit (Unit.Conversation).
	LookupConversation(ctx context.Context, contactID, channel, instance string) (Conversation, error)
	GetConversation(ctx context.Context, id string) (Conversation, error)
	// ListConversations pages through conversations, oldest first unless
	// page.Newest; filter by contact (a merged id is resolved) and status.
	ListConversations(ctx context.Context, f ConversationFilter, page Page) ([]Conversation, string, error)

	// FindMessage returns the inbound message with that dedupe key.
	FindMessage(ctx context.Context, connector, instance, platformMessageID string) (Message, error)
	// FindSent returns the outbound message the platform knows by that id
	// (its delivery reports name it).
	FindSent(ctx context.Context, connector, instance, platformMessageID string) (Message, error)
	// ListMessages pages through a conversation's messages in commit order.
	ListMessages(ctx context.Context, conversationID string, page Page) ([]Message, string, error)

	GetExecution(ctx context.Context, id string) (Execution, error)
	// LiveExecution returns the conversation's running or waiting execution.
	LiveExecution(ctx context.Context, conversationID string) (Execution, error)
	ListExecutions(ctx context.Context, f ExecutionFilter, page Page) ([]Execution, string, error)

	// Commit applies every unit of the batch in one transaction and reports
	// one result per unit, in order (see Unit and UnitResult). A unit that
	// is a Duplicate, a Conflict or Failed leaves no trace; the others commit.
	// An error means the transaction was not known to commit: nothing is
	// acknowledged, and retrying the batch is safe (an inbound unit that did
	// commit comes back Duplicate, a step that did commit comes back Conflict).
	Commit(ctx context.Context, b *Batch) ([]UnitResult, error)

	// ClaimEffects leases up to limit effects that are due: pending with
	// next_attempt_at <= now, or leased with an expired lease. Each claimed
	// effect is leased to owner until now+lease and its Attempts is
	// incremented. Two concurrent claimers never receive the same effect
	// while its lease runs. Oldest due first.
	ClaimEffects(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]Effect, error)
	// CompleteEffect marks an effect done and stores its result. Completing
	// a done effect is a no-op (the first result is kept).
	CompleteEffect(ctx context.Context, id string, result json.RawMessage) error
	// RetryEffect makes an effect pending again at nextAttemptAt, recording
	// the error. It also requeues a dead effect (an admin's "retry"). A
	// done effect is left done.
	RetryEffect(ctx context.Context, id string, nextAttemptAt time.Time, errText string) error
	// DeadLetter gives up on an effect: status dead, visible in ListDeadLetters.
	// A done effect is left done.
	DeadLetter(ctx context.Context, id string, errText string) error
	GetEffect(ctx context.Context, id string) (Effect, error)
	ListDeadLetters(ctx context.Context, page Page) ([]Effect, string, error)
	// RequeueDeadLetter makes a dead effect pending again, due at at (zero:
	// now), for one more attempt: its Attempts are kept, so an attempt that
	// fails puts it back among the dead letters. ErrNotFound when no dead
	// effect has that id: of two callers requeueing it, one does.
	RequeueDeadLetter(ctx context.Context, id string, at time.Time) error
	// DiscardDeadLetter deletes a dead effect for good: ErrNotFound when no
	// dead effect has that id.
	DiscardDeadLetter(ctx context.Context, id string) error
	// OutboxStats counts effects per status (the outbox depth metric).
	OutboxStats(ctx context.Context) (map[EffectStatus]int, error)

	// ClaimDueTimers leases up to limit timers with fire_at <= now whose
	// lease is free or expired, to owner until now+lease, earliest first.
	// A claimed timer stays stored: the work it causes deletes it in the
	// same transaction (Unit.DeleteTimers), so a node that dies while
	// handling it leaves it to be claimed again once the lease expires.
	ClaimDueTimers(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]Timer, error)
	// DeleteTimer deletes a timer; deleting a missing timer is a no-op.
	DeleteTimer(ctx context.Context, id string) error
	// NextTimerAt returns the earliest fire_at of all timers, so a worker can
	// sleep until then (ok is false when there is none).
	NextTimerAt(ctx context.Context) (t time.Time, ok bool, err error)

	GetTask(ctx context.Context, id string) (Task, error)
	// TaskPosition is a waiting task's place among the waiting tasks of its
	// workflow and channel, in the order they were created: 1 is the next.
	// 0 when the task waits no longer; ErrNotFound when there is none.
	TaskPosition(ctx context.Context, id string) (int, error)
	// ListTasks pages through tasks with that status ("" for all), oldest first.
	ListTasks(ctx context.Context, status TaskStatus, page Page) ([]Task, string, error)

	// CreateToken stores an API token by the hash of its secret, under
	// t.ID (a new id when empty); a hash or id already stored is ErrExists.
	// A worker token is bound to the worker that has the id Subject now,
	// not to the id: ErrNotFound when there is none, and the token dies
	// with that worker (see DeleteWorkers), also if a worker with the same
	// id is created again.
	CreateToken(ctx context.Context, t Token) error
	// LookupToken returns the token with that hash: ErrNotFound when there
	// is none, or when it is a worker token whose worker is gone or is not
	// the one it was issued for. An expired token is returned (the caller
	// tells why it refuses it).
	LookupToken(ctx context.Context, hash string) (Token, error)
	// ListTokens returns every token LookupToken would find, oldest first.
	ListTokens(ctx context.Context) ([]Token, error)
	// DeleteToken revokes the token with that id (Token.ID, not the hash).
	DeleteToken(ctx context.Context, id string) error
	// TouchTokens records when tokens (by id) were last used: a time older
	// than the stored one is ignored, as are unknown ids.
	TouchTokens(ctx context.Context, used map[string]time.Time) error

	// SaveProgram stores a deployed program under its version (the
	// compiler's content hash) and, when activate, makes it the only active
	// one. Saving a version again keeps the first source (same hash, same
	// program) and only applies activate.
	SaveProgram(ctx context.Context, version string, source []byte, activate bool) error
	// ActivateProgram makes a stored version the active one (roll back).
	ActivateProgram(ctx context.Context, version string) error
	// ActiveProgram returns the active program with its source.
	ActiveProgram(ctx context.Context) (Program, error)
	// GetProgram returns any stored version: executions stay on the version
	// they started on, so a restarted runtime loads the old ones too.
	GetProgram(ctx context.Context, version string) (Program, error)
	// ListPrograms lists every version, newest first, without sources.
	ListPrograms(ctx context.Context) ([]Program, error)
	// LiveProgramVersions returns the versions that live (running or
	// waiting) executions run on, each once, in no order: the programs a
	// runtime must be able to step, the others it may forget.
	LiveProgramVersions(ctx context.Context) ([]string, error)
	// WaitingSteps counts the waiting executions of a program version by
	// their Step. Executions without one are not counted.
	WaitingSteps(ctx context.Context, version string) ([]StepCount, error)

	// LoadOrStoreKey returns the key stored under name, storing value
	// there first when there is none: the first writer wins, on every
	// node, and a restart reads the same bytes (the webchat's
	// visitor-signing key when none is configured). An empty name or
	// value is ErrInvalid.
	LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error)

	Routing
	Desk

	// Ping checks that the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the database; later calls fail. Closing twice is a no-op.
	Close() error
}

// Reopener is implemented by stores that can open a second, independent
// handle (its own connections) on the same database: another runtime node,
// or the same node after a restart. The conformance suite uses it.
type Reopener interface {
	Reopen(ctx context.Context) (Store, error)
}

// Page selects a window of a list, by keyset: pass the cursor a call returned
// as After to get the next page. The cursor is opaque and stable under inserts.
type Page struct {
	After  string
	Limit  int  // 0 means DefaultPageLimit; capped at MaxPageLimit
	Newest bool // newest first instead of oldest first
}

const (
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
)

// PageLimit returns the effective limit of p.
func (p Page) PageLimit() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// Cursor decodes After: the seq the page starts after, and whether there
// is one. Implementations read PageLimit()+1 rows past it and hand them to
// PageOf.
func (p Page) Cursor() (seq int64, ok bool, err error) {
	if p.After == "" {
		return 0, false, nil
	}
	seq, err = strconv.ParseInt(p.After, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w %q", ErrBadCursor, p.After)
	}
	return seq, true, nil
}

// PageOf trims rows read with one more than limit (seqs[i] is row i's seq)
// to the page, and returns the cursor of the next page ("" at the end).
func PageOf[T any](rows []T, seqs []int64, limit int) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	return rows[:limit], strconv.FormatInt(seqs[limit-1], 10)
}

// Contact is one customer, with every channel address known for them.
type Contact struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Attributes json.RawMessage `json:"attributes,omitempty"`
	Addresses  []Address       `json:"addresses"`
	CreatedAt  time.Time       `json:"created_at"`
}

// Address is one way to reach a contact, unique per (Channel, Address).
type Address struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
}

type ConversationStatus string

const (
	ConversationOpen   ConversationStatus = "open"
	ConversationClosed ConversationStatus = "closed"
)

// Conversation is a contact's thread on one connector instance.
type Conversation struct {
	ID         string             `json:"id"`
	ContactID  string             `json:"contact_id"`
	Channel    string             `json:"channel"`
	Instance   string             `json:"instance"`
	Status     ConversationStatus `json:"status"`
	Attributes json.RawMessage    `json:"attributes,omitempty"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
}

type ConversationFilter struct {
	ContactID string
	Status    ConversationStatus
	Channel   string // the conversation's channel
	// Address selects the conversations of the contact owning this channel
	// address (a phone number, an email, a chat id) on any channel.
	Address string
}

type Direction string

const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// Message is one stored message. An inbound message's (Connector, Instance,
// PlatformMessageID) is its dedupe key; an empty PlatformMessageID has none.
type Message struct {
	ID                string          `json:"id"`
	ConversationID    string          `json:"conversation_id"`
	Direction         Direction       `json:"direction"`
	Connector         string          `json:"connector"`
	Instance          string          `json:"instance"`
	PlatformMessageID string          `json:"platform_message_id"`
	Text              string          `json:"text"`
	Payload           json.RawMessage `json:"payload,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
}

type ExecutionStatus string

const (
	ExecutionRunning ExecutionStatus = "running"
	ExecutionWaiting ExecutionStatus = "waiting"
	ExecutionEnded   ExecutionStatus = "ended"
	ExecutionFailed  ExecutionStatus = "failed"
)

// Live reports whether an execution with this status still runs: a
// conversation has at most one live execution.
func (s ExecutionStatus) Live() bool { return s == ExecutionRunning || s == ExecutionWaiting }

// Known reports whether s is one of the statuses above.
func (s ExecutionStatus) Known() bool {
	return s.Live() || s == ExecutionEnded || s == ExecutionFailed
}

// Execution is one run of a flow in a conversation. Payload is the engine's
// serialized state. Version counts committed writes: a write names the
// version it read (optimistic concurrency).
type Execution struct {
	ID             string          `json:"id"`
	ConversationID string          `json:"conversation_id"`
	Flow           string          `json:"flow"`
	ProgramVersion string          `json:"program_version"`
	Status         ExecutionStatus `json:"status"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	// Step is where the execution is: its running flow (a subflow's when
	// one runs) and the state's index, as StepOf writes them; "" unknown.
	Step      string    `json:"step,omitempty"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// StepOf is an Execution's Step: "flow:state".
func StepOf(flow string, state int) string { return flow + ":" + strconv.Itoa(state) }

// ParseStep reads a Step back; ok is false for "" and anything StepOf
// did not write.
func ParseStep(step string) (flow string, state int, ok bool) {
	i := strings.LastIndexByte(step, ':')
	if i <= 0 {
		return "", 0, false
	}
	state, err := strconv.Atoi(step[i+1:])
	if err != nil || state < 0 {
		return "", 0, false
	}
	return step[:i], state, true
}

type ExecutionFilter struct {
	ConversationID string
	Status         ExecutionStatus
}

type EffectStatus string

const (
	EffectPending EffectStatus = "pending"
	EffectLeased  EffectStatus = "leased"
	EffectDone    EffectStatus = "done"
	EffectDead    EffectStatus = "dead"
)

// Effect is one outbox row: something to do outside the database (send a
// message, an HTTP call) on behalf of an execution.
type Effect struct {
	ID             string          `json:"id"`
	ExecutionID    string          `json:"execution_id"` // may be empty
	Kind           string          `json:"kind"`
	IdempotencyKey string          `json:"idempotency_key"` // unique; empty means the ID
	Payload        json.RawMessage `json:"payload,omitempty"`
	Status         EffectStatus    `json:"status"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  time.Time       `json:"next_attempt_at"` // zero in a Unit: due at once (the unit's time)
	LeaseOwner     string          `json:"lease_owner,omitempty"`
	LeaseUntil     time.Time       `json:"lease_until"`
	LastError      string          `json:"last_error,omitempty"`
	Result         json.RawMessage `json:"result,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
}

// Key is the idempotency key the effect is stored with: its own, or its ID.
func (e Effect) Key() string {
	if e.IdempotencyKey == "" {
		return e.ID
	}
	return e.IdempotencyKey
}

// Timer is a durable timer (ask timeout, wait, task timeout). Its ID is the
// caller's, so the engine can cancel it by name.
type Timer struct {
	ID          string          `json:"id"`
	ExecutionID string          `json:"execution_id"` // may be empty
	FireAt      time.Time       `json:"fire_at"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	LeaseOwner  string          `json:"lease_owner,omitempty"`
	LeaseUntil  time.Time       `json:"lease_until"`
}

type TaskStatus string

const (
	TaskWaiting   TaskStatus = "waiting"
	TaskReserved  TaskStatus = "reserved"
	TaskAssigned  TaskStatus = "assigned"
	TaskWrapping  TaskStatus = "wrapping"
	TaskCompleted TaskStatus = "completed"
	TaskCanceled  TaskStatus = "canceled"
)

// Open reports whether a task with this status still holds its contact and
// conversation: there is at most one open task per (contact, conversation).
func (s TaskStatus) Open() bool { return s != TaskCompleted && s != TaskCanceled }

func (s TaskStatus) valid() bool {
	switch s {
	case TaskWaiting, TaskReserved, TaskAssigned, TaskWrapping, TaskCompleted, TaskCanceled:
		return true
	}
	return false
}

// Task is a unit of work for the router (an enqueue).
type Task struct {
	ID             string          `json:"id"`
	ConversationID string          `json:"conversation_id"`
	ContactID      string          `json:"contact_id"`
	ExecutionID    string          `json:"execution_id"` // may be empty
	Workflow       string          `json:"workflow"`
	Attributes     json.RawMessage `json:"attributes,omitempty"`
	Priority       int             `json:"priority"`
	Status         TaskStatus      `json:"status"`              // empty in a Unit means waiting
	Queue          string          `json:"queue,omitempty"`     // the queue it waits in or was taken from
	WorkerID       string          `json:"worker_id,omitempty"` // the worker holding it
	Channel        string          `json:"channel,omitempty"`   // the router channel it takes: chat, voice, email
	// Quiet: the conversation's channel shows no notices (joined, left),
	// as known where the task was enqueued, so the router writes none.
	Quiet     bool      `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type Role string

const (
	RoleAdmin  Role = "admin"
	RoleWorker Role = "worker"
)

// Token is an API bearer token, stored by a hash of its secret (never the
// secret). Subject names the worker of a worker token. ID is public: lists
// show it and revocation takes it, so it must tell nothing of the secret.
type Token struct {
	ID         string    `json:"id"`
	Hash       string    `json:"-"`
	Role       Role      `json:"role"`
	Subject    string    `json:"subject"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`   // zero: never
	LastUsedAt time.Time `json:"last_used_at,omitzero"` // zero: never (see TouchTokens)
}

// Expired reports whether the token's expiry has passed at now.
func (t Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// StepCount is how many executions wait at one step of a flow.
type StepCount struct {
	Flow    string `json:"flow"`
	State   int    `json:"state"` // the state's index in the compiled flow
	Waiting int    `json:"waiting"`
}

// Program is one deployed program version.
type Program struct {
	Version   string    `json:"version"`
	Source    []byte    `json:"source,omitempty"` // nil in ListPrograms
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}
