// Package engine runs compiled flows. It is pure: Step takes a program, an
// execution and an event, and returns the next execution and the effects
// the runtime must perform (send a message, make a request, set a timer,
// enqueue a task). It does no I/O, reads no clock and starts no goroutine;
// an event carries the time, and results of effects come back as events.
//
// An execution runs instantaneous steps (switch, set, send, say) until it
// reaches a step that waits (ask, http, function, enqueue, wait, gather,
// record, dial, a send whose failure is handled). It then records exactly
// one Wait, with a unique id that the effect carries and its result must
// carry back; a result for any other id is stale (a timeout won the race)
// and is ignored. Subflows run in the same execution on a stack of frames.
//
// Executions and effects are plain data that encode to JSON, so the runtime
// can store them and resume after a restart, on the program version they
// started on.
package engine

import (
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

// Status is where an execution stands.
type Status string

// Statuses. Running is transient: Step returns waiting, ended or failed.
const (
	StatusRunning Status = "running"
	StatusWaiting Status = "waiting"
	StatusEnded   Status = "ended"
	StatusFailed  Status = "failed"
)

// Execution is one run of a flow for one conversation.
type Execution struct {
	ID      string           `json:"id"`
	Flow    string           `json:"flow"`    // the flow it started with
	Version string           `json:"version"` // the program version it runs on
	Status  Status           `json:"status"`
	Trigger compiler.Message `json:"trigger"` // the message (or call, or API request) that started it
	Frames  []*Frame         `json:"frames"`  // the flow and its running subflows; the last is current
	Wait    *Wait            `json:"wait,omitempty"`
	Seq     int64            `json:"seq"`             // numbers waits and effects, for unique ids
	Error   string           `json:"error,omitempty"` // why it failed
	// Steps counts the steps run since the customer last wrote (or the
	// execution started): Event.StepBudget bounds it, so a flow looping on
	// its own (a failing request retried forever) ends instead of running
	// until the conversation closes.
	Steps int `json:"steps,omitempty"`
	// Failures holds the run of failed results of each request step
	// ("flow.step") since its last success, so its next request backs off
	// (Effect.NotBefore).
	Failures map[string]Failures `json:"failures,omitempty"`
}

// Failures is a request step's run of failed results.
type Failures struct {
	N    int       `json:"n"`    // failed results in a row
	Last time.Time `json:"last"` // when the last one came back
}

// Frame is a flow running in an execution: the top one or a subflow.
type Frame struct {
	Flow    string             `json:"flow"`
	State   int32              `json:"state"`
	Vars    map[string]any     `json:"vars"`              // vars, inputs and outputs by name
	Outputs map[string]*Output `json:"outputs,omitempty"` // what the steps that ran left behind
}

// WaitKind says what a waiting execution needs to go on.
type WaitKind string

// What an execution can wait for.
const (
	WaitReply    WaitKind = "reply"    // an inbound message (ask)
	WaitSend     WaitKind = "send"     // the delivery result of a send whose failure is handled
	WaitHTTP     WaitKind = "http"     // an HTTP result
	WaitFunction WaitKind = "function" // a function result
	WaitTask     WaitKind = "task"     // the end of a routed task
	WaitTimer    WaitKind = "timer"    // a wait step's timer
	WaitVoice    WaitKind = "voice"    // the result of gather, record or dial
)

// Wait is the one thing a waiting execution waits for.
type Wait struct {
	ID    string   `json:"id"` // results must carry it back
	Kind  WaitKind `json:"kind"`
	Timer string   `json:"timer,omitempty"` // the armed timeout, if any
	Task  string   `json:"task,omitempty"`  // the routed task, for enqueue
	// Choices are the options an ask offered: its reply is matched
	// against them, after a restart too.
	Choices []Choice `json:"choices,omitempty"`
}

// EventKind names an event.
type EventKind string

// Events.
const (
	EventStart   EventKind = "start"   // a new execution (with Message)
	EventInbound EventKind = "inbound" // a message in the execution's conversation
	EventResult  EventKind = "result"  // the result of an effect (WaitID set)
	EventTimer   EventKind = "timer"   // a timer fired (Timer set)
	EventTask    EventKind = "task"    // a routed task ended (Task set)
	EventCancel  EventKind = "cancel"  // stop the execution (the customer left, an admin)
)

// Event is something that happened to an execution. The runtime fills the
// context (contact, conversation, environment, time) for every event.
type Event struct {
	Kind EventKind `json:"kind"`
	Now  time.Time `json:"now"`

	Contact      compiler.Contact      `json:"contact"`
	Conversation compiler.Conversation `json:"conversation"`
	Env          map[string]string     `json:"env,omitempty"`
	// StepBudget is how many steps an execution may run without a message
	// from the customer before it fails; 0 means DefaultStepBudget.
	StepBudget int `json:"step_budget,omitempty"`

	Message *compiler.Message `json:"message,omitempty"` // start, inbound
	WaitID  string            `json:"wait_id,omitempty"` // result: the wait it answers
	Timer   string            `json:"timer,omitempty"`   // timer: which one fired
	Result  *Result           `json:"result,omitempty"`  // result
	Task    *TaskResult       `json:"task,omitempty"`    // task
}

// Result is what an effect produced.
type Result struct {
	Err string `json:"err,omitempty"` // the effect failed (network error, timeout, delivery failure)

	// http
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`

	// function
	Value any `json:"value,omitempty"`

	// gather
	Digits     string  `json:"digits,omitempty"`
	Speech     string  `json:"speech,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	// record (Digits: the key that ended it)
	RecordingURL string  `json:"recording_url,omitempty"`
	RecordingID  string  `json:"recording_id,omitempty"`
	Duration     float64 `json:"duration,omitempty"` // seconds, record and dial
	Transcript   string  `json:"transcript,omitempty"`
	// dial: answered, no_answer, busy or failed
	DialStatus string `json:"dial_status,omitempty"`
}

// TaskResult says how a routed task ended.
type TaskResult struct {
	ID      string           `json:"id"`
	Outcome compiler.Outcome `json:"outcome"` // OutCompleted, OutCanceled or OutFailed
	Queue   string           `json:"queue,omitempty"`
	Worker  string           `json:"worker,omitempty"`
}

// EffectKind names an effect.
type EffectKind string

// Effects.
const (
	EffectSend        EffectKind = "send"
	EffectHTTP        EffectKind = "http"
	EffectFunction    EffectKind = "function"
	EffectEnqueue     EffectKind = "enqueue"
	EffectCancelTask  EffectKind = "cancel_task"
	EffectSetTimer    EffectKind = "set_timer"
	EffectCancelTimer EffectKind = "cancel_timer"
	EffectVoice       EffectKind = "voice"
	EffectEnd         EffectKind = "end"
)

// Effect is work the runtime performs for an execution. Key is unique per
// effect and stable across retries: the idempotency key where the platform
// takes one. WaitID, when set, is the wait the effect's result answers.
type Effect struct {
	Kind   EffectKind `json:"kind"`
	Key    string     `json:"key"`
	WaitID string     `json:"wait_id,omitempty"`

	Send     *SendEffect     `json:"send,omitempty"`
	HTTP     *HTTPEffect     `json:"http,omitempty"`
	Function *FunctionEffect `json:"function,omitempty"`
	Enqueue  *EnqueueEffect  `json:"enqueue,omitempty"`
	TaskID   string          `json:"task_id,omitempty"` // cancel_task
	Timer    *TimerEffect    `json:"timer,omitempty"`   // set_timer, cancel_timer (ID only)
	Voice    *VoiceEffect    `json:"voice,omitempty"`
	End      *EndEffect      `json:"end,omitempty"`

	// NotBefore, when set, is the earliest time to perform the effect: the
	// request of a step whose last requests failed backs off.
	NotBefore time.Time `json:"not_before,omitzero"`

	// From is the step that emitted the effect; set when tracing.
	From *StepRef `json:"from,omitempty"`
}

// StepRef names a state of a flow.
type StepRef struct {
	Flow  string `json:"flow"`
	State int32  `json:"state"`
}

// Visit is one thing a traced step did: ran a state (Branch empty), or
// left it by an outcome (Branch is its name) or a guard (Branch "g0",
// "g1"…: the guard's index).
type Visit struct {
	StepRef
	Branch string
}

// SendEffect sends a message in the conversation.
type SendEffect struct {
	Channel  string    `json:"channel,omitempty"` // empty: the conversation's channel
	To       string    `json:"to,omitempty"`      // empty: the conversation's contact
	Text     string    `json:"text"`
	Media    []string  `json:"media,omitempty"`
	Template *Template `json:"template,omitempty"`
	// Choices are options offered with the message, in order; Menu, when
	// set, asks for them as a list opened by a button with that label.
	Choices []Choice `json:"choices,omitempty"`
	Menu    string   `json:"menu,omitempty"`
}

// Choice is an option offered with a message: the customer taps it, or
// types its title or number. ID is what the flow tests (reply.choice).
type Choice struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Template is an approved message template, sent in place of the text
// where the channel has templates (WhatsApp outside its 24-hour window).
type Template struct {
	Name      string            `json:"name"` // the platform's id or name (Twilio's ContentSid)
	Language  string            `json:"language,omitempty"`
	Variables map[string]string `json:"variables,omitempty"`
}

// HTTPEffect is an HTTP request.
type HTTPEffect struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        string            `json:"body,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Timeout     time.Duration     `json:"timeout"`
}

// FunctionEffect calls a registered function.
type FunctionEffect struct {
	Name    string         `json:"name"`
	Args    map[string]any `json:"args,omitempty"`
	Timeout time.Duration  `json:"timeout"`
}

// EnqueueEffect creates a task for the router.
type EnqueueEffect struct {
	TaskID     string         `json:"task_id"`
	Workflow   string         `json:"workflow"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Priority   float64        `json:"priority"`
	Channel    string         `json:"channel"` // task channel: chat, voice, email
}

// TimerEffect arms (or, by ID, disarms) a durable timer.
type TimerEffect struct {
	ID string    `json:"id"`
	At time.Time `json:"at,omitempty"`
}

// VoiceEffect is a call instruction: say, play, gather, record, dial or hangup.
type VoiceEffect struct {
	Verb       string        `json:"verb"`
	Text       string        `json:"text,omitempty"` // say; gather's prompt
	URL        string        `json:"url,omitempty"`  // play
	Voice      string        `json:"voice,omitempty"`
	Language   string        `json:"language,omitempty"`
	Loop       int           `json:"loop,omitempty"`
	Digits     int           `json:"digits,omitempty"`
	FinishOn   string        `json:"finish_on,omitempty"`
	Speech     bool          `json:"speech,omitempty"`
	Timeout    time.Duration `json:"timeout,omitempty"`
	MaxLength  time.Duration `json:"max_length,omitempty"`
	Transcribe bool          `json:"transcribe,omitempty"`
	Number     string        `json:"number,omitempty"` // dial
	CallerID   string        `json:"caller_id,omitempty"`
	Record     bool          `json:"record,omitempty"`
}

// EndEffect says the execution is over.
type EndEffect struct {
	Status Status `json:"status"` // ended or failed
	Reason string `json:"reason,omitempty"`
	Code   string `json:"code,omitempty"` // CodeStepBudget, or empty
}
