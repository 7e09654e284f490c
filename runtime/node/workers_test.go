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

// TestWorkerDeletedAndCreatedInOneRound checks what the store keeps when
// one leader round deletes a worker and creates one with the same id, or
// the other way round: the round's last word, and a created worker is a new
// one, without the old one's tokens.
func TestWorkerDeletedAndCreatedInOneRound(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := newRigOn(t, st, routedFlow, nil)
		leader := runLeader(r.node)
		command(t, r.node, node.CmdPutWorker, node.CommandArgs{Worker: "bob"})
		if err := st.CreateToken(ctx, store.Token{Hash: "h-bob", Role: store.RoleWorker, Subject: "bob"}); err != nil {
			t.Fatal(err)
		}
		leader.stop()

		// Queued while no leader runs, the commands are applied in one round.
		var seqs []int64
		for _, c := range []struct{ kind, worker string }{
			{node.CmdDeleteWorker, "bob"}, {node.CmdPutWorker, "bob"},
			{node.CmdPutWorker, "carl"}, {node.CmdDeleteWorker, "carl"},
		} {
			args, _ := json.Marshal(node.CommandArgs{Worker: c.worker})
			seq, err := st.SubmitCommand(ctx, store.Command{Kind: c.kind, Args: args})
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, seq)
		}
		defer runLeader(r.node).stop()
		for _, seq := range seqs {
			var c store.Command
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				var err error
				if c, err = st.GetCommand(ctx, seq); err != nil || c.Status != store.CommandPending {
					break
				}
			}
			if c.Status != store.CommandDone {
				t.Fatalf("command %d: %+v", seq, c)
			}
		}

		if _, err := st.GetWorker(ctx, "bob"); err != nil {
			t.Errorf("bob, deleted then created: %v", err)
		}
		if _, err := st.LookupToken(ctx, "h-bob"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the old bob's token on the new bob: %v", err)
		}
		if w, err := st.GetWorker(ctx, "carl"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("carl, created then deleted: %+v %v", w, err)
		}
	})
}
