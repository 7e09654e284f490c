package sqlstore_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

func TestTabular(t *testing.T) {
	fresh := func(seq uint64) *store.Unit { return storetest.NewContactUnit(seq) }
	reply := func(conv, id string) *store.Unit {
		return &store.Unit{Messages: []store.Message{{ID: id, ConversationID: conv, Direction: store.Outbound}}}
	}
	tests := []struct {
		name  string
		units func() []*store.Unit
		skip  int // index of a unit left out, or -1
		want  bool
	}{
		{"independent new contacts", func() []*store.Unit { return []*store.Unit{fresh(1), fresh(2), fresh(10)} }, -1, true},
		{"a reply in a conversation an earlier unit opens", func() []*store.Unit {
			a := fresh(1)
			return []*store.Unit{a, reply(a.Conversation.ID, "m1")}
		}, -1, true},
		{"a reply in a conversation a later unit opens", func() []*store.Unit {
			a := fresh(1)
			return []*store.Unit{reply(a.Conversation.ID, "m1"), a}
		}, -1, false},
		{"one message id in two units", func() []*store.Unit {
			return []*store.Unit{reply("c1", "m1"), reply("c2", "m1")}
		}, -1, false},
		{"one message id twice, one unit left out", func() []*store.Unit {
			return []*store.Unit{reply("c1", "m1"), reply("c2", "m1")}
		}, 0, true},
		{"two executions of one conversation", func() []*store.Unit {
			a, b := fresh(1), fresh(2)
			b.Contact, b.Conversation = nil, nil
			b.Inbound.ConversationID, b.Execution.Execution.ConversationID = a.Conversation.ID, a.Conversation.ID
			b.Messages = nil
			return []*store.Unit{a, b}
		}, -1, false},
		{"a call's conversation beside others", func() []*store.Unit {
			a := fresh(1)
			a.Conversation.Beside = true
			return []*store.Unit{a}
		}, -1, false},
		{"one timer set by one unit and deleted by the next", func() []*store.Unit {
			return []*store.Unit{{Timers: []store.Timer{{ID: "t1"}}}, {DeleteTimers: []string{"t1"}}}
		}, -1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sqlstore.Tabular(tc.units(), func(i int) bool { return i == tc.skip }); got != tc.want {
				t.Fatalf("Tabular = %v, want %v", got, tc.want)
			}
		})
	}
}
