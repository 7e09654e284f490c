// Package compiler turns parsed .flow files into a Program: the immutable
// state machine the runtime executes. It resolves names, decodes each
// step's generic lines against its kind's table, type-checks every
// expression with expr-lang against a typed environment for its place,
// checks the graph (targets, required outcomes, reachability, cycles that
// could spin without waiting) and lowers flows to arrays of states whose
// transitions are indexes. Nothing in a Program refers to the AST.
package compiler

import (
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/switchboard-dev/switchboard/diag"
)

// Version identifies the compiler's output format; it is part of every
// Program's version so persisted executions notice a compiler change.
const Version = "sb1"

// Program is a compiled set of declarations. It is immutable and safe for
// concurrent use.
type Program struct {
	// Version is a content hash of the sources and the compiler version.
	Version   string
	Flows     []*Flow
	Queues    []*Queue
	Workflows []*Workflow
	Hours     []*Hours

	flows     map[string]*Flow
	queues    map[string]*Queue
	workflows map[string]*Workflow
	hours     map[string]*Hours
}

// Flow returns the named flow, or nil.
func (p *Program) Flow(name string) *Flow { return p.flows[name] }

// Queue returns the named queue, or nil.
func (p *Program) Queue(name string) *Queue { return p.queues[name] }

// Workflow returns the named workflow, or nil.
func (p *Program) Workflow(name string) *Workflow { return p.workflows[name] }

// HoursNamed returns the named business hours, or nil.
func (p *Program) HoursNamed(name string) *Hours { return p.hours[name] }

// Trigger says what starts a flow.
type Trigger string

// Triggers.
const (
	TriggerMessage Trigger = "message"
	TriggerCall    Trigger = "call"
	TriggerAPI     Trigger = "api"
	TriggerSubflow Trigger = "subflow"
)

// Flow is one flow's state machine. States[0] is the start.
type Flow struct {
	Name     string
	Trigger  Trigger
	Channels []string // empty: any channel
	Vars     []Var
	Inputs   []Var // subflows only
	Outputs  []Var // subflows only
	States   []*State
	Span     diag.Span

	index map[string]int
}

// StateIndex returns the index of the named state, or -1.
func (f *Flow) StateIndex(name string) int {
	if i, ok := f.index[name]; ok {
		return i
	}
	return -1
}

// Type is a declared variable type.
type Type string

// Variable types.
const (
	TypeString Type = "string"
	TypeNumber Type = "number"
	TypeBool   Type = "bool"
	TypeList   Type = "list"
	TypeMap    Type = "map"
	TypeAny    Type = "any"
)

// Var is a declared variable, input or output.
type Var struct {
	Name string
	Type Type
	Init *Expr // nil: the type's zero value
	Span diag.Span
}

// Kind is a step kind.
type Kind uint8

// Step kinds.
const (
	KindSend Kind = iota
	KindAsk
	KindSwitch
	KindSet
	KindHTTP
	KindFunction
	KindEnqueue
	KindSubflow
	KindWait
	KindSay
	KindPlay
	KindGather
	KindRecord
	KindDial
	KindHangup
	numKinds
)

var kindNames = [numKinds]string{"send", "ask", "switch", "set", "http", "function", "enqueue", "subflow",
	"wait", "say", "play", "gather", "record", "dial", "hangup"}

func (k Kind) String() string { return kindNames[k] }

// Outcome names a transition out of a state.
type Outcome uint8

// Outcomes. A state's transition table is indexed by them.
const (
	OutNext Outcome = iota
	OutFailed
	OutReply
	OutTimeout
	OutDefault
	OutOK
	OutError
	OutCompleted
	OutCanceled
	OutDone
	OutKeypress
	OutSpeech
	OutRecorded
	OutAnswered
	OutNoAnswer
	OutBusy
	NumOutcomes
)

var outcomeNames = [NumOutcomes]string{"next", "failed", "reply", "timeout", "default", "ok", "error",
	"completed", "canceled", "done", "keypress", "speech", "recorded", "answered", "no_answer", "busy"}

func (o Outcome) String() string { return outcomeNames[o] }

// Transition targets that are not state indexes.
const (
	NoTarget int32 = -1 // the outcome is not handled: the execution ends
	End      int32 = -2 // `done`
)

// Guard is a condition tested in order; the first true one is taken.
type Guard struct {
	Cond   *Expr
	Target int32
	Span   diag.Span
}

// State is one step of a flow. Which fields are set depends on Kind; the
// per-kind table in docs/LANGUAGE.md lists them.
type State struct {
	Name   string
	Kind   Kind
	Span   diag.Span
	Next   [NumOutcomes]int32 // target per outcome: a state index, NoTarget or End
	Guards []Guard            // switch conditions; ask guards on reply; gather guards on digits/speech

	Text    *Expr         // send/ask/say text, play URL, dial number, gather prompt
	To      *Expr         // send/ask: recipient address (default: the conversation's contact)
	Channel *Expr         // send/ask: channel override; enqueue: task channel
	Media   *Expr         // send/ask: media URL or list of URLs
	Timeout time.Duration // ask, http, function, enqueue, gather, record, dial; wait's duration
	Assign  []Assign      // set

	Method  string // http: GET, POST, PUT, PATCH, DELETE
	URL     *Expr  // http
	Headers *Expr  // http: map
	Body    *Expr  // http: json value, form map or raw body
	BodyAs  string // http: "json", "form" or "body"

	Target     string // function name, workflow (enqueue) or flow (subflow)
	Args       *Expr  // function args, subflow inputs
	Attributes *Expr  // enqueue
	Priority   *Expr  // enqueue

	Voice, Language, Loop *Expr // say/play
	Digits                *Expr // gather: number of digits
	FinishOn              *Expr // gather
	Speech                *Expr // gather: listen for speech (bool)
	ListensForSpeech      bool  // gather: a speech outcome or a guard on speech asks for it
	MaxLength             time.Duration
	Record                *Expr // record: transcribe the recording; dial: record the call
	CallerID              *Expr // dial
}

// Assign is one `name = EXPR` of a set step.
type Assign struct {
	Name  string
	Value *Expr
	Span  diag.Span
}

// Waits reports whether the state stops the execution until an event
// arrives (a reply, a timer, an effect's result).
func (k Kind) Waits() bool {
	switch k {
	case KindAsk, KindHTTP, KindFunction, KindEnqueue, KindSubflow, KindWait, KindGather, KindRecord, KindDial:
		return true
	}
	return false
}

// Expr is a compiled expression with the source it came from. Strings with
// `${...}` inside it are Templates: they are evaluated first, in order, and
// the program reads their values as `_t[0]`, `_t[1]`, ….
type Expr struct {
	Source    string
	Span      diag.Span
	Program   *vm.Program
	Templates []Template
}

// Template is an interpolated string: literal parts and expressions.
type Template struct {
	Parts []TemplatePart
}

// TemplatePart is literal text or, when Expr is set, an interpolation.
type TemplatePart struct {
	Text string
	Expr *Expr
}

// Queue is a set of workers chosen by an expression, with an order.
type Queue struct {
	Name        string
	Workers     *Expr  // bool over `worker`
	Strategy    string // longest_idle, least_busy, round_robin or expr
	OrderBy     *Expr  // with Strategy "expr"
	Descending  bool
	MaxReserved int // 0: no limit
	Span        diag.Span
}

// Queue ordering strategies.
const (
	StrategyLongestIdle = "longest_idle"
	StrategyLeastBusy   = "least_busy"
	StrategyRoundRobin  = "round_robin"
	StrategyExpr        = "expr"
)

// Workflow routes a task to queues by ordered filters.
type Workflow struct {
	Name    string
	Filters []Filter
	Default Target
	Span    diag.Span
}

// Filter sends tasks matching When through Targets, escalating on timeout.
type Filter struct {
	When    *Expr
	Targets []Target
	Span    diag.Span
}

// Target is a queue, or a known worker (Worker evaluates to a worker id).
type Target struct {
	Queue    string
	Worker   *Expr
	Timeout  time.Duration // 0: wait here until the task ends
	Priority *Expr         // nil: keep the task's priority
	Span     diag.Span
}
