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

// TestFanoutCancel: a party's subscription that ends leaves its other
// subscriptions, and those subscribed again after all ended, woken.
func TestFanoutCancel(t *testing.T) {
	ana := store.WorkerParty("ana")
	about := store.About([]store.RouterEvent{{WorkerID: "ana"}}, nil)
	tests := []struct {
		name   string
		subs   int   // ana's subscriptions
		cancel []int // ended, in order, before the notification
		again  bool  // a new subscription after those
		woken  []int // the subscriptions woken (the new one is number subs)
		asleep []int
	}{
		{"one of two ended", 2, []int{0}, false, []int{1}, []int{0}},
		{"both ended, then one more", 2, []int{1, 0}, true, []int{2}, []int{0, 1}},
		{"ended twice", 1, []int{0, 0}, true, []int{1}, []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f store.Fanout
			var chans []<-chan struct{}
			var cancels []func()
			for range tc.subs {
				ch, cancel := f.Subscribe(store.TopicEvents, ana)
				chans, cancels = append(chans, ch), append(cancels, cancel)
			}
			for _, i := range tc.cancel {
				cancels[i]()
			}
			if tc.again {
				ch, cancel := f.Subscribe(store.TopicEvents, ana)
				defer cancel()
				chans = append(chans, ch)
			}
			f.Notify(store.TopicEvents, about)
			for _, i := range tc.woken {
				if len(chans[i]) != 1 {
					t.Errorf("subscription %d not woken", i)
				}
			}
			for _, i := range tc.asleep {
				if len(chans[i]) != 0 {
					t.Errorf("ended subscription %d woken", i)
				}
			}
		})
	}
}
