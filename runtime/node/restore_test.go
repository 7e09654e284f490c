package node_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// lastWorkerShown waits for a task's row to show task.last_worker and
// returns it ("" for a null one).
func lastWorkerShown(t *testing.T, st store.Store, id string) string {
	t.Helper()
	var attrs map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		tk, err := st.GetTask(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		attrs = nil
		if err := json.Unmarshal(tk.Attributes, &attrs); err != nil {
			t.Fatal(err)
		}
		if v, ok := attrs["last_worker"]; ok {
			s, _ := v.(string)
			return s
		}
	}
	t.Fatalf("task %s never showed task.last_worker: %v", id, attrs)
	return ""
}

// TestRestoreLastWorker: a new leader reads a contact's last worker only
// for the tasks no leader has routed; a task a leader routed shows it in
// its attributes already. The task it reads it for shows it from then on,
// as one routed the usual way does.
func TestRestoreLastWorker(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		a := newRigOn(t, st, routedFlow, nil)
		a.run()
		leaderA := runLeader(a.node)
		ana := func(activity string) {
			command(t, a.node, node.CmdPutWorker, node.CommandArgs{Worker: "ana", Attributes: json.RawMessage(`{"languages":["en"]}`),
				Activity: activity, Capacity: map[string]int{"chat": 1}})
		}
		ana("available")
		// Ana serves c1, whose flow then ends.
		a.receive("m1", "c1", "hello", false)
		t1 := taskOf(t, st, "c1", store.TaskReserved)
		command(t, a.node, node.CmdAccept, node.CommandArgs{Reservation: pending(t, st, t1.ID).ID})
		command(t, a.node, node.CmdComplete, node.CommandArgs{Actor: "ana", Task: t1.ID})
		a.waitSent(1)
		// With ana on a break, c2's task waits, routed by this leader.
		ana("break")
		a.receive("m2", "c2", "hello", false)
		t2 := taskOf(t, st, "c2", store.TaskWaiting)
		if got := lastWorkerShown(t, st, t2.ID); got != "" {
			t.Fatalf("c2's last worker %q, want none", got)
		}
		leaderA.stop()
		// No leader runs when c1 writes again: a task no leader has seen.
		a.receive("m3", "c1", "again", false)
		t3 := taskOf(t, st, "c1", store.TaskWaiting)

		reopened, err := st.(store.Reopener).Reopen(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reopened.Close() })
		counted := &countingStore{Store: reopened}
		b := newRigOn(t, counted, routedFlow, nil)
		t.Cleanup(runLeader(b.node).stop)
		if got := lastWorkerShown(t, reopened, t3.ID); got != "ana" {
			t.Errorf("c1's new task shows last worker %q after the restore, want ana", got)
		}
		if n := counted.lastWorkers.Load(); n != 1 {
			t.Errorf("the restore read a last worker %d times, want 1 (the task no leader had routed)", n)
		}
	})
}
