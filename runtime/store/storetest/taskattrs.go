package storetest

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// testTaskRoutingAttributes: a TaskRouting with Attributes replaces the
// task's (the router adds task.last_worker); one without keeps them.
func testTaskRoutingAttributes(t *testing.T, s store.Store) {
	c, cv := conv(t, s, "task-attrs")
	task := store.Task{ID: store.NewID(), ConversationID: cv.ID, ContactID: c.ID, Workflow: "support", Channel: "chat",
		Attributes: json.RawMessage(`{"language":"en"}`)}
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{task}}), store.Committed)
	attrsOf := func() map[string]any {
		t.Helper()
		got := must[store.Task](t)(s.GetTask(ctx(t), task.ID))
		var m map[string]any
		if err := json.Unmarshal(got.Attributes, &m); err != nil {
			t.Fatalf("attributes %s: %v", got.Attributes, err)
		}
		return m
	}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0, Tasks: []store.TaskRouting{{ID: task.ID, Status: store.TaskWaiting,
		Routed: store.RoutedLive, Attributes: json.RawMessage(`{"language":"en","last_worker":"ana"}`)}}}))
	if m := attrsOf(); m["last_worker"] != "ana" || m["language"] != "en" {
		t.Fatalf("attributes after routing %v", m)
	}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0, Tasks: []store.TaskRouting{{ID: task.ID, Status: store.TaskReserved,
		WorkerID: "ana", Routed: store.RoutedLive}}}))
	if m := attrsOf(); m["last_worker"] != "ana" || m["language"] != "en" {
		t.Fatalf("attributes after a write without them %v", m)
	}
}
