package storetest

import (
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// testDesk: notes on tasks, canned responses, and which contacts and
// tasks a worker served.
func testDesk(t *testing.T, s store.Store) {
	c, cv := conv(t, s, "desk")
	other, ocv := conv(t, s, "desk-other")
	task := store.Task{ID: store.NewID(), ConversationID: cv.ID, ContactID: c.ID, Workflow: "support", Channel: "chat"}
	older := store.Task{ID: store.NewID(), ConversationID: ocv.ID, ContactID: other.ID, Workflow: "support", Channel: "chat"}
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{task, older}}), store.Committed)
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0, Workers: []store.Worker{{ID: "wd1", Activity: "available"}, {ID: "wd2", Activity: "available"}}}))

	// Notes: the task's conversation and contact are taken from the task.
	n1 := must[store.TaskNote](t)(s.AddTaskNote(ctx(t), store.TaskNote{TaskID: task.ID, WorkerID: "wd1", Kind: store.NoteInternal, Text: "asked twice \x00 already", CreatedAt: t0}))
	if n1.ID == "" || n1.ConversationID != cv.ID || n1.ContactID != c.ID || n1.Text != "asked twice \uFFFD already" || n1.Kind != store.NoteInternal {
		t.Fatalf("note %+v", n1)
	}
	timeEq(t, "note CreatedAt", n1.CreatedAt, t0)
	n2 := must[store.TaskNote](t)(s.AddTaskNote(ctx(t), store.TaskNote{TaskID: task.ID, WorkerID: "wd1", Kind: store.NoteWrapUp, Disposition: "resolved", Text: "refund sent", CreatedAt: t0.Add(time.Second)}))
	if n2.Disposition != "resolved" || n2.Kind != store.NoteWrapUp {
		t.Fatalf("wrap-up %+v", n2)
	}
	_, err := s.AddTaskNote(ctx(t), store.TaskNote{TaskID: "no-such-task", Kind: store.NoteInternal, Text: "x"})
	isErr(t, err, store.ErrNotFound)
	_, err = s.AddTaskNote(ctx(t), store.TaskNote{TaskID: task.ID, Kind: "shout", Text: "x"})
	isErr(t, err, store.ErrInvalid)
	notes := must[[]store.TaskNote](t)(s.ListTaskNotes(ctx(t), store.NoteFilter{TaskID: task.ID}))
	if len(notes) != 2 || notes[0].ID != n1.ID || notes[1].ID != n2.ID {
		t.Fatalf("notes of the task %+v", notes)
	}
	if notes = must[[]store.TaskNote](t)(s.ListTaskNotes(ctx(t), store.NoteFilter{ContactID: other.ID})); len(notes) != 0 {
		t.Fatalf("notes of another contact %+v", notes)
	}
	// A merged contact's notes come with the contact kept.
	noErr(t, s.LinkContacts(ctx(t), other.ID, c.ID))
	if notes = must[[]store.TaskNote](t)(s.ListTaskNotes(ctx(t), store.NoteFilter{ContactID: other.ID})); len(notes) != 2 {
		t.Fatalf("notes of the contact kept after a merge: %+v", notes)
	}
	_, err = s.ListTaskNotes(ctx(t), store.NoteFilter{})
	isErr(t, err, store.ErrInvalid)

	// Canned responses: created, replaced, listed by title, deleted.
	greet := must[store.CannedResponse](t)(s.PutCannedResponse(ctx(t), store.CannedResponse{Title: "Greeting", Text: "Hi {{contact.name}}, I am {{worker.name}}.", UpdatedAt: t0}))
	bye := must[store.CannedResponse](t)(s.PutCannedResponse(ctx(t), store.CannedResponse{ID: "bye", Title: "  Bye ", Text: "Bye!", UpdatedAt: t0}))
	if greet.ID == "" || bye.ID != "bye" || bye.Title != "Bye" {
		t.Fatalf("canned responses %+v %+v", greet, bye)
	}
	timeEq(t, "canned CreatedAt", greet.CreatedAt, t0)
	bye = must[store.CannedResponse](t)(s.PutCannedResponse(ctx(t), store.CannedResponse{ID: "bye", Title: "Bye", Text: "Goodbye!", UpdatedAt: t0.Add(time.Minute)}))
	if bye.Text != "Goodbye!" {
		t.Fatalf("replaced %+v", bye)
	}
	timeEq(t, "replaced CreatedAt", bye.CreatedAt, t0)
	timeEq(t, "replaced UpdatedAt", bye.UpdatedAt, t0.Add(time.Minute))
	list := must[[]store.CannedResponse](t)(s.ListCannedResponses(ctx(t)))
	if len(list) != 2 || list[0].ID != "bye" || list[1].ID != greet.ID {
		t.Fatalf("canned list %+v", list)
	}
	_, err = s.PutCannedResponse(ctx(t), store.CannedResponse{Title: "", Text: "x"})
	isErr(t, err, store.ErrInvalid)
	noErr(t, s.DeleteCannedResponse(ctx(t), "bye"))
	isErr(t, s.DeleteCannedResponse(ctx(t), "bye"), store.ErrNotFound)
	_, err = s.GetCannedResponse(ctx(t), "bye")
	isErr(t, err, store.ErrNotFound)

	// Served: an accepted reservation serves; a pending or rejected one does not.
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0.Add(2 * time.Second), Reservations: []store.Reservation{
		{ID: "rd1", TaskID: task.ID, WorkerID: "wd1", Status: store.ReservationAccepted},
		{ID: "rd2", TaskID: task.ID, WorkerID: "wd2", Status: store.ReservationRejected},
		{ID: "rd3", TaskID: older.ID, WorkerID: "wd1", Status: store.ReservationPending},
	}}))
	for _, tc := range []struct {
		worker, contact string
		want            bool
	}{
		{"wd1", c.ID, true},
		{"wd1", other.ID, true}, // c was merged into other
		{"wd2", c.ID, false},
		{"nobody", c.ID, false},
	} {
		if got := must[bool](t)(s.ServedContact(ctx(t), tc.worker, tc.contact)); got != tc.want {
			t.Errorf("ServedContact(%s, %s) = %v", tc.worker, tc.contact, got)
		}
	}
	ts := must[[]store.Task](t)(s.WorkerTasks(ctx(t), "wd1", 10))
	if len(ts) != 1 || ts[0].ID != task.ID {
		t.Fatalf("tasks of wd1 %+v", ts)
	}
	if ts = must[[]store.Task](t)(s.WorkerTasks(ctx(t), "wd2", 10)); len(ts) != 0 {
		t.Fatalf("tasks of wd2 %+v", ts)
	}
}
