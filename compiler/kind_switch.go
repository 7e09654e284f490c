package compiler

// KindSwitch takes the first guard that holds, or default.
var KindSwitch = registerKind(switchKind{&KindSpec{
	Name: "switch",
	Doc:  "takes the first condition that holds, or default",
	Outcomes: []OutcomeSpec{
		{Outcome: OutDefault, Primary: true, Required: true, Doc: "no condition held"},
	},
	Guards: true,
}})

type switchKind struct{ *KindSpec }

// SwitchOp is a switch step: all it needs are the state's guards.
type SwitchOp struct{}

func (switchKind) lower(*lowering) Op { return &SwitchOp{} }

func (*SwitchOp) disasm() (string, []string) { return "", nil }
