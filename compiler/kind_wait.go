package compiler

import "time"

// KindWait pauses the execution.
var KindWait = registerKind(waitKind{&KindSpec{
	Name:     "wait",
	Doc:      "pauses the execution for a while",
	Arg:      Arg{Kind: ArgDuration, What: "a duration", Doc: "duration"},
	Outcomes: []OutcomeSpec{{Outcome: OutNext, Primary: true, Doc: "the time is up"}},
	Waits:    true,
}})

type waitKind struct{ *KindSpec }

// WaitOp is a wait step's pause.
type WaitOp struct {
	Duration time.Duration
}

func (waitKind) lower(l *lowering) Op { return &WaitOp{Duration: l.argDur} }

func (o *WaitOp) disasm() (string, []string) { return head("", nil, "", nil, o.Duration), nil }
