package store_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

func TestFanoutParties(t *testing.T) {
	ana, budi := store.WorkerParty("ana"), store.WorkerParty("budi")
	cmd := store.CommandParty(7)
	tests := []struct {
		name  string
		about string
		woken map[string]bool // subscriber party → woken
	}{
		{"an event of ana", store.About([]store.RouterEvent{{WorkerID: "ana"}}, nil),
			map[string]bool{"": true, ana: true, budi: false, cmd: false}},
		{"the answer to command 7", store.About(nil, []store.Command{{Seq: 7}}),
			map[string]bool{"": true, ana: false, budi: false, cmd: true}},
		{"a task queued, nobody's", store.About([]store.RouterEvent{{TaskID: "t1"}}, nil),
			map[string]bool{"": true, ana: false, budi: false, cmd: false}},
		{"both workers and the command", store.About([]store.RouterEvent{{WorkerID: "budi"}, {WorkerID: "ana"}, {WorkerID: "ana"}}, []store.Command{{Seq: 7}}),
			map[string]bool{"": true, ana: true, budi: true, cmd: true}},
		{"everyone", "", map[string]bool{"": true, ana: true, budi: true, cmd: true}},
		{"too many to name: everyone", store.About(manyWorkers(2000), nil), map[string]bool{"": true, ana: true, budi: true, cmd: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f store.Fanout
			chans := map[string]<-chan struct{}{}
			for party := range tc.woken {
				ch, cancel := f.Subscribe(store.TopicEvents, party)
				defer cancel()
				chans[party] = ch
			}
			f.Notify(store.TopicEvents, tc.about)
			f.Notify(store.TopicRouter, "") // another topic wakes none of them
			for party, want := range tc.woken {
				got := false
				select {
				case <-chans[party]:
					got = true
				default:
				}
				if got != want {
					t.Errorf("subscriber %q woken = %v, want %v (about %.60q)", party, got, want, tc.about)
				}
			}
		})
	}
}

func manyWorkers(n int) []store.RouterEvent {
	evs := make([]store.RouterEvent, n)
	for i := range evs {
		evs[i].WorkerID = fmt.Sprintf("worker-%04d", i)
	}
	return evs
}
