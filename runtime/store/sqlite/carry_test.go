package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestRoutingWritesCarried: the router leader's writes made while the
// group commit keeps the writer busy ride its transactions, and each lands
// exactly once, in order, whether carried or committed on its own.
func TestRoutingWritesCarried(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	gc := store.NewGroupCommitter(s, store.GroupOptions{})
	defer gc.Close()

	stop := make(chan struct{})
	var load sync.WaitGroup
	for w := 0; w < 8; w++ {
		load.Add(1)
		go func() {
			defer load.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("c%d-%d", w, i)
				u := &store.Unit{Contact: &store.NewContact{ID: id, Channel: "webchat", Address: id},
					Conversation: &store.NewConversation{ID: "v" + id, ContactID: id, Channel: "webchat", Instance: "default"}}
				if res, err := gc.Submit(ctx, u); err != nil || res.Outcome != store.Committed {
					t.Errorf("unit %s: %+v %v", id, res, err)
					return
				}
			}
		}()
	}
	const writes = 200
	for i := 0; i < writes; i++ {
		err := s.ApplyRouting(ctx, &store.RoutingWrite{Events: []store.RouterEvent{{Type: "test", TaskID: fmt.Sprint(i), Data: json.RawMessage(`{}`)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	load.Wait()
	evs, _, err := s.ListRouterEvents(ctx, store.RouterEventFilter{}, store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != writes {
		t.Fatalf("%d events, want %d", len(evs), writes)
	}
	for i, e := range evs {
		if e.TaskID != fmt.Sprint(i) {
			t.Fatalf("event %d is %s", i, e.TaskID)
		}
	}
}
