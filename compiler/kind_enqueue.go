package compiler

import (
	"time"

	"github.com/switchboard-dev/switchboard/diag"
)

// KindEnqueue hands the conversation to a live agent through a workflow.
var KindEnqueue = registerKind(enqueueKind{&KindSpec{
	Name: "enqueue",
	Doc:  "creates a task that a workflow routes to a live agent, and waits for it to end",
	Arg:  Arg{Kind: ArgName, What: "a workflow name", Doc: "workflow"},
	Props: []Prop{
		{Name: "attributes", Kind: PropExpr, Want: TypeMap, Doc: "the task's attributes, a map"},
		{Name: "priority", Kind: PropExpr, Want: TypeNumber, Doc: "the task's priority; higher first"},
		{Name: "timeout", Kind: PropDuration, Outcome: OutTimeout, HasOutcome: true, ArrowOptional: true, Bare: true,
			Doc: "how long the task may wait for an agent"},
		{Name: "channel", Kind: PropChannel, Want: TypeString, Doc: "the task channel (chat, voice, email); default from the conversation"},
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutCompleted, Primary: true, Doc: "an agent completed the task"},
		{Outcome: OutTimeout, Doc: "no agent accepted it in time"},
		{Outcome: OutCanceled, Doc: "the task was canceled"},
		{Outcome: OutFailed, Doc: "routing failed"},
	},
	Waits:  true,
	Output: EnqueueOutput{},
}})

type enqueueKind struct{ *KindSpec }

// TaskInfo describes a routed task.
type TaskInfo struct {
	ID         string         `expr:"id" json:"id"`
	Attributes map[string]any `expr:"attributes" json:"attributes,omitempty"`
	Queue      string         `expr:"queue" json:"queue"`
	Worker     string         `expr:"worker" json:"worker"`
}

// EnqueueOutput is what an enqueue step leaves behind.
type EnqueueOutput struct {
	Task TaskInfo `expr:"task" json:"task"`
}

// EnqueueOp is an enqueue step's task.
type EnqueueOp struct {
	Workflow   string
	Attributes *Expr // map
	Priority   *Expr // number
	Channel    *Expr // task channel
	Timeout    time.Duration
}

func (enqueueKind) lower(l *lowering) Op {
	c := l.c
	if t, ok := l.argName(); ok {
		c.usedDecls["workflow:"+t.Text] = true
		if _, ok := c.declared["workflow"][t.Text]; !ok {
			d := c.diags.Errorf("E0204", t.Span, "unknown workflow %s", diag.Quote(t.Text))
			if !d.DidYouMean(t.Text, keys(c.declared["workflow"])) {
				d.WithHint("declare it: `workflow %s { default QUEUE }`", t.Text)
			}
		}
	}
	op := &EnqueueOp{Workflow: l.sd.target, Attributes: l.expr("attributes"), Priority: l.expr("priority"),
		Channel: l.expr("channel"), Timeout: l.dur("timeout")}
	if l.bare["timeout"] {
		c.diags.Errorf("E0313", l.sd.props["timeout"].key.Span, "timeout needs a duration").WithHint("e.g. `timeout 10m -> sorry`")
	}
	if op.Timeout == 0 {
		if t, ok := l.sd.outcomes[OutTimeout]; ok && !l.has("timeout") {
			c.diags.Errorf("E0313", t.Span, "the timeout outcome needs a duration").WithHint("write `timeout 10m -> %s`", t.Text)
		}
	}
	return op
}

func (o *EnqueueOp) disasm() (string, []string) {
	return head(o.Workflow, nil, "", nil, o.Timeout), nil
}
