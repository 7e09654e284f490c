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

// typeNames are the type names a declaration may write, in the order
// messages list them. `int` and `float` are other names for number: a
// number holds whole numbers and decimals alike (as JSON does, and as
// variables are stored), so the two names say what the admin means the
// variable to hold without a second numeric type to convert between.
var typeNames = []string{"string", "number", "int", "float", "bool", "list", "map", "any"}

// TypeNamed returns the type a declaration names: one of the Type
// constants, or number for its other names `int` and `float`.
func TypeNamed(name string) (Type, bool) {
	switch name {
	case "int", "float":
		return TypeNumber, true
	case string(TypeString), string(TypeNumber), string(TypeBool), string(TypeList), string(TypeMap), string(TypeAny):
		return Type(name), true
	}
	return "", false
}

// Var is a declared variable, input or output.
type Var struct {
	Name string
	Type Type
	Init *Expr // nil: the type's zero value
	Span diag.Span
}

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

// State is one step of a flow: what every kind has (its outcomes'
// targets, its guards) and the kind's own payload.
type State struct {
	Name   string
	Kind   Kind
	Span   diag.Span
	Next   [NumOutcomes]int32 // target per outcome: a state index, NoTarget or End
	Guards []Guard            // switch conditions; ask guards on reply; gather guards on digits/speech
	// Op is the kind's payload: *SendOp for send, *HTTPOp for http, ….
	Op Op
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
