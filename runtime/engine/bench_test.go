package engine_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// BenchmarkConversation runs the support flow from the first message to
// the agent's completion: a switch, an ask, a guarded reply, a set, an
// enqueue and a send, over four events. Steps/s counts engine calls.
func BenchmarkConversation(b *testing.B) {
	prog, list := compiler.CompileSources([]compiler.Source{{Name: "t.flow", Src: []byte(support)}}, compiler.Options{})
	if prog == nil {
		b.Fatal(list)
	}
	ev := engine.Event{Now: t0, Env: map[string]string{"BOT_URL": "http://bot"}, Contact: compiler.Contact{ID: "c1", Name: "Ana"},
		Conversation: compiler.Conversation{ID: "conv1", Channel: "webchat"}}
	start := ev
	start.Kind, start.Message = engine.EventStart, &compiler.Message{ID: "m1", Channel: "webchat", Text: "live agent"}
	reply := ev
	reply.Kind, reply.Message = engine.EventInbound, &compiler.Message{ID: "m2", Text: "2"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, _, err := engine.Start(prog, "support", "x1", start)
		if err != nil {
			b.Fatal(err)
		}
		if x, _, err = engine.Step(prog, x, reply); err != nil {
			b.Fatal(err)
		}
		done := ev
		done.Kind, done.Task = engine.EventTask, &engine.TaskResult{ID: x.Wait.Task, Outcome: compiler.OutCompleted, Worker: "w1"}
		if x, _, err = engine.Step(prog, x, done); err != nil || x.Status != engine.StatusEnded {
			b.Fatal(err, x.Status)
		}
	}
	b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "events/s")
}
