package leader

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/leader/policy"
	"github.com/switchboard-dev/switchboard/runtime/router"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// RoutingConfig configures the task router this node runs when it leads:
// the runtime's routing policy, shared with the flow test runner.
type RoutingConfig = policy.Config

// EventWebhook is where the router's events are delivered.
type EventWebhook struct {
	URL    string
	Secret string
}

// KindRouterEvents is the outbox kind of an event webhook delivery.
const KindRouterEvents = "router.events"

// EventDelivery is the payload of a KindRouterEvents effect.
type EventDelivery struct {
	URL    string              `json:"url"`
	Events []store.RouterEvent `json:"events"`
}

// Router commands: what the API asks the leader to do (store.Command.Kind).
const (
	CmdPutWorker    = "worker.put"
	CmdDeleteWorker = "worker.delete"
	CmdActivity     = "worker.activity"
	CmdAccept       = "reservation.accept"
	CmdReject       = "reservation.reject"
	CmdWrapUp       = "task.wrapup"
	CmdComplete     = "task.complete"
	CmdTransfer     = "task.transfer"
	CmdCancel       = "task.cancel"
	CmdBounce       = "task.bounce" // the task's worker could not be reached: offer it to the next
	CmdStats        = "router.stats"
	// CmdWaiting lists the tasks waiting in the queues a worker is a member of.
	CmdWaiting = "worker.waiting"
	// CmdLoads reports the tasks each worker holds per channel.
	CmdLoads = "worker.loads"
)

// CommandArgs are the arguments of a router command. Actor is the worker
// acting (its token's subject); empty for an admin, who may act on any
// reservation or task.
type CommandArgs struct {
	Actor       string          `json:"actor,omitempty"`
	Worker      string          `json:"worker,omitempty"`
	Reservation string          `json:"reservation,omitempty"`
	Task        string          `json:"task,omitempty"`
	Activity    string          `json:"activity,omitempty"`
	Name        *string         `json:"name,omitempty"`
	Attributes  json.RawMessage `json:"attributes,omitempty"`
	Capacity    map[string]int  `json:"capacity,omitempty"`
	Queue       string          `json:"queue,omitempty"`
	ToWorker    string          `json:"to_worker,omitempty"`
	Warm        bool            `json:"warm,omitempty"`
	// Timeout bounds a transfer's wait in its destination (0: none).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Reason says why a task bounced.
	Reason string `json:"reason,omitempty"`
}

// KindCallConnect is the outbox kind that puts a caller through to the
// agent who accepted the call's task.
const KindCallConnect = "call.connect"

// CallConnect is the payload of a KindCallConnect effect.
type CallConnect struct {
	Task         string `json:"task"`
	Conversation string `json:"conversation"`
	Worker       string `json:"worker"`
	// ContactURI is the worker's contact_uri attribute: where its phone
	// rings (E.164, sip: or client:); empty when it has none.
	ContactURI string `json:"contact_uri,omitempty"`
}

// CommandError is a command the leader refused. Code is one of
// not_found, conflict, forbidden, invalid.
type CommandError struct {
	Code string
	Msg  string
}

func (e *CommandError) Error() string { return e.Msg }

// Refuse is a CommandError with a formatted message.
func Refuse(code, format string, args ...any) *CommandError {
	return &CommandError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// routerError classifies the router's errors for the API.
func routerError(err error) *CommandError {
	switch {
	case errors.Is(err, router.ErrUnknownWorker), errors.Is(err, router.ErrUnknownTask),
		errors.Is(err, router.ErrUnknownReservation), errors.Is(err, router.ErrUnknownWorkflow),
		errors.Is(err, router.ErrUnknownQueue):
		return Refuse("not_found", "%v", err)
	case errors.Is(err, router.ErrState), errors.Is(err, router.ErrDuplicate):
		return Refuse("conflict", "%v", err)
	}
	return Refuse("invalid", "%v", err)
}

// DefaultCapacity is a worker's capacity when none is given.
var DefaultCapacity = policy.DefaultCapacity

func attrsOf(raw json.RawMessage) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps and structs of plain values are encoded here
	}
	return b
}
