package flowtest

import "strconv"

// visit is a step reached, or (branch set) an outcome or guard taken: the
// engine's trace (engine.Visit) as coverage and failures use it.
type visit struct {
	flow   string
	state  int32
	branch string // "": the step ran; "g0", "g1"...: a guard; else an outcome name
}

// guardKey is the branch name of the i-th guard, as the engine's trace spells it.
func guardKey(i int) string { return "g" + strconv.Itoa(i) }
