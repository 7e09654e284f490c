package node_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestReceiveUncleanText: a message with NUL and invalid UTF-8 (a
// form-encoded webhook can carry any bytes) in its text, sender, name and
// attributes is taken on both stores, the flow sees it as stored (U+FFFD
// in place of each), and the next message from the same sender finds the
// same contact and conversation.
func TestReceiveUncleanText(t *testing.T) {
	const flow = `
flow echo {
  start: ask "${message.text}|${message.attributes.note}" {
    timeout 5m -> done
    reply -> again
  }
  again: send "${message.text}" -> done
}
`
	eachStore(t, func(t *testing.T, st store.Store) {
		r := newRigOn(t, st, flow, nil)
		in := connectors.Inbound{PlatformID: "p\x00", Channel: "webchat", From: "caf\xe9\x00", FromName: "Zo\xeb",
			Text: "a\x00b\xff", Attributes: map[string]any{"note": "x\x00", "k\xff": []any{"y\xfe"}}}
		// The second message answers the ask: the flow goes on in the same
		// execution, where message is still the first one.
		for _, want := range []string{"a\uFFFDb\uFFFD|x\uFFFD", "a\uFFFDb\uFFFD"} {
			re, err := r.node.Receive(context.Background(), "fake", "default", in, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(re.Replies) != 1 || re.Replies[0].Text != want || re.Replies[0].To != "caf\uFFFD\uFFFD" {
				t.Fatalf("replies %+v, want %q to the cleaned sender", re.Replies, want)
			}
			in.PlatformID, in.Text = "p2", "2\x00"
		}
		c, err := st.LookupContact(context.Background(), "webchat", "caf\uFFFD\uFFFD")
		if err != nil || c.Name != "Zo\uFFFD" {
			t.Fatalf("contact %+v (%v)", c, err)
		}
		convs, _, err := st.ListConversations(context.Background(), store.ConversationFilter{ContactID: c.ID}, store.Page{})
		if err != nil || len(convs) != 1 {
			t.Fatalf("conversations %+v (%v)", convs, err)
		}
		msgs, _, err := st.ListMessages(context.Background(), convs[0].ID, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range msgs {
			texts = append(texts, m.Text)
		}
		if want := []string{"a\uFFFDb\uFFFD", "a\uFFFDb\uFFFD|x\uFFFD", "2\uFFFD", "a\uFFFDb\uFFFD"}; len(texts) != len(want) ||
			texts[0] != want[0] || texts[1] != want[1] || texts[2] != want[2] || texts[3] != want[3] {
			t.Fatalf("stored texts %q, want %q", texts, want)
		}
		if _, err := st.FindMessage(context.Background(), "fake", "default", "p\uFFFD"); err != nil {
			t.Fatalf("the first message by its cleaned platform id: %v", err)
		}
	})
}
