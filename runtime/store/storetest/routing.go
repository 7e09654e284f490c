package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// testRouting covers the router leader's side of the store: workers, the
// inbox (commands, new tasks, tasks closed by their flow), ApplyRouting and
// the event log. Each step starts where the one before left the store, so a
// failed step ends the test.
func testRouting(t *testing.T, s store.Store) {
	r := &routingSuite{s: s}
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"Workers", r.workers},
		{"Commands", r.commands},
		{"NewTask", r.newTask},
		{"Canceled", r.canceled},
		{"LastWorker", r.lastWorker},
		{"Events", r.events},
		{"OutcomeTimer", r.outcomeTimer},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

// routingSuite is what testRouting's steps hand on: the contact of the
// routed tasks and the first of them, whose events the log is read by.
type routingSuite struct {
	s    store.Store
	c    store.Contact
	task store.Task
}

// Workers are written by the leader, read by everyone.
func (rt *routingSuite) workers(t *testing.T) {
	s := rt.s
	w1 := store.Worker{ID: "w1", Name: "Ana", Attributes: json.RawMessage(`{"languages":["en","id"]}`), Activity: "available", Capacity: map[string]int{"chat": 3, "voice": 1}}
	w2 := store.Worker{ID: "w2", Name: "Budi", Activity: "offline", Capacity: map[string]int{"chat": 1}}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0, Workers: []store.Worker{w1, w2}}))
	got := must[store.Worker](t)(s.GetWorker(ctx(t), "w1"))
	if got.Name != "Ana" || got.Activity != "available" || got.Capacity["chat"] != 3 || got.Capacity["voice"] != 1 {
		t.Fatalf("worker %+v", got)
	}
	jsonEq(t, got.Attributes, w1.Attributes)
	timeEq(t, "worker CreatedAt", got.CreatedAt, t0)
	w1.Activity = "break"
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0.Add(time.Second), Workers: []store.Worker{w1}}))
	got = must[store.Worker](t)(s.GetWorker(ctx(t), "w1"))
	if got.Activity != "break" {
		t.Fatalf("activity %q after update", got.Activity)
	}
	timeEq(t, "worker CreatedAt after update", got.CreatedAt, t0)
	timeEq(t, "worker UpdatedAt", got.UpdatedAt, t0.Add(time.Second))
	ws := must[[]store.Worker](t)(s.ListWorkers(ctx(t)))
	if len(ws) != 2 || ws[0].ID != "w1" || ws[1].ID != "w2" {
		t.Fatalf("workers %+v", ws)
	}
	jsonEq(t, ws[1].Attributes, json.RawMessage(`{}`))
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{DeleteWorkers: []string{"w2"}}))
	_, err := s.GetWorker(ctx(t), "w2")
	isErr(t, err, store.ErrNotFound)
}

// Commands: pending in order until applied, then with their result.
func (rt *routingSuite) commands(t *testing.T) {
	s := rt.s
	_, err := s.SubmitCommand(ctx(t), store.Command{})
	isErr(t, err, store.ErrInvalid)
	c1 := must[int64](t)(s.SubmitCommand(ctx(t), store.Command{Kind: "accept", Args: json.RawMessage(`{"reservation":"r1"}`)}))
	c2 := must[int64](t)(s.SubmitCommand(ctx(t), store.Command{Kind: "activity"}))
	in := must[store.Inbox](t)(s.RoutingInbox(ctx(t), 10))
	if len(in.Commands) != 2 || in.Commands[0].Seq != c1 || in.Commands[1].Seq != c2 || in.Commands[0].Status != store.CommandPending {
		t.Fatalf("inbox commands %+v", in.Commands)
	}
	jsonEq(t, in.Commands[0].Args, json.RawMessage(`{"reservation":"r1"}`))
	jsonEq(t, in.Commands[1].Args, json.RawMessage(`{}`))
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Commands: []store.Command{
		{Seq: c1, Status: store.CommandDone, Result: json.RawMessage(`{"ok":true}`)},
		{Seq: c2, Status: store.CommandFailed, Error: "unknown activity"},
	}}))
	done := must[store.Command](t)(s.GetCommand(ctx(t), c1))
	if done.Status != store.CommandDone || done.Kind != "accept" {
		t.Fatalf("command %+v", done)
	}
	jsonEq(t, done.Result, json.RawMessage(`{"ok":true}`))
	if failed := must[store.Command](t)(s.GetCommand(ctx(t), c2)); failed.Status != store.CommandFailed || failed.Error != "unknown activity" || failed.Result != nil {
		t.Fatalf("command %+v", failed)
	}
	_, err = s.GetCommand(ctx(t), c2+100)
	isErr(t, err, store.ErrNotFound)
}

// A flow's new task is in the inbox until the leader takes it.
func (rt *routingSuite) newTask(t *testing.T) {
	s := rt.s
	c, cv := conv(t, s, "routing")
	task := store.Task{ID: store.NewID(), ConversationID: cv.ID, ContactID: c.ID, Workflow: "support", Priority: 5, Channel: "chat"}
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{task}}), store.Committed)
	in := must[store.Inbox](t)(s.RoutingInbox(ctx(t), 10))
	if len(in.Commands) != 0 || len(in.NewTasks) != 1 || in.NewTasks[0].ID != task.ID || in.NewTasks[0].Priority != 5 || len(in.Closed) != 0 {
		t.Fatalf("inbox %+v", in)
	}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0.Add(2 * time.Second),
		Tasks:        []store.TaskRouting{{ID: task.ID, Status: store.TaskReserved, Queue: "english", WorkerID: "w1", Routed: store.RoutedLive}},
		Reservations: []store.Reservation{{ID: "r1", TaskID: task.ID, WorkerID: "w1", Status: store.ReservationPending}},
		Events: []store.RouterEvent{
			{Type: "task.queued", TaskID: task.ID, Queue: "english"},
			{Type: "reservation.created", Time: t0.Add(2 * time.Second), TaskID: task.ID, ReservationID: "r1", WorkerID: "w1", Queue: "english", Data: json.RawMessage(`{"channel":"chat"}`)},
		},
	}))
	gt := must[store.Task](t)(s.GetTask(ctx(t), task.ID))
	if gt.Status != store.TaskReserved || gt.Queue != "english" || gt.WorkerID != "w1" {
		t.Fatalf("task after routing %+v", gt)
	}
	if in = must[store.Inbox](t)(s.RoutingInbox(ctx(t), 10)); len(in.NewTasks)+len(in.Closed)+len(in.Commands) != 0 {
		t.Fatalf("inbox after routing %+v", in)
	}
	r := must[store.Reservation](t)(s.GetReservation(ctx(t), "r1"))
	if r.Status != store.ReservationPending || r.WorkerID != "w1" || r.TaskID != task.ID {
		t.Fatalf("reservation %+v", r)
	}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Reservations: []store.Reservation{{ID: "r1", TaskID: task.ID, WorkerID: "w1", Status: store.ReservationAccepted}}}))
	rs := must[[]store.Reservation](t)(s.ListReservations(ctx(t), store.ReservationFilter{WorkerID: "w1", Status: store.ReservationAccepted}))
	if len(rs) != 1 || rs[0].ID != "r1" {
		t.Fatalf("reservations %+v", rs)
	}
	if rs = must[[]store.Reservation](t)(s.ListReservations(ctx(t), store.ReservationFilter{WorkerID: "w2"})); len(rs) != 0 {
		t.Fatalf("reservations of w2 %+v", rs)
	}
	rt.c, rt.task = c, task
}

// The flow cancels it (its enqueue timed out): the leader finds it, and
// its stale view never reopens the task, which keeps its router channel.
func (rt *routingSuite) canceled(t *testing.T) {
	s, task := rt.s, rt.task
	wantOutcomes(t, commit(t, s, &store.Unit{TaskUpdates: []store.TaskUpdate{{ID: task.ID, Status: store.TaskCanceled}}}), store.Committed)
	in := must[store.Inbox](t)(s.RoutingInbox(ctx(t), 10))
	if len(in.Closed) != 1 || in.Closed[0].ID != task.ID || in.Closed[0].Status != store.TaskCanceled {
		t.Fatalf("inbox closed %+v", in.Closed)
	}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Tasks: []store.TaskRouting{{ID: task.ID, Status: store.TaskAssigned, WorkerID: "w1", Routed: store.RoutedClosed}}}))
	gt := must[store.Task](t)(s.GetTask(ctx(t), task.ID))
	if gt.Status != store.TaskCanceled {
		t.Fatalf("a canceled task became %q", gt.Status)
	}
	if in = must[store.Inbox](t)(s.RoutingInbox(ctx(t), 10)); len(in.Closed) != 0 {
		t.Fatalf("inbox closed after the leader saw it %+v", in.Closed)
	}
	if gt.Channel != "chat" {
		t.Fatalf("task channel %q", gt.Channel)
	}
}

// A task completed by w1 makes w1 the contact's last worker, which the
// leader reads with the contact's next task.
func (rt *routingSuite) lastWorker(t *testing.T) {
	s, c := rt.s, rt.c
	cv2 := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "sms", "default"))
	done2 := store.Task{ID: store.NewID(), ConversationID: cv2.ID, ContactID: c.ID, Workflow: "support"}
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{done2}}), store.Committed)
	if last := must[string](t)(s.LastWorker(ctx(t), c.ID)); last != "" {
		t.Fatalf("last worker before any completion: %q", last)
	}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Tasks: []store.TaskRouting{{ID: done2.ID, Status: store.TaskCompleted, WorkerID: "w1", Routed: store.RoutedClosed}}}))
	if last := must[string](t)(s.LastWorker(ctx(t), c.ID)); last != "w1" {
		t.Fatalf("last worker %q, want w1", last)
	}
	cv3 := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "whatsapp", "default"))
	third := store.Task{ID: store.NewID(), ConversationID: cv3.ID, ContactID: c.ID, Workflow: "support", Channel: "voice"}
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{third}}), store.Committed)
	in := must[store.Inbox](t)(s.RoutingInbox(ctx(t), 10))
	if len(in.NewTasks) != 1 || in.NewTasks[0].ID != third.ID || in.NewTasks[0].LastWorker != "w1" || in.NewTasks[0].Channel != "voice" {
		t.Fatalf("new task %+v", in.NewTasks)
	}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Tasks: []store.TaskRouting{{ID: third.ID, Status: store.TaskWaiting, Routed: store.RoutedLive}}}))
}

// The event log, by worker and task, paged.
func (rt *routingSuite) events(t *testing.T) {
	s, task := rt.s, rt.task
	noErr(t, s.AppendRouterEvents(ctx(t), []store.RouterEvent{{Type: "conversation.message", TaskID: task.ID, WorkerID: "w1", Data: json.RawMessage(`{"text":"hi"}`)}}))
	evs, next := must2[[]store.RouterEvent](t)(s.ListRouterEvents(ctx(t), store.RouterEventFilter{WorkerID: "w1"}, store.Page{Limit: 1}))
	if len(evs) != 1 || evs[0].Type != "reservation.created" || evs[0].ReservationID != "r1" || next == "" {
		t.Fatalf("events page 1 %+v next %q", evs, next)
	}
	timeEq(t, "event time", evs[0].Time, t0.Add(2*time.Second))
	jsonEq(t, evs[0].Data, json.RawMessage(`{"channel":"chat"}`))
	evs, next = must2[[]store.RouterEvent](t)(s.ListRouterEvents(ctx(t), store.RouterEventFilter{WorkerID: "w1"}, store.Page{After: next, Limit: 5}))
	if len(evs) != 1 || evs[0].Type != "conversation.message" || next != "" || evs[0].Seq <= 0 {
		t.Fatalf("events page 2 %+v next %q", evs, next)
	}
	all, _ := must2[[]store.RouterEvent](t)(s.ListRouterEvents(ctx(t), store.RouterEventFilter{TaskID: task.ID}, store.Page{}))
	if len(all) != 3 || all[0].Type != "task.queued" || all[0].Data != nil || !(all[0].Seq < all[1].Seq && all[1].Seq < all[2].Seq) {
		t.Fatalf("task events %+v", all)
	}
	timeEq(t, "event default time", all[0].Time, t0.Add(2*time.Second))
}

// A task's outcome reaches its flow as a timer, written once.
func (rt *routingSuite) outcomeTimer(t *testing.T) {
	s, task := rt.s, rt.task
	tm := store.Timer{ID: "task:" + task.ID, FireAt: t0, Payload: json.RawMessage(`{"a":1}`)}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Timers: []store.Timer{tm}}))
	tm.Payload = json.RawMessage(`{"a":2}`)
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Timers: []store.Timer{tm}}))
	due := must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "n1", t0.Add(time.Minute), 10, time.Minute))
	if len(due) != 1 || string(due[0].Payload) != `{"a":1}` {
		t.Fatalf("timers %+v", due)
	}
}

func must2[T any](t testing.TB) func(v T, s string, err error) (T, string) {
	return func(v T, s string, err error) (T, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, s
	}
}

// testLeadership: one leader per name across handles; releasing hands over.
func testLeadership(t *testing.T, s store.Store) {
	l1, ok := s.(store.Leaser)
	if !ok {
		t.Skip("store does not implement store.Leaser")
	}
	l2 := reopen(t, s).(store.Leaser)
	lease, ok, err := l1.TryLead(ctx(t), "router")
	noErr(t, err)
	if !ok {
		t.Fatal("the first TryLead did not lead")
	}
	if _, ok, err := l2.TryLead(ctx(t), "router"); err != nil || ok {
		t.Fatalf("a second handle leads too (ok=%v, err=%v)", ok, err)
	}
	other, ok, err := l2.TryLead(ctx(t), "other")
	if err != nil || !ok {
		t.Fatalf("another name: ok=%v err=%v", ok, err)
	}
	other.Release()
	lease.Release()
	select {
	case <-lease.Lost():
	default:
		t.Fatal("Lost is not closed after Release")
	}
	lease2, ok, err := l2.TryLead(ctx(t), "router")
	if err != nil || !ok {
		t.Fatalf("after release: ok=%v err=%v", ok, err)
	}

	// Fencing: the first leadership's writes are refused once another was
	// taken; the current one's pass.
	first, second := lease.Fence(), lease2.Fence()
	if first.Name != "router" || second.Epoch <= first.Epoch {
		t.Fatalf("fences %+v then %+v: epochs must grow", first, second)
	}
	stale := &store.RoutingWrite{Fence: &first, Events: []store.RouterEvent{{Type: "stale", WorkerID: "fenced"}}}
	isErr(t, s.ApplyRouting(ctx(t), stale), store.ErrFenced)
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Fence: &second, Events: []store.RouterEvent{{Type: "current", WorkerID: "fenced"}}}))
	evs, _ := must2[[]store.RouterEvent](t)(s.ListRouterEvents(ctx(t), store.RouterEventFilter{WorkerID: "fenced"}, store.Page{}))
	if len(evs) != 1 || evs[0].Type != "current" {
		t.Fatalf("events after fencing %+v", evs)
	}
	lease2.Release()
	lease2.Release() // twice is a no-op
}

// testNotify: a subscriber is woken by the leader's writes and by Notify.
func testNotify(t *testing.T, s store.Store) {
	n, ok := s.(store.Notifier)
	if !ok {
		t.Skip("store does not implement store.Notifier")
	}
	other := reopen(t, s).(store.Notifier)
	wake, cancel := other.Subscribe(store.TopicEvents, "")
	defer cancel()
	routerWake, cancelRouter := n.Subscribe(store.TopicRouter, "")
	defer cancelRouter()
	drain := func(ch <-chan struct{}) {
		// The subscription may start with a wake-up (missed notifications).
		select {
		case <-ch:
		case <-time.After(200 * time.Millisecond):
		}
	}
	drain(wake)
	drain(routerWake)
	waitWake := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no wake-up", what)
		}
	}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Events: []store.RouterEvent{{Type: "worker.activity", WorkerID: "w1"}}}))
	waitWake("ApplyRouting with events", wake)
	must[int64](t)(s.SubmitCommand(ctx(t), store.Command{Kind: "activity"}))
	waitWake("SubmitCommand", routerWake)
	noErr(t, n.Notify(ctx(t), store.TopicEvents))
	waitWake("Notify", wake)
}
