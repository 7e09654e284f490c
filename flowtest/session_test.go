package flowtest_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/flowtest"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

const callFlow = `flow line {
  trigger call
  menu: gather {
    prompt "Press 1"
    digits 1
    timeout 5s -> bye
    keypress -> voicemail
  }
  voicemail: record {
    max_length 1m
    timeout 5s
    failed -> sorry
  } -> bye
  sorry: say "We could not record you" -> bye
  bye: hangup
}
`

// A session performs a call's verbs through the runtime's interpreter,
// with the mocks as the conversation's call performer: the caller's keys
// answer the gather, and a recording that fails is the flow's failure.
func TestSessionPerformsCallVerbs(t *testing.T) {
	prog, list := compiler.CompileSources([]compiler.Source{{Name: "line.flow", Src: []byte(callFlow)}}, compiler.Options{})
	if prog == nil || list.HasErrors() {
		t.Fatal(list)
	}
	var seen []string
	s := &flowtest.Session{Prog: prog, Flow: "line", ID: "x", Now: flowtest.DefaultStart,
		Conv: compiler.Conversation{ID: "c", Channel: "voice"}, Trigger: compiler.Message{ID: "m", Channel: "voice", From: "+1"},
		Observe: func(e engine.Effect) { seen = append(seen, flowtest.DescribeEffect(e)) }}
	step := func(ev engine.Event) {
		t.Helper()
		if _, _, ignored, err := s.Step(ev); err != nil || ignored {
			t.Fatalf("step: ignored %v, err %v", ignored, err)
		}
	}
	step(s.StartEvent(""))
	if kind, st, _ := s.Due(); kind != "" || st == nil || st.Name != "menu" {
		t.Fatalf("at the gather: kind %q, step %v", kind, st)
	}
	if _, ok := s.TimeoutAt(); ok {
		t.Fatal("the gather's timeout is the caller's silence, not a timer")
	}
	step(s.Input("1", ""))
	kind, st, req := s.Due()
	if kind != "record" || st.Name != "voicemail" || req.Voice == nil || req.Voice.MaxLength != time.Minute {
		t.Fatalf("at the recording: kind %q, step %v, request %+v", kind, st, req)
	}
	ev, _ := s.Answer(&flowtest.MockIO{Mock: &flowtest.Mock{Kind: "record", Step: "voicemail", Value: map[string]any{"error": "no audio"}}})
	if ev.Result == nil || ev.Result.Err != "no audio" {
		t.Fatalf("the failed recording's result: %+v", ev.Result)
	}
	step(ev)
	if s.X.Status != engine.StatusEnded {
		t.Fatalf("status %s", s.Ended())
	}
	want := []string{"gather", "record", `say "We could not record you"`, "hangup", "end (hangup)"}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("effects %q, want %q", seen, want)
	}
}
