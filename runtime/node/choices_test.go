package node_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

const languageChoice = `
flow language {
  pick: ask "Which language?" {
    choices [{id: "en", title: "English"}, {id: "id", title: "Bahasa Indonesia"}]
    timeout 5m -> done
    reply.choice == "en" -> english
    reply.choice == "id" -> bahasa
    reply -> done
  }
  english: send "English it is" -> done
  bahasa: send "Terima kasih" { choices ["Bagus", "Oke"] } -> done
}
`

// The choices reach the inline reply (and its replay) unfolded: the
// server folds them for the connector that answers. A tap comes back as
// Inbound.Choice and takes the guard, whatever its text; the outbox's send, to a connector
// without buttons, is folded into a numbered menu.
func TestChoicesThroughTheNode(t *testing.T) {
	r := newRig(t, languageChoice, nil)
	r.run()
	want := []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}
	re := r.receive("m1", "alice", "hello", true)
	if len(re.Replies) != 1 || re.Replies[0].Text != "Which language?" || !reflect.DeepEqual(re.Replies[0].Choices, want) {
		t.Fatalf("reaction %+v", re.Replies)
	}
	again := r.receive("m1", "alice", "hello", true)
	if len(again.Replies) != 1 || !reflect.DeepEqual(again.Replies[0].Choices, want) {
		t.Fatalf("the replayed answer lost its choices: %+v", again.Replies)
	}
	_, err := r.node.Receive(context.Background(), "fake", "default",
		connectors.Inbound{PlatformID: "m2", Channel: "webchat", From: "alice", Text: "Indonesian", Choice: "id"}, false)
	if err != nil {
		t.Fatal(err)
	}
	sent := r.waitSent(1)
	if got := sent[0].Text; got != "Terima kasih\n1. Bagus\n2. Oke" || sent[0].Choices != nil {
		t.Errorf("sent %q with choices %+v, want the numbered menu", got, sent[0].Choices)
	}
}
