package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// testRoutingAnswer: a RoutingWrite's Answer sees its events with the seqs
// the log gave them, and what it puts in a command's result is what the
// command answers.
func testRoutingAnswer(t *testing.T, s store.Store) {
	seq := must[int64](t)(s.SubmitCommand(ctx(t), store.Command{Kind: "answer.test", Args: json.RawMessage(`{}`)}))
	rw := &store.RoutingWrite{At: t0,
		Events:   []store.RouterEvent{{Type: "answer.first", WorkerID: "w-answer"}, {Type: "answer.second", WorkerID: "w-answer"}},
		Commands: []store.Command{{Seq: seq, Status: store.CommandDone, Result: json.RawMessage(`{"events":[]}`)}}}
	var seen []int64
	rw.Answer = func() {
		seen = seen[:0]
		for _, e := range rw.Events {
			seen = append(seen, e.Seq)
		}
		b, _ := json.Marshal(map[string]any{"seqs": seen})
		rw.Commands[0].Result = b
	}
	noErr(t, s.ApplyRouting(ctx(t), rw))
	logged, _, err := s.ListRouterEvents(ctx(t), store.RouterEventFilter{WorkerID: "w-answer"}, store.Page{})
	noErr(t, err)
	var want []int64
	for _, e := range logged {
		want = append(want, e.Seq)
	}
	if len(want) != 2 || !slices.Equal(seen, want) || want[0] == 0 || want[1] <= want[0] {
		t.Fatalf("Answer saw seqs %v, the log has %v", seen, want)
	}
	c := must[store.Command](t)(s.GetCommand(ctx(t), seq))
	var got struct{ Seqs []int64 }
	if c.Status != store.CommandDone || json.Unmarshal(c.Result, &got) != nil || !slices.Equal(got.Seqs, want) {
		t.Fatalf("command %+v, want the seqs %v in its result", c, want)
	}
	// A write without events or commands still calls nothing it lacks.
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0}))
}
