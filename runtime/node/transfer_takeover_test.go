package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestLeaderTakeoverDuringWarmTransfer: the router a new leader rebuilds
// knows nothing of a warm transfer in progress, so the destination's
// pending offer is rescinded (not left pending, which nobody could
// answer), the transfer fails (task.transfer_failed to the worker who keeps
// the task), and the task stays assigned to that worker.
func TestLeaderTakeoverDuringWarmTransfer(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		a := newRigOn(t, st, routedFlow, nil)
		leaderA := runLeader(a.node)
		command(t, a.node, node.CmdPutWorker, node.CommandArgs{Worker: "ana", Attributes: json.RawMessage(`{"languages":["en"]}`),
			Activity: "available", Capacity: map[string]int{"chat": 1}})
		command(t, a.node, node.CmdPutWorker, node.CommandArgs{Worker: "budi", Attributes: json.RawMessage(`{"languages":["id"]}`),
			Activity: "available", Capacity: map[string]int{"chat": 1}})
		a.receive("m1", "c1", "hello", false)
		t1 := taskOf(t, st, "c1", store.TaskReserved)
		held := pending(t, st, t1.ID)
		command(t, a.node, node.CmdAccept, node.CommandArgs{Actor: "ana", Reservation: held.ID})
		command(t, a.node, node.CmdTransfer, node.CommandArgs{Actor: "ana", Task: t1.ID, ToWorker: "budi", Warm: true})
		offer := pending(t, st, t1.ID)
		if offer.WorkerID != "budi" {
			t.Fatalf("the warm transfer's offer %+v, want budi's", offer)
		}
		leaderA.stop()

		b, reopened := takeOver(t, st)
		rescinded, err := leavesPending(reopened, offer.ID)
		if err != nil || rescinded.Status != store.ReservationRescinded {
			t.Fatalf("the warm transfer's offer after the takeover: %+v %v", rescinded, err)
		}
		evs, _, err := reopened.ListRouterEvents(context.Background(), store.RouterEventFilter{WorkerID: "ana", TaskID: t1.ID}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		failed := slices.IndexFunc(evs, func(e store.RouterEvent) bool {
			return e.Type == "task.transfer_failed" && e.ReservationID == held.ID && reasonOf(e.Data) == "router restarted"
		})
		if failed < 0 {
			t.Fatalf("ana's events of the task have no task.transfer_failed of her reservation %s: %+v", held.ID, evs)
		}
		if got := taskOf(t, reopened, "c1", store.TaskAssigned); got.WorkerID != "ana" {
			t.Fatalf("the task after the takeover: %+v", got)
		}
		_, err = b.node.Command(context.Background(), node.CmdAccept, node.CommandArgs{Actor: "budi", Reservation: offer.ID}, 10*time.Second)
		var ce *node.CommandError
		if !errors.As(err, &ce) || ce.Code != "not_found" {
			t.Fatalf("accepting the rescinded offer: %v", err)
		}
		// The task is ana's to transfer again.
		command(t, b.node, node.CmdTransfer, node.CommandArgs{Actor: "ana", Task: t1.ID, ToWorker: "budi", Warm: true})
		command(t, b.node, node.CmdAccept, node.CommandArgs{Actor: "budi", Reservation: pending(t, reopened, t1.ID).ID})
		if got := taskOf(t, reopened, "c1", store.TaskAssigned); got.WorkerID != "budi" {
			t.Fatalf("the task after the second transfer: %+v", got)
		}
	})
}

// reasonOf reads an event's reason: its data is JSON, which PostgreSQL
// gives back in its own spacing.
func reasonOf(data []byte) string {
	var d struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	return d.Reason
}
