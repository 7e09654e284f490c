package engine_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// Executions are stored as JSON and resumed after an upgrade. The
// fixtures in testdata/compat were stored by an earlier version while
// they waited, with outputs of every kind that leaves any; the current
// version must read them, go on to the end with the outputs intact, and
// write them back as they were.
func TestStoredExecutionsResume(t *testing.T) {
	tests := []struct {
		name string
		ev   func(x *engine.Execution) engine.Event
		want engine.Effect
	}{
		{"message", func(x *engine.Execution) engine.Event {
			return engine.Event{Kind: engine.EventTask, Task: &engine.TaskResult{ID: x.Wait.Task, Outcome: compiler.OutCompleted, Queue: "qq", Worker: "w9"}}
		}, engine.Effect{Kind: engine.EffectSend, Send: &engine.SendEffect{Text: "Ana hello gold got gold w9 en 1"}}},
		{"call", func(x *engine.Execution) engine.Event {
			return engine.Event{Kind: engine.EventResult, WaitID: x.Wait.ID, Result: &engine.Result{DialStatus: "answered", Duration: 40}}
		}, engine.Effect{Kind: engine.EffectVoice, Voice: &engine.VoiceEffect{Verb: "say", Text: "1 http://rec/1 answered"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := os.ReadFile("testdata/compat/" + tt.name + ".flow")
			if err != nil {
				t.Fatal(err)
			}
			prog := compile(t, string(src))
			stored, err := os.ReadFile("testdata/compat/" + tt.name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var x engine.Execution
			if err := json.Unmarshal(stored, &x); err != nil {
				t.Fatalf("stored execution does not load: %v", err)
			}
			again, err := json.MarshalIndent(&x, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(again, '\n'), stored) {
				t.Errorf("stored execution written back differs:\n%s", again)
			}
			ev := tt.ev(&x)
			ev.Now, ev.Contact = t0, compiler.Contact{ID: "c1", Name: "Ana"}
			next, effects, err := engine.Step(prog, &x, ev)
			if err != nil {
				t.Fatal(err)
			}
			if next.Status != engine.StatusEnded {
				t.Errorf("status %s (%s), want ended", next.Status, next.Error)
			}
			var got *engine.Effect
			for i := range effects {
				if effects[i].Kind == tt.want.Kind {
					got = &effects[i]
				}
			}
			if got == nil {
				t.Fatalf("no %s effect in %+v", tt.want.Kind, effects)
			}
			g, _ := json.Marshal(struct{ S, V any }{got.Send, got.Voice})
			w, _ := json.Marshal(struct{ S, V any }{tt.want.Send, tt.want.Voice})
			if !bytes.Equal(g, w) {
				t.Errorf("effect %s, want %s", g, w)
			}
		})
	}
}
