package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestRelay: what one node publishes, every node's receivers of the topic
// get, in order, and the receivers of other topics do not.
func TestRelay(t *testing.T) {
	a := open(t)
	other, err := a.(store.Reopener).Reopen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b := other.(store.Relayer)
	got, cancel := b.Receive("webchat/default")
	defer cancel()
	mine, cancelMine := a.(store.Relayer).Receive("webchat/default")
	defer cancelMine()
	elsewhere, cancelElsewhere := b.Receive("webchat/other")
	defer cancelElsewhere()

	for i := range 5 {
		if err := a.(store.Relayer).Publish(context.Background(), "webchat/default", fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for name, ch := range map[string]<-chan []byte{"the other node": got, "the publishing node": mine} {
		for i := range 5 {
			select {
			case p := <-ch:
				if string(p) != fmt.Sprintf("m%d", i) {
					t.Fatalf("%s got %q, want m%d", name, p, i)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: payload %d never came", name, i)
			}
		}
	}
	select {
	case p := <-elsewhere:
		t.Fatalf("another topic's receiver got %q", p)
	default:
	}
	cancel()
	cancel() // twice is a no-op
	if _, open := <-got; open {
		t.Fatal("the channel is still open after cancel")
	}
}
