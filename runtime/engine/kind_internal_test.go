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

// An output encodes as {"KIND": value} and decodes to the kind's output
// type, which is what expressions read; an unknown kind is an error, not a
// silently empty output.
func TestOutputJSON(t *testing.T) {
	in := &Output{Kind: "http", Value: compiler.HTTPOutput{Status: 201, Body: "x"}}
	b, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"http":{"status":201,"body":"x"}}`; string(b) != want {
		t.Errorf("encoded %s, want %s", b, want)
	}
	var out Output
	if err := out.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if got, ok := out.value().(compiler.HTTPOutput); !ok || got.Status != 201 || out.Kind != "http" {
		t.Errorf("decoded %#v", out)
	}
	for _, bad := range []string{`{"sned":{}}`, `{"send":{}}`, `{"http":{},"ask":{}}`, `{"http":{"status":"x"}}`} {
		if err := new(Output).UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}
