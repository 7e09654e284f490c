package node_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// noticed is a channel that shows notices: it keeps them.
type noticed struct {
	connectortest.Fake
	mu      sync.Mutex
	notices []connectors.Notice
}

func (n *noticed) Notify(_ context.Context, x *connectors.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notices = append(n.notices, *x)
	return nil
}

// wait waits for a notice of kind and returns it.
func (n *noticed) wait(t *testing.T, kind connectors.NoticeKind) connectors.Notice {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		n.mu.Lock()
		for _, x := range n.notices {
			if x.Kind == kind {
				n.mu.Unlock()
				return x
			}
		}
		n.mu.Unlock()
	}
	t.Fatalf("no %s notice; got %+v", kind, n.notices)
	return connectors.Notice{}
}

// runRouted runs a node of routedFlow on st, its outbox, timers and router
// leader too, with ch as its one channel, fake/default; all stop when the
// test ends. ctx is the node's.
func runRouted(t *testing.T, st store.Store, ch connectors.Connector) (*node.Node, context.Context) {
	t.Helper()
	n := startNode(t, routedFlow, node.Config{Store: st, RetryBase: time.Millisecond,
		Channels: map[string]connectors.Connector{"fake/default": ch}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx, 2); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	t.Cleanup(runLeader(n).stop)
	return n, ctx
}

// TestNotices: the customer's channel hears what happens to the
// conversation, on both stores: queued with its place while no agent is
// available, the agent joining with their name, typing, their replies
// signed, leaving when they complete, and the conversation closed; and the
// agent's stream hears the customer typing.
func TestNotices(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ch := &noticed{}
		n, ctx := runRouted(t, st, ch)

		command(t, n, node.CmdPutWorker, node.CommandArgs{Worker: "w1", Attributes: json.RawMessage(`{"languages":["en"],"name":"Ana"}`),
			Activity: "break", Capacity: map[string]int{"chat": 2}})
		if _, err := n.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: "m1", Channel: "webchat", From: "c1", Text: "help"}, false); err != nil {
			t.Fatal(err)
		}
		q := ch.wait(t, connectors.NoticeQueued)
		if q.Position != 1 || q.To != "c1" || q.Key == "" {
			t.Errorf("queued %+v, want the first in line", q)
		}

		command(t, n, node.CmdActivity, node.CommandArgs{Worker: "w1", Activity: "available"})
		tk := taskOf(t, st, "c1", store.TaskReserved)
		if tk.Quiet {
			t.Error("the task of a channel that shows notices is quiet")
		}
		command(t, n, node.CmdAccept, node.CommandArgs{Actor: "w1", Reservation: pending(t, st, tk.ID).ID})
		if j := ch.wait(t, connectors.NoticeJoined); j.Agent != "w1" || j.AgentName != "Ana" || j.ConversationID != tk.ConversationID {
			t.Errorf("joined %+v", j)
		}

		// The customer types: w1's streams hear it, nothing is stored.
		frames, stop := n.Signals("w1")
		defer stop()
		if _, err := n.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: "typing:c1", Channel: "webchat", From: "c1", Typing: true}, false); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-frames:
			var got map[string]string
			if json.Unmarshal(f, &got) != nil || got["type"] != "typing" || got["task_id"] != tk.ID || got["conversation_id"] != tk.ConversationID {
				t.Errorf("typing frame %s", f)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("w1 never heard the customer typing")
		}
		if _, err := st.FindMessage(ctx, "fake", "default", "typing:c1"); err == nil {
			t.Error("the customer's typing was stored as a message")
		}

		if err := n.AgentTyping(ctx, "w1", tk.ID); err != nil {
			t.Fatal(err)
		}
		if ty := ch.wait(t, connectors.NoticeTyping); ty.AgentName != "Ana" || ty.Key != "" {
			t.Errorf("typing %+v", ty)
		}
		if err := n.AgentTyping(ctx, "w2", tk.ID); err == nil {
			t.Error("another worker typed in w1's task")
		}
		if _, err := n.AgentReply(ctx, "w1", tk.ID, "Hi, I'm Ana"); err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
		sent, err := ch.WaitSent(wctx, 1)
		wcancel()
		if err != nil || sent[0].Agent != "w1" || sent[0].AgentName != "Ana" {
			t.Fatalf("the agent's reply: %v %+v", err, sent)
		}

		command(t, n, node.CmdComplete, node.CommandArgs{Actor: "w1", Task: tk.ID})
		if l := ch.wait(t, connectors.NoticeLeft); l.AgentName != "Ana" {
			t.Errorf("left %+v", l)
		}
		if err := n.CloseConversation(ctx, tk.ConversationID); err != nil {
			t.Fatal(err)
		}
		ch.wait(t, connectors.NoticeClosed)
	})
}

// TestQuietTasks: a task enqueued from a channel that shows no notices says
// so (the router writes such a task no joined or left notice).
func TestQuietTasks(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		n, ctx := runRouted(t, st, &connectortest.Fake{})

		command(t, n, node.CmdPutWorker, node.CommandArgs{Worker: "w1", Attributes: json.RawMessage(`{"languages":["en"]}`),
			Activity: "available", Capacity: map[string]int{"chat": 2}})
		if _, err := n.Receive(ctx, "fake", "default", connectors.Inbound{PlatformID: "m1", Channel: "webchat", From: "c1", Text: "help"}, false); err != nil {
			t.Fatal(err)
		}
		tk := taskOf(t, st, "c1", store.TaskReserved)
		if !tk.Quiet {
			t.Fatal("the task of a channel that shows no notices is not quiet")
		}
	})
}
