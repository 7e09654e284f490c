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

// testTaskQuiet: a task keeps whether its channel shows notices, and the
// router's inbox reads it back.
func testTaskQuiet(t *testing.T, s store.Store) {
	c, cv := conv(t, s, "task-quiet")
	_, cv2 := conv(t, s, "task-loud")
	quiet := store.Task{ID: store.NewID(), ConversationID: cv.ID, ContactID: c.ID, Workflow: "support", Channel: "chat", Quiet: true}
	loud := store.Task{ID: store.NewID(), ConversationID: cv2.ID, ContactID: cv2.ContactID, Workflow: "support", Channel: "chat"}
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{quiet}}, &store.Unit{At: t0, Tasks: []store.Task{loud}}),
		store.Committed, store.Committed)
	if got := must[store.Task](t)(s.GetTask(ctx(t), quiet.ID)); !got.Quiet {
		t.Fatal("a quiet task read back as showing notices")
	}
	if got := must[store.Task](t)(s.GetTask(ctx(t), loud.ID)); got.Quiet {
		t.Fatal("a task read back as quiet")
	}
	in := must[store.Inbox](t)(s.RoutingInbox(ctx(t), 100))
	seen := 0
	for _, nt := range in.NewTasks {
		if nt.Task.ID == quiet.ID || nt.Task.ID == loud.ID {
			seen++
			if nt.Task.Quiet != (nt.Task.ID == quiet.ID) {
				t.Fatalf("inbox task %s quiet %v", nt.Task.ID, nt.Task.Quiet)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("the inbox held %d of the two tasks", seen)
	}
}

// testTaskReferences: a task naming a conversation, contact or execution
// that does not exist fails its unit alone, in a batch with good ones; a
// task naming the rows its own batch creates commits.
func testTaskReferences(t *testing.T, s store.Store) {
	c, cv := conv(t, s, "task-refs")
	ex := inbound(cv.ID, "task-refs-1", store.NewID(), 0)
	wantOutcomes(t, commit(t, s, ex), store.Committed)
	execID := ex.Execution.Execution.ID
	task := func(conv, contact, execution string) *store.Unit {
		return &store.Unit{At: t0, Tasks: []store.Task{{ID: store.NewID(), ConversationID: conv, ContactID: contact, ExecutionID: execution, Workflow: "support"}}}
	}
	fresh := identityUnit("task-refs-new")
	fresh.Tasks = []store.Task{{ID: store.NewID(), ConversationID: fresh.Conversation.ID, ContactID: fresh.Contact.ID,
		ExecutionID: fresh.Execution.Execution.ID, Workflow: "support"}}
	units := []*store.Unit{
		task("no-such-conversation", c.ID, execID),
		task(cv.ID, "no-such-contact", execID),
		task(cv.ID, c.ID, "no-such-execution"),
		fresh,
		task(cv.ID, c.ID, execID),
	}
	res := commit(t, s, units...)
	wantOutcomes(t, res, store.Failed, store.Failed, store.Failed, store.Committed, store.Committed)
	for i, u := range units {
		_, err := s.GetTask(ctx(t), u.Tasks[0].ID)
		if res[i].Outcome == store.Failed {
			isErr(t, err, store.ErrNotFound)
		} else {
			noErr(t, err)
		}
	}
}
