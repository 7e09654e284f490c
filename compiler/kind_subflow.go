package compiler

import (
	"github.com/expr-lang/expr/ast"

	"github.com/switchboard-dev/switchboard/diag"
)

// KindSubflow runs another flow and comes back.
var KindSubflow = registerKind(subflowKind{&KindSpec{
	Name: "subflow",
	Doc:  "runs a flow declared with `trigger subflow`, then comes back",
	Arg:  Arg{Kind: ArgName, What: "a flow name", Doc: "flow"},
	Props: []Prop{
		{Name: "inputs", Kind: PropExpr, Want: TypeMap, Doc: "the subflow's inputs, a map"},
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutDone, Primary: true, Doc: "the subflow ended"},
		{Outcome: OutError, Doc: "the subflow failed"},
	},
	Waits:  true,
	Output: SubflowOutput{},
}})

type subflowKind struct{ *KindSpec }

// SubflowOutput is what a subflow step leaves behind.
type SubflowOutput struct {
	Outputs map[string]any `expr:"outputs" json:"outputs,omitempty"`
}

// SubflowOp is a subflow step's call.
type SubflowOp struct {
	Flow   string
	Inputs *Expr // map
}

func (subflowKind) lower(l *lowering) Op {
	op := &SubflowOp{Flow: l.sd.target, Inputs: l.expr("inputs")}
	t, ok := l.argName()
	if !ok {
		return op
	}
	sub, ok := l.flows[t.Text]
	if !ok {
		d := l.c.diags.Errorf("E0205", t.Span, "unknown flow %s", diag.Quote(t.Text))
		d.DidYouMean(t.Text, keys(l.flows))
		return op
	}
	if sub.flow.Trigger != TriggerSubflow && !sub.triggerUnknown {
		l.c.diags.Errorf("E0205", t.Span, "flow %s cannot run as a subflow", diag.Quote(t.Text)).
			WithRelated(sub.flow.Span, "declared here").WithHint("add `trigger subflow` to flow %s", t.Text)
	}
	if !l.has("inputs") {
		for _, v := range sub.varList {
			if v.role == "input" && !v.hasDef {
				l.c.diags.Errorf("E0305", t.Span, "subflow %s needs input %s", diag.Quote(t.Text), diag.Quote(v.v.Name)).
					WithHint("add `inputs {%s: …}`", v.v.Name)
			}
		}
	}
	if op.Inputs != nil {
		l.c.checkSubflowInputs(op.Inputs, sub)
	}
	return op
}

// checkSubflowInputs checks a literal `inputs {…}` map against the
// subflow's declared inputs.
func (c *compiler) checkSubflowInputs(inputs *Expr, sub *flowDraft) {
	if inputs.Program == nil {
		return
	}
	m, ok := inputs.Program.Node().(*ast.MapNode)
	if !ok {
		return
	}
	given := map[string]bool{}
	for _, p := range m.Pairs {
		pair, ok := p.(*ast.PairNode)
		if !ok {
			continue
		}
		k, ok := pair.Key.(*ast.StringNode)
		if !ok {
			continue
		}
		given[k.Value] = true
		if v := sub.vars[k.Value]; v == nil || v.role != "input" {
			var names []string
			for _, v := range sub.varList {
				if v.role == "input" {
					names = append(names, v.v.Name)
				}
			}
			d := c.diags.Errorf("E0303", inputs.Span, "subflow %s has no input %s", diag.Quote(sub.flow.Name), diag.Quote(k.Value))
			d.DidYouMean(k.Value, names)
		}
	}
	for _, v := range sub.varList {
		if v.role == "input" && !v.hasDef && !given[v.v.Name] {
			c.diags.Errorf("E0305", inputs.Span, "subflow %s needs input %s", diag.Quote(sub.flow.Name), diag.Quote(v.v.Name))
		}
	}
}

func (o *SubflowOp) disasm() (string, []string) { return head(o.Flow, nil, "", nil, 0), nil }
