package compiler

import (
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// KindSet assigns flow variables.
var KindSet = registerKind(setKind{&KindSpec{
	Name:     "set",
	Doc:      "assigns variables of the flow, in order",
	Arg:      Arg{Kind: ArgAssign, What: "assignments", Doc: "assignments"},
	Outcomes: []OutcomeSpec{{Outcome: OutNext, Primary: true, Doc: "always"}},
	// `set x = {…}` reads the map as the step's block.
	LineHint: "a map value goes in parentheses: `set NAME = ({…})`",
}})

type setKind struct{ *KindSpec }

// SetOp is a set step's assignments, in order: later ones see earlier ones.
type SetOp struct {
	Assign []Assign
}

// Assign is one `name = EXPR` of a set step.
type Assign struct {
	Name  string
	Value *Expr
	Span  diag.Span
}

func (setKind) lower(l *lowering) Op {
	op := &SetOp{}
	c, fd, sd := l.c, l.fd, l.sd
	for _, part := range splitTop(l.args, ",") {
		if len(part) < 3 || part[0].Kind != lang.Ident || !part[1].Is("=") {
			sp := sd.node.Kind.Span()
			if len(part) > 0 {
				sp = runSpan(part)
			}
			c.diags.Errorf("E0309", sp, "expected `NAME = VALUE`").WithHint("e.g. `set language = \"id\", tries = tries + 1`")
			continue
		}
		name := part[0]
		v, ok := fd.vars[name.Text]
		if !ok && fd.broken[name.Text] {
			// Its declaration is reported; the value is checked as any.
			c.markUsed(c.compileRun(part[2:], l.sc, TypeAny, "the value of "+diag.Quote(name.Text)))
			continue
		}
		if !ok || v.role == "input" {
			d := c.diags.Errorf("E0207", name.Span, "cannot set %s: it is not a var of flow %s", diag.Quote(name.Text), diag.Quote(fd.flow.Name))
			if ok {
				d.Msg = "cannot set input " + diag.Quote(name.Text)
				d.WithHint("inputs are read-only; copy it into a var")
			} else if !d.DidYouMean(name.Text, keys(fd.vars)) {
				d.WithHint("declare it first: `var %s: string`", name.Text)
			}
			continue
		}
		e := c.compileTyped(part[2:], l.sc, v.v.Type, v.spelled, "the value of "+diag.Quote(name.Text)+" ("+v.spelled+")")
		c.markUsed(e)
		op.Assign = append(op.Assign, Assign{Name: name.Text, Value: e, Span: runSpan(part)})
	}
	return op
}

func (o *SetOp) disasm() (string, []string) {
	lines := make([]string, len(o.Assign))
	for i, a := range o.Assign {
		lines[i] = a.Name + " = " + a.Value.Source
	}
	return "", lines
}
