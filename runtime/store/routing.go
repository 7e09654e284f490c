package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Routing is the durable side of the task router: workers, reservations,
// the router's inbox of commands, and its event log.
//
// One node at a time is the router leader (see Leaser). It keeps the router
// in memory and is the only writer of routing state: every change it makes
// (task statuses, reservations, workers, the events, the engine events that
// resume flows, the results of the commands it applied) is one ApplyRouting
// transaction. Every other party asks it through the inbox: the API submits
// commands; an inbound unit's new task (Task.Routed = RoutedNew) and a task
// a flow canceled are found by RoutingInbox.
type Routing interface {
	GetWorker(ctx context.Context, id string) (Worker, error)
	// ListWorkers returns every worker, in creation order.
	ListWorkers(ctx context.Context) ([]Worker, error)

	// SubmitCommand queues a command for the leader and returns its seq.
	SubmitCommand(ctx context.Context, c Command) (int64, error)
	// GetCommand returns a command with its result once applied.
	GetCommand(ctx context.Context, seq int64) (Command, error)
	// RoutingInbox returns up to limit of what the leader has not applied
	// yet, oldest first: pending commands, new tasks (Routed = RoutedNew) and
	// tasks that ended outside the router (canceled by their flow) while it
	// held them (Routed = RoutedLive with a closed status).
	RoutingInbox(ctx context.Context, limit int) (Inbox, error)
	// ApplyRouting commits the leader's changes in one transaction.
	ApplyRouting(ctx context.Context, w *RoutingWrite) error

	GetReservation(ctx context.Context, id string) (Reservation, error)
	// ListReservations returns reservations, oldest first, filtered.
	ListReservations(ctx context.Context, f ReservationFilter) ([]Reservation, error)
	// ListRouterEvents pages through the event log in order (page.After is
	// a seq), filtered by worker and task.
	ListRouterEvents(ctx context.Context, f RouterEventFilter, page Page) ([]RouterEvent, string, error)
	// LastWorker returns the worker who last completed a task for the
	// contact ("" when none did): known-worker routing's task.last_worker.
	LastWorker(ctx context.Context, contactID string) (string, error)
	// AppendRouterEvents adds events to the log outside the leader (a
	// customer's message to the agent of its conversation).
	AppendRouterEvents(ctx context.Context, events []RouterEvent) error
}

// Worker is an agent the router offers tasks to.
type Worker struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Attributes json.RawMessage `json:"attributes"`
	Activity   string          `json:"activity"`
	Capacity   map[string]int  `json:"capacity"` // per task channel
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// Task.Routed values: where a task stands with the router.
const (
	RoutedNew    = 0 // stored by a flow; the leader has not seen it
	RoutedLive   = 1 // held by the router
	RoutedClosed = 2 // ended, and the router knows
)

type CommandStatus string

const (
	CommandPending CommandStatus = "pending"
	CommandDone    CommandStatus = "done"
	CommandFailed  CommandStatus = "failed"
)

// Command is one request to the router leader. Kind names the operation
// (the leader defines them) and Args its JSON arguments; Result or Error is
// set when it is applied.
type Command struct {
	Seq       int64           `json:"seq"`
	Kind      string          `json:"kind"`
	Args      json.RawMessage `json:"args"`
	Status    CommandStatus   `json:"status"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// Inbox is what RoutingInbox found.
type Inbox struct {
	Commands []Command
	NewTasks []NewTask // Routed = RoutedNew
	Closed   []Task    // Routed = RoutedLive, status completed or canceled
}

// NewTask is a task the leader has not seen, with what routing it needs.
type NewTask struct {
	Task
	LastWorker string // the worker who last completed a task for the contact ("" none)
}

// ReservationStatus: pending → accepted | rejected | timeout | canceled |
// rescinded; accepted → wrapping → completed, or transferred.
type ReservationStatus string

const (
	ReservationPending     ReservationStatus = "pending"
	ReservationAccepted    ReservationStatus = "accepted"
	ReservationRejected    ReservationStatus = "rejected"
	ReservationTimeout     ReservationStatus = "timeout"
	ReservationCanceled    ReservationStatus = "canceled"
	ReservationRescinded   ReservationStatus = "rescinded"
	ReservationWrapping    ReservationStatus = "wrapping"
	ReservationCompleted   ReservationStatus = "completed"
	ReservationTransferred ReservationStatus = "transferred"
)

// Reservation is a task offered to a worker.
type Reservation struct {
	ID        string            `json:"id"`
	TaskID    string            `json:"task_id"`
	WorkerID  string            `json:"worker_id"`
	Status    ReservationStatus `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

type ReservationFilter struct {
	WorkerID string
	TaskID   string
	Status   ReservationStatus
}

// RouterEvent is one entry of the event log: every task, reservation and
// worker change, and the customers' messages routed to agents. Data holds
// the details of its type.
type RouterEvent struct {
	Seq           int64           `json:"seq"`
	Type          string          `json:"type"`
	Time          time.Time       `json:"time"`
	TaskID        string          `json:"task_id,omitempty"`
	ReservationID string          `json:"reservation_id,omitempty"`
	WorkerID      string          `json:"worker_id,omitempty"`
	Queue         string          `json:"queue,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
}

type RouterEventFilter struct {
	WorkerID string
	TaskID   string
}

// TaskRouting is the router's view of a task written back: its status, the
// queue it waits in and the worker holding it. A task already completed or
// canceled keeps that status (a flow's cancel wins over the router's state).
type TaskRouting struct {
	ID       string
	Status   TaskStatus
	Queue    string
	WorkerID string
	Routed   int
	// Attributes, when set, replace the task's: the router adds what it
	// routes on (task.last_worker) when it first takes the task.
	Attributes json.RawMessage
}

// RoutingWrite is one transaction of the router leader.
type RoutingWrite struct {
	At time.Time
	// Workers are created or replaced. A worker created gets a new
	// incarnation, which its tokens are bound to; a replaced one keeps it.
	Workers []Worker
	// DeleteWorkers deletes workers, with their tokens, before Workers are
	// written: a worker deleted and created again in one write is a new
	// worker, and the old one's tokens do not pass to it.
	DeleteWorkers []string
	Tasks         []TaskRouting
	Reservations  []Reservation // created or updated (status)
	Events        []RouterEvent
	Timers        []Timer   // engine events for the flows (a task's outcome)
	Effects       []Effect  // outbox work: the event log's webhook deliveries
	Commands      []Command // applied: Seq, Status, Result, Error
	// Answer, when set, is called inside the transaction once Events are
	// written, each with the Seq the log gave it, and before Commands are:
	// a command's answer then carries the events it caused as logged.
	Answer func()
	// Fence, when set, commits the write only while that leadership is
	// still the latest taken: a leader that lost its lease without noticing
	// yet (a network partition) gets ErrFenced and writes nothing.
	Fence *Fence
}

// Fence names a leadership taken by TryLead: its name and the epoch it got.
type Fence struct {
	Name  string
	Epoch int64
}

// ErrFenced: a RoutingWrite's leadership was taken over since.
var ErrFenced = errors.New("store: another node has taken the leadership")

// Leaser elects one leader among the nodes sharing a store.
type Leaser interface {
	// TryLead takes the named leadership if no one holds it. The lease
	// holds until Release or until Lost is closed (the connection that held
	// it died).
	TryLead(ctx context.Context, name string) (Lease, bool, error)
}

// Lease is a held leadership. Each TryLead that succeeds gets a higher
// epoch for the name (its Fence), so writes can be fenced.
type Lease interface {
	Lost() <-chan struct{}
	Release()
	Fence() Fence
}

// Notifier wakes the nodes sharing a store: the leader when its inbox has
// work, agents' streams when the event log grows. A notification carries no
// data; the tables do.
type Notifier interface {
	Notify(ctx context.Context, topic string) error
	// Subscribe returns a channel that receives (coalesced) wake-ups for
	// topic until cancel is called: every one when party is "", else those
	// about party (WorkerParty, CommandParty) and those about everyone.
	Subscribe(topic, party string) (wake <-chan struct{}, cancel func())
}

// Topics of Notifier.
const (
	TopicRouter = "switchboard_router" // the leader's inbox
	TopicEvents = "switchboard_events" // the event log
	TopicRelay  = "switchboard_relay"  // Relayer's payloads
)

// Relayer carries small payloads between the nodes sharing a store (the
// runtime's connectors.Relay): what one node publishes on a topic, every
// node's receivers of that topic get, at least once. A store that one
// process serves alone (SQLite) has nobody to relay to and does not
// implement it.
type Relayer interface {
	Publish(ctx context.Context, topic string, payload []byte) error
	// Receive returns the payloads published on topic from now on, until
	// cancel (which closes the channel).
	Receive(topic string) (payloads <-chan []byte, cancel func())
}
