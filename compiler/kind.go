package compiler

import (
	"fmt"
	"sort"
)

// A step kind is described once, in its own file kind_NAME.go: a KindSpec
// (how a step of the kind is written: argument, properties, outcomes,
// guards; what it leaves behind for later expressions) and a lowering that
// turns a decoded step into the kind's payload (an Op) on the State. The
// decoder, the checker, the disassembly, the docs table and the tools read
// the spec; the engine runs the Op with an executor registered under the
// kind's name (runtime/engine/kind_NAME.go).
//
// A new kind is those two files, its section in docs/LANGUAGE.md (whose
// summary row FLOW_UPDATE=1 go test ./compiler writes) and its tests. Only
// a new outcome name (the Outcome list, which states index) or a new
// effect (the engine's Effect, and what performs it) reaches further.

// StepKind is a step kind. Its lowering is unexported, so only this
// package's kinds exist: the engine has an executor for each.
type StepKind interface {
	Spec() *KindSpec
	// lower builds the state's payload once the step's argument, guards
	// and properties are compiled; it reports what only the kind can tell
	// (a missing method, two bodies) through l.
	lower(l *lowering) Op
}

// Op is a state's kind-specific payload; its concrete type is fixed by the
// state's Kind (*SendOp for send, …).
//
//sumtype:decl
type Op interface {
	// disasm is what the disassembly prints after the kind's name, and the
	// lines it prints below it.
	disasm() (head string, lines []string)
}

// KindSpec is what the compiler and the tools know of a step kind.
type KindSpec struct {
	Name string
	Doc  string // one line: what a step of the kind does
	Arg  Arg
	// Props are the properties a block line may set, in the order the docs
	// list them.
	Props []Prop
	// Outcomes are the outcomes a step may wire, the primary one (the one
	// a trailing `-> target` wires) first when it has one.
	Outcomes []OutcomeSpec
	// Guards: block lines may be conditions, tested in order; GuardNames
	// are the names they see besides the flow's (ask's `reply`).
	Guards     bool
	GuardNames map[string]any
	// Voice kinds run only in flows triggered by a call.
	Voice bool
	// Waits: the step stops the execution until an event arrives (a reply,
	// a timer, an effect's result); a loop of steps that never wait is an
	// error.
	Waits bool
	// CatchesErrors: an expression of the step that fails at run time
	// takes its error outcome, when wired, instead of failing the
	// execution.
	CatchesErrors bool
	// Output is the zero value of what the step leaves behind, read as
	// STEP.field by later expressions (its `expr` tags name the fields);
	// nil when it leaves nothing.
	Output any
	// LineHint is the hint for a block line that is no property of the
	// kind, when a kind knows what such a line usually meant.
	LineHint string

	props   map[string]*Prop
	primary Outcome
	hasPrim bool
}

// Spec returns s: a kind embeds its *KindSpec to implement StepKind.Spec.
func (s *KindSpec) Spec() *KindSpec { return s }

// Arg is what a kind takes after its name.
type Arg struct {
	Kind ArgKind
	Want Type   // ArgExpr: the expression's type
	What string // what the argument is, for messages
	Doc  string // the same, in a word or two, for the docs table
}

// ArgKind says how a step's argument is read.
type ArgKind uint8

// Argument kinds.
const (
	ArgNone     ArgKind = iota
	ArgExpr             // an expression (text, URL, number)
	ArgName             // a name: workflow, flow or function
	ArgDuration         // a duration literal
	ArgAssign           // a = EXPR, b = EXPR
)

// Prop is a property a block line may set: `NAME VALUE [-> target]`.
type Prop struct {
	Name string
	Kind PropKind
	Want Type   // PropExpr, PropChannel, PropMethod: the value's type
	Doc  string // one line, for docs and hovers
	// Group names properties of which a step sets at most one (http's
	// methods, its bodies).
	Group string
	// Outcome, with HasOutcome: the property may carry `-> target` for it
	// (`timeout 5m -> handoff`). Unless ArrowOptional, the arrow is
	// required.
	Outcome       Outcome
	HasOutcome    bool
	ArrowOptional bool
	// Bare: the property may be written without a value; the kind's
	// lowering decides what that means.
	Bare bool
}

// PropKind says how a property's value is read.
type PropKind uint8

// Property kinds.
const (
	PropExpr     PropKind = iota
	PropDuration          // a duration literal
	PropMethod            // http verb: the value is the URL
	PropChannel           // a channel name, or a string expression
)

// OutcomeSpec is an outcome a kind's step may wire.
type OutcomeSpec struct {
	Outcome  Outcome
	Required bool
	Primary  bool   // a trailing `-> target` wires it
	Doc      string // when it is taken
}

// flowChecker is a kind with rules about the flow a step of it is in,
// beyond Voice.
type flowChecker interface {
	checkFlow(c *compiler, fd *flowDraft, sd *stepDraft)
}

// Kind is a registered step kind.
type Kind uint8

var (
	kinds       []StepKind
	kindsByName = map[string]Kind{}
)

// registerKind adds a kind; each kind file registers its own in a package
// variable, so the Kind is a plain index.
func registerKind(k StepKind) Kind {
	s := k.Spec()
	if _, dup := kindsByName[s.Name]; dup {
		panic(fmt.Sprintf("compiler: step kind %q registered twice", s.Name))
	}
	s.props = make(map[string]*Prop, len(s.Props))
	for i := range s.Props {
		s.props[s.Props[i].Name] = &s.Props[i]
	}
	for _, o := range s.Outcomes {
		if o.Primary {
			s.primary, s.hasPrim = o.Outcome, true
		}
	}
	id := Kind(len(kinds))
	kinds = append(kinds, k)
	kindsByName[s.Name] = id
	return id
}

// Kinds returns every step kind, sorted by name.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i := range kinds {
		out[i] = Kind(i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// KindNamed returns the kind of that name.
func KindNamed(name string) (Kind, bool) {
	k, ok := kindsByName[name]
	return k, ok
}

// Spec returns the kind's description.
func (k Kind) Spec() *KindSpec { return kinds[k].Spec() }

func (k Kind) String() string { return kinds[k].Spec().Name }

// Waits reports whether a step of the kind stops the execution until an
// event arrives.
func (k Kind) Waits() bool { return kinds[k].Spec().Waits }

// Outcomes returns the outcomes a step of the kind may take.
func (k Kind) Outcomes() []Outcome {
	s := kinds[k].Spec()
	out := make([]Outcome, len(s.Outcomes))
	for i, o := range s.Outcomes {
		out[i] = o.Outcome
	}
	return out
}

// OutputOf returns the zero output value of a step kind, or nil when the
// kind leaves nothing behind.
func OutputOf(k Kind) any { return kinds[k].Spec().Output }

func (s *KindSpec) allows(o Outcome) bool {
	for _, x := range s.Outcomes {
		if x.Outcome == o {
			return true
		}
	}
	return false
}

func (s *KindSpec) required() []Outcome {
	var out []Outcome
	for _, o := range s.Outcomes {
		if o.Required {
			out = append(out, o.Outcome)
		}
	}
	return out
}

func (s *KindSpec) propNames() []string {
	out := make([]string, len(s.Props))
	for i, p := range s.Props {
		out[i] = p.Name
	}
	sortStrings(out)
	return out
}

func outcomeNamed(name string) (Outcome, bool) {
	for i, n := range outcomeNames {
		if n == name {
			return Outcome(i), true
		}
	}
	return 0, false
}

func kindNamesList() []string {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.Spec().Name)
	}
	return out
}

// KnownChannels are the channel names `channels` accepts by default.
var KnownChannels = []string{"sms", "whatsapp", "webchat", "messenger", "instagram", "line", "telegram",
	"discord", "slack", "email", "rcs", "voice", "custom"}
