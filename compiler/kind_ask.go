package compiler

import (
	"time"

	"github.com/switchboard-dev/switchboard/diag"
)

// KindAsk sends a question and waits for the contact's next message.
var KindAsk = registerKind(askKind{&KindSpec{
	Name: "ask",
	Doc:  "sends a question, then waits for the contact's next message",
	Arg:  Arg{Kind: ArgExpr, Want: TypeAny, What: "the question", Doc: "question"},
	Props: []Prop{
		{Name: "timeout", Kind: PropDuration, Outcome: OutTimeout, HasOutcome: true, Doc: "how long to wait for a reply, with its outcome: `timeout 10m -> t`"},
		{Name: "to", Kind: PropExpr, Want: TypeString, Doc: "as in send"},
		{Name: "channel", Kind: PropChannel, Want: TypeString, Doc: "as in send"},
		{Name: "media", Kind: PropExpr, Want: TypeAny, Doc: "as in send"},
		choicesProp, menuProp,
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutReply, Primary: true, Required: true, Doc: "a reply that no guard took"},
		{Outcome: OutTimeout, Required: true, Doc: "no reply in time"},
	},
	Guards:     true,
	GuardNames: map[string]any{NameReply: Message{}},
	Waits:      true,
	Output:     AskOutput{},
}})

type askKind struct{ *KindSpec }

// AskOutput is what an ask step leaves behind.
type AskOutput struct {
	Reply Message `expr:"reply" json:"reply"`
}

// AskOp is an ask step: the question, as a send, and how long to wait.
type AskOp struct {
	SendOp
	Timeout time.Duration
}

func (askKind) lower(l *lowering) Op {
	op := &AskOp{SendOp: SendOp{Text: l.arg, To: l.expr("to"), Channel: l.expr("channel"), Media: l.expr("media")}, Timeout: l.dur("timeout")}
	op.lowerChoices(l)
	op.checkChannel(l)
	if op.Timeout == 0 {
		if _, ok := l.sd.outcomes[OutTimeout]; ok {
			l.c.diags.Errorf("E0305", l.sd.node.Name.Span(), "ask step %s has a timeout outcome but no duration", diag.Quote(l.st.Name))
		}
	}
	return op
}

// checkFlow: a call has no messages to wait for.
func (askKind) checkFlow(c *compiler, fd *flowDraft, sd *stepDraft) {
	if fd.flow.Trigger == TriggerCall {
		c.diags.Errorf("E0310", sd.node.Kind.Span(), "`ask` waits for a message; flow %s is triggered by a call", diag.Quote(fd.flow.Name)).
			WithHint("use `gather` to collect keypresses or speech on a call")
	}
}

func (o *AskOp) disasm() (string, []string) {
	return head("", o.Text, "", nil, o.Timeout), o.choiceLines()
}
