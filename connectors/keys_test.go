package connectors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

type firstWins map[string][]byte

func (f firstWins) LoadOrStoreKey(_ context.Context, name string, value []byte) ([]byte, error) {
	if k, ok := f[name]; ok {
		return k, nil
	}
	f[name] = value
	return value, nil
}

// TestKeysBoundLater checks the Keys the runtime hands its connectors
// before the store is open: a call waits for Bind (or gives up with its
// context), makes a key of the size asked once, returns it ever after,
// and fails with ErrNoKeys when no store was bound.
func TestKeysBoundLater(t *testing.T) {
	k := connectors.NewKeysBoundLater()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := k.Key(ctx, "a", 32); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Key before Bind: %v, want the context's deadline", err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := k.Key(context.Background(), "a", 32)
		got <- b
	}()
	ks := firstWins{}
	k.Bind(ks)
	first := <-got
	if len(first) != 32 || string(first) == string(make([]byte, 32)) {
		t.Fatalf("key %x: want 32 random bytes", first)
	}
	again, err := k.Key(context.Background(), "a", 32)
	if err != nil || string(again) != string(first) {
		t.Fatalf("second Key: %x, %v; want %x", again, err, first)
	}
	other, _ := k.Key(context.Background(), "b", 16)
	if len(other) != 16 || string(other) == string(first[:16]) {
		t.Fatalf("key b %x", other)
	}

	none := connectors.NewKeysBoundLater()
	none.Bind(nil)
	if _, err := none.Key(context.Background(), "a", 32); !errors.Is(err, connectors.ErrNoKeys) {
		t.Fatalf("Key without a store: %v, want ErrNoKeys", err)
	}
}
