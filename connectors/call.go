package connectors

import (
	"context"
	"errors"
	"time"
)

// A phone call is a conversation on the "voice" channel that starts a
// flow with `trigger call`. Its connector carries it in three ways:
//
//   - Receive turns the call's webhook into an Inbound with Thread set to
//     the platform's call id, and every later callback of the call (a
//     verb's outcome, the agent's leg ending, the call ending) into an
//     Inbound whose Call says what happened.
//   - While it answers a webhook of the call, the verbs the flow decided
//     come back in the response (Reaction.Calls, or Reaction.Holding when
//     the caller waits for an agent), rendered by InlineResponder.Respond.
//   - Verbs decided later (a timeout, a task's outcome) and the connection
//     of the caller to the agent who accepted the call's task go through
//     PerformCall, which changes the live call through the platform's API.

// ChannelVoice is the channel of phone calls: its conversations start the
// flows triggered by a call.
const ChannelVoice = "voice"

// PhoneChannels are the channels whose addresses are phone numbers
// (Inbound.Phone: SMS, WhatsApp, RCS, calls): a sender with the same number on any of them is one
// contact unless the runtime is told to keep them apart.
var PhoneChannels = []string{"sms", "whatsapp", "rcs", ChannelVoice}

// CallPerformer is implemented by connectors that carry phone calls.
// PerformCall hands a script of verbs to the call a.Call: it replaces
// whatever the call was doing (the hold music, a prompt). It returns with
// Pending set when the outcome of the verb that waits (its WaitID) comes
// back later through Receive as a CallEvent; a performer that knows the
// outcome at once (the flow tests') returns it.
//
// Errors follow Send's rules: one marked Permanent (the call is over) is
// not retried, any other is retried with backoff under the same Key, so
// the platform must not repeat a script it performed.
type CallPerformer interface {
	PerformCall(ctx context.Context, a *CallAction) (CallResult, error)
}

// ErrCallEnded marks (errors.Is) a PerformCall error saying that the call
// is over: the runtime then ends its flow and conversation, as when the
// platform reports the call's end.
var ErrCallEnded = errors.New("the call has ended")

// CallAction is a script of verbs for the call of ConversationID.
type CallAction struct {
	Key            string // unique per script and stable across retries
	ConversationID string
	Call           string // the platform's id of the call (the Inbound's Thread)
	To             string // the caller's address
	Verbs          []CallVerb
}

// CallVerb is one instruction of a call. The verbs of a flow are say,
// play, gather, record, dial and hangup; the runtime adds connect (put the
// caller through to the agent of Task at Number) and hold (the caller
// waits for Task).
type CallVerb struct {
	Verb string
	// WaitID is set on a verb whose outcome the flow waits for (gather,
	// record, dial): the CallEvent that reports it carries it back.
	WaitID string

	Text       string // say; gather's prompt
	URL        string // play
	Voice      string
	Language   string
	Loop       int
	Digits     int // gather: how many keys end the input
	FinishOn   string
	Speech     bool
	Timeout    time.Duration // gather: silence; dial, connect: ringing
	MaxLength  time.Duration // record
	Transcribe bool
	Number     string // dial: the number; connect: the agent's contact_uri (E.164, sip: or client:)
	CallerID   string
	Record     bool

	Task   string // connect, hold: the routed task
	Worker string // connect: the agent
}

// Verbs the runtime adds to a flow's.
const (
	VerbConnect = "connect"
	VerbHold    = "hold"
)

// CallResult is what a gather, record or dial gave.
type CallResult struct {
	// Pending: the outcome is not known yet; it comes back as a CallEvent.
	Pending      bool
	Digits       string // gather
	Speech       string
	Confidence   float64
	RecordingURL string  // record
	RecordingID  string  // record: the platform's id of the recording
	Duration     float64 // seconds, record and dial
	Transcript   string
	DialStatus   string // dial: answered, no_answer, busy or failed
}

// CallEvent is something that happened to a call after it began, as an
// Inbound's Call.
type CallEvent struct {
	Kind CallEventKind
	// WaitID, for CallResultEvent, is the wait of the verb that ended.
	WaitID string
	Result CallResult
	// Task and Worker, for CallAgentEvent and CallHoldEvent, name the
	// routed task (and the agent whose leg ended).
	Task, Worker string
	// Status, for CallAgentEvent: answered (the agent talked with the
	// caller, and the leg is over), no_answer, busy or failed; for
	// CallEndedEvent, the call's final status (completed, busy, failed,
	// no_answer, canceled).
	Status   string
	Duration float64 // seconds
}

// CallEventKind names what happened to a call.
type CallEventKind string

// What happens to a call.
const (
	CallResultEvent CallEventKind = "result" // a verb the flow waited for ended
	CallEndedEvent  CallEventKind = "ended"  // the call is over (the caller hung up)
	CallAgentEvent  CallEventKind = "agent"  // the agent's leg ended (not answered, or after the talk)
	CallHoldEvent   CallEventKind = "hold"   // the caller on hold asks what to do next
	// CallAnsweredEvent: the agent of Task picked up its phone; the caller
	// is being put through. Its answer is for the agent's leg: nothing to
	// play, so the two are connected at once.
	CallAnsweredEvent CallEventKind = "answered"
)

// DeliveryStatus is a platform's report on an outbound message, as an
// Inbound's Status: the flow waiting for the send takes its sent or failed
// outcome from it, and an agent's reply is marked on the desktop.
type DeliveryStatus struct {
	PlatformID string // the platform's id of the outbound message (Send's result)
	Status     string // sent, delivered, read, failed or undelivered
	Error      string // the platform's code and reason, on failure
}

// Failed reports whether the status is a failed delivery.
func (d DeliveryStatus) Failed() bool { return d.Status == "failed" || d.Status == "undelivered" }

// DeliveryReporter is implemented by connectors whose platform reports on
// outbound messages after Send returned (Twilio's status callbacks): Send
// then means "accepted", and a send the flow waits for waits for the report
// (the first sent, delivered, read, failed or undelivered).
type DeliveryReporter interface {
	ReportsDelivery() bool
}
