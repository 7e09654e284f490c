package webchat

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/fanout"
)

// TestRelayAcrossNodes: a reply sent by one node reaches a visitor whose
// page polls another, once; the visitor's own message is echoed on both.
func TestRelayAcrossNodes(t *testing.T) {
	relay := &fanout.Payloads{} // the relay of nodes in one process
	res := connectors.Resources{Relay: relay}
	a := newTest(t, connectors.Config{"secret": testSecret}, res)
	b := newTest(t, connectors.Config{"secret": testSecret}, res)
	visitor := newVisitorID()

	poll := func(c *Connector, want int) []Message {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			p, err := c.hub.poll(context.Background(), visitor, 0, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Messages) >= want || time.Now().After(deadline) {
				return p.Messages
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	if _, err := a.Send(context.Background(), &connectors.Outbound{Key: "k1", To: visitor, Text: "Hello from node A"}); err != nil {
		t.Fatal(err)
	}
	// A redelivery of the same reply (the outbox retried) is not shown twice.
	if _, err := b.Send(context.Background(), &connectors.Outbound{Key: "k1", To: visitor, Text: "Hello from node A"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Connector{a, b} {
		msgs := poll(c, 1)
		if len(msgs) != 1 || msgs[0].Text != "Hello from node A" || msgs[0].From != FromAgent {
			t.Fatalf("mailbox on %p: %+v", c, msgs)
		}
	}
	// The visitor writes through node B: node A's tabs see the echo.
	token := b.signer.token(visitor)
	if _, err := b.Receive(context.Background(), webhook(token, `{"id":"w1","text":"thanks"}`)); err != nil {
		t.Fatal(err)
	}
	if msgs := poll(a, 2); len(msgs) != 2 || msgs[1].Text != "thanks" || msgs[1].From != FromVisitor {
		t.Fatalf("echo on A: %+v", msgs)
	}
}
