package effect_test

import (
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// An enqueue tells the customer "connecting you" through a notice row,
// except on a channel that shows no notices (Quiet) and on a call, whose
// caller hears the hold instead.
func TestEnqueueNotice(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		quiet   bool
		want    int
	}{
		{"a chat", "webchat", false, 1},
		{"a channel without notices", "webchat", true, 0},
		{"a call", "voice", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := &engine.Execution{ID: "x1", Flow: "f", Version: "v1", Status: engine.StatusWaiting,
				Frames: []*engine.Frame{{Flow: "f", State: 1}}}
			enq := engine.Effect{Kind: engine.EffectEnqueue, Key: "k1", Enqueue: &engine.EnqueueEffect{TaskID: "t1", Workflow: "w", Channel: "chat"}}
			u, _, err := effect.Plan(effect.Step{Execution: x, Effects: []engine.Effect{enq}, At: time.Unix(1, 0), Quiet: tt.quiet,
				Route: effect.Route{ConversationID: "c1", Channel: tt.channel, Connector: "webchat", Instance: "default"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Tasks) != 1 {
				t.Fatalf("tasks %+v, want the enqueued one", u.Tasks)
			}
			notices := 0
			for _, e := range u.Effects {
				if e.Kind == effect.KindNotice {
					notices++
				}
			}
			if notices != tt.want {
				t.Errorf("%d notice rows, want %d (effects %+v)", notices, tt.want, u.Effects)
			}
		})
	}
}
