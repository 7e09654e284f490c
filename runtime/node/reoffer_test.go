package node_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/leader/policy"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestReofferAfterRejection: a task its only eligible worker rejected
// waits, then goes back to that worker once the re-offer time has passed,
// instead of waiting unseen for the flow's timeout.
func TestReofferAfterRejection(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		r := newRigOn(t, st, routedFlow, nil)
		t.Cleanup(runLeader(r.node).stop)
		command(t, r.node, node.CmdPutWorker, node.CommandArgs{Worker: "ana", Attributes: json.RawMessage(`{"languages":["en"]}`),
			Activity: "available", Capacity: map[string]int{"chat": 1}})
		r.receive("m1", "c1", "hello", false)
		task := taskOf(t, st, "c1", store.TaskReserved)
		first := pending(t, st, task.ID)
		command(t, r.node, node.CmdReject, node.CommandArgs{Actor: "ana", Reservation: first.ID})
		task = taskOf(t, st, "c1", store.TaskWaiting)

		// Rounds of the leader before the time is up change nothing.
		r.clock.advance(policy.DefaultReofferAfter - time.Second)
		time.Sleep(1500 * time.Millisecond) // the leader wakes at least once a second
		if got := taskOf(t, st, "c1", store.TaskWaiting, store.TaskReserved); got.Status != store.TaskWaiting {
			t.Fatalf("offered again before the re-offer time: %+v", got)
		}

		r.clock.advance(time.Second)
		task = taskOf(t, st, "c1", store.TaskReserved)
		again := pending(t, st, task.ID)
		if again.WorkerID != "ana" || again.ID == first.ID {
			t.Fatalf("offered again: %+v (first %+v)", again, first)
		}
		evs, _, err := st.ListRouterEvents(context.Background(), store.RouterEventFilter{TaskID: task.ID}, store.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var created int
		for _, e := range evs {
			if e.Type == "reservation.created" {
				created++
			}
		}
		if created != 2 {
			t.Fatalf("reservation.created %d times in %+v", created, evs)
		}
	})
}
