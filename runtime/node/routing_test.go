package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

const routedFlow = `
flow chat {
  start: enqueue chat_routing {
    attributes {language: "en"}
    canceled -> done
  } -> thanks
  thanks: send "Thanks for waiting, ${start.task.worker}" -> done
}
queue english { workers "en" in worker.languages }
workflow chat_routing { default english }
`

// leaderRun is one RunRouter loop that can be stopped.
type leaderRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func runLeader(n *node.Node) *leaderRun {
	ctx, cancel := context.WithCancel(context.Background())
	l := &leaderRun{cancel: cancel, done: make(chan struct{})}
	go func() { n.RunRouter(ctx); close(l.done) }()
	return l
}

func (l *leaderRun) stop() { l.cancel(); <-l.done }

// takeOver starts another node, with its own leader, on st's database: the
// node that takes over once the first node's leader has stopped.
func takeOver(t *testing.T, st store.Store) (*rig, store.Store) {
	t.Helper()
	reopened, err := st.(store.Reopener).Reopen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reopened.Close() })
	b := newRigOn(t, reopened, routedFlow, nil)
	t.Cleanup(runLeader(b.node).stop)
	return b, reopened
}

// leavesPending waits up to ten seconds for reservation id to leave
// pending, and returns it as it then stands.
func leavesPending(st store.Store, id string) (store.Reservation, error) {
	var r store.Reservation
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if r, err = st.GetReservation(context.Background(), id); err != nil || r.Status != store.ReservationPending {
			break
		}
	}
	return r, err
}

func command(t *testing.T, n *node.Node, kind string, args node.CommandArgs) json.RawMessage {
	t.Helper()
	res, err := n.Command(context.Background(), kind, args, 10*time.Second)
	if err != nil {
		t.Fatalf("%s %+v: %v", kind, args, err)
	}
	return res
}

// taskOf waits until the conversation of customer from has a task in one of
// the statuses and returns it.
func taskOf(t *testing.T, st store.Store, from string, statuses ...store.TaskStatus) store.Task {
	t.Helper()
	return taskOn(t, st, "webchat", from, statuses...)
}

// taskOn is taskOf for a customer on channel.
func taskOn(t *testing.T, st store.Store, channel, from string, statuses ...store.TaskStatus) store.Task {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last store.Task
	for time.Now().Before(deadline) {
		c, err := st.LookupContact(context.Background(), channel, from)
		if err == nil {
			for _, status := range []store.TaskStatus{store.TaskWaiting, store.TaskReserved, store.TaskAssigned, store.TaskWrapping, store.TaskCompleted, store.TaskCanceled} {
				tasks, _, _ := st.ListTasks(context.Background(), status, store.Page{Limit: store.MaxPageLimit})
				for _, tk := range tasks {
					if tk.ContactID != c.ID {
						continue
					}
					last = tk
					for _, want := range statuses {
						if tk.Status == want {
							return tk
						}
					}
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the task of %s never reached %v (last %+v)", from, statuses, last)
	return last
}

func pending(t *testing.T, st store.Store, taskID string) store.Reservation {
	t.Helper()
	rs, err := st.ListReservations(context.Background(), store.ReservationFilter{TaskID: taskID, Status: store.ReservationPending})
	if err != nil || len(rs) != 1 {
		t.Fatalf("pending reservations of %s: %+v %v", taskID, rs, err)
	}
	return rs[0]
}

// TestLeaderTakeover: a new leader rebuilds the router from the store.
// Assigned tasks stay with their workers, a pending offer is rescinded and
// made again, waiting tasks keep waiting, and everything goes on.
func TestLeaderTakeover(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		a := newRigOn(t, st, routedFlow, nil)
		leaderA := runLeader(a.node)
		for _, w := range []string{"ana", "budi"} {
			command(t, a.node, node.CmdPutWorker, node.CommandArgs{Worker: w, Attributes: json.RawMessage(`{"languages":["en"]}`),
				Activity: "available", Capacity: map[string]int{"chat": 1}})
		}
		a.receive("m1", "c1", "hello", false)
		t1 := taskOf(t, st, "c1", store.TaskReserved)
		command(t, a.node, node.CmdAccept, node.CommandArgs{Reservation: pending(t, st, t1.ID).ID})
		t1 = taskOf(t, st, "c1", store.TaskAssigned)
		a.receive("m2", "c2", "hello", false)
		t2 := taskOf(t, st, "c2", store.TaskReserved)
		offered := pending(t, st, t2.ID)
		a.receive("m3", "c3", "hello", false)
		t3 := taskOf(t, st, "c3", store.TaskWaiting)
		if t1.WorkerID == offered.WorkerID {
			t.Fatalf("both tasks went to %s", t1.WorkerID)
		}
		leaderA.stop()

		// Another node on the same database takes over.
		b, reopened := takeOver(t, st)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go b.node.Run(ctx, 2)

		// The new leader's first act: the old leader's offer is rescinded.
		rescinded, err := leavesPending(reopened, offered.ID)
		if err != nil || rescinded.Status != store.ReservationRescinded {
			t.Fatalf("the old leader's offer: %+v %v", rescinded, err)
		}
		if got := taskOf(t, reopened, "c1", store.TaskAssigned); got.WorkerID != t1.WorkerID {
			t.Fatalf("assigned task after takeover: %+v", got)
		}
		again := taskOf(t, reopened, "c2", store.TaskReserved)
		if re := pending(t, reopened, again.ID); re.ID == offered.ID || re.WorkerID != offered.WorkerID {
			t.Fatalf("offered again: %+v (before: %+v)", re, offered)
		}
		if got := taskOf(t, reopened, "c3", store.TaskWaiting); got.ID != t3.ID {
			t.Fatalf("waiting task %+v", got)
		}

		// The assigned worker completes: its flow goes on, and the waiting
		// task is offered to it at once.
		assigned := taskOf(t, reopened, "c1", store.TaskAssigned)
		command(t, b.node, node.CmdComplete, node.CommandArgs{Actor: assigned.WorkerID, Task: assigned.ID})
		if got := taskOf(t, reopened, "c3", store.TaskReserved); got.WorkerID != assigned.WorkerID {
			t.Fatalf("the freed worker %s did not get the waiting task: %+v", assigned.WorkerID, got)
		}
		sent := b.waitSent(1)
		if sent[0].Text != "Thanks for waiting, "+assigned.WorkerID || sent[0].To != "c1" {
			t.Fatalf("sent %+v", sent)
		}

		// Refusals are typed for the API.
		_, err = b.node.Command(context.Background(), node.CmdComplete, node.CommandArgs{Actor: "budi", Task: "nope"}, 10*time.Second)
		var ce *node.CommandError
		if !errors.As(err, &ce) || ce.Code != "not_found" {
			t.Fatalf("completing an unknown task: %v", err)
		}
		r3 := pending(t, reopened, t3.ID)
		other := map[string]string{"ana": "budi", "budi": "ana"}[r3.WorkerID]
		_, err = b.node.Command(context.Background(), node.CmdAccept, node.CommandArgs{Actor: other, Reservation: r3.ID}, 10*time.Second)
		if !errors.As(err, &ce) || ce.Code != "forbidden" {
			t.Fatalf("accepting another worker's reservation: %v", err)
		}
	})
}
