package compiler

import (
	"time"

	"github.com/switchboard-dev/switchboard/diag"
)

// KindFunction calls a function the runtime registers.
var KindFunction = registerKind(functionKind{&KindSpec{
	Name: "function",
	Doc:  "calls a function registered with the runtime",
	Arg:  Arg{Kind: ArgName, What: "a function name", Doc: "function name"},
	Props: []Prop{
		{Name: "args", Kind: PropExpr, Want: TypeMap, Doc: "the arguments, a map"},
		{Name: "timeout", Kind: PropDuration, Doc: "how long the call may take; default 10s"},
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutOK, Primary: true, Doc: "the function returned"},
		{Outcome: OutError, Required: true, Doc: "it failed or timed out, or an expression failed"},
	},
	Waits:         true,
	CatchesErrors: true,
	Output:        FunctionOutput{},
}})

type functionKind struct{ *KindSpec }

// FunctionOutput is what a function step leaves behind.
type FunctionOutput struct {
	Result any `expr:"result" json:"result"`
}

// FunctionOp is a function step's call.
type FunctionOp struct {
	Name    string
	Args    *Expr // map
	Timeout time.Duration
}

func (functionKind) lower(l *lowering) Op {
	if t, ok := l.argName(); ok && l.c.opts.Functions != nil && !contains(l.c.opts.Functions, t.Text) {
		d := l.c.diags.Errorf("E0213", t.Span, "unknown function %s", diag.Quote(t.Text))
		d.DidYouMean(t.Text, l.c.opts.Functions)
	}
	return &FunctionOp{Name: l.sd.target, Args: l.expr("args"), Timeout: l.dur("timeout")}
}

func (o *FunctionOp) disasm() (string, []string) { return head(o.Name, nil, "", nil, o.Timeout), nil }
