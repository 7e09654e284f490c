package engine

import (
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
)

// A kind the compiler accepts must be one the engine can run, and a kind
// that waits must take the events its wait is answered with.
func TestEveryKindHasAnExecutor(t *testing.T) {
	for _, k := range compiler.Kinds() {
		e := executorOf(k)
		if e == nil || e.exec == nil {
			t.Errorf("step kind %s has no executor", k)
			continue
		}
		if k.Spec().Output != nil && k != compiler.KindSubflow && e.result == nil && e.inbound == nil && e.task == nil {
			t.Errorf("step kind %s has an output but takes no result, reply or task", k)
		}
	}
}
