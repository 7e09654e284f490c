package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// testKeys checks LoadOrStoreKey: the first value stored under a name is
// the one every later call returns, also through another handle on the same
// database (a restart, another node), and of concurrent first writers one
// wins for all.
func testKeys(t *testing.T, s store.Store) {
	first := must[[]byte](t)(s.LoadOrStoreKey(ctx(t), "webchat/default", []byte("first-secret-0123456789")))
	if string(first) != "first-secret-0123456789" {
		t.Fatalf("first write returned %q", first)
	}
	again := must[[]byte](t)(s.LoadOrStoreKey(ctx(t), "webchat/default", []byte("second-secret-0123456789")))
	if !bytes.Equal(again, first) {
		t.Fatalf("second write returned %q, want the first %q", again, first)
	}
	other := must[[]byte](t)(s.LoadOrStoreKey(ctx(t), "webchat/shop", []byte{0, 1, 2, 0xff}))
	if !bytes.Equal(other, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("binary key came back as %x", other)
	}
	for _, c := range []struct {
		name  string
		value []byte
	}{{"", []byte("x")}, {"k", nil}} {
		_, err := s.LoadOrStoreKey(ctx(t), c.name, c.value)
		isErr(t, err, store.ErrInvalid)
	}

	r, ok := s.(store.Reopener)
	if !ok {
		return
	}
	s2 := must[store.Store](t)(r.Reopen(ctx(t)))
	defer s2.Close()
	reopened := must[[]byte](t)(s2.LoadOrStoreKey(ctx(t), "webchat/default", []byte("third-secret-0123456789")))
	if !bytes.Equal(reopened, first) {
		t.Fatalf("another handle read %q, want %q", reopened, first)
	}

	// Two handles racing to make the same new key agree on one value.
	const racers = 8
	got := make([][]byte, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		h := s
		if i%2 == 1 {
			h = s2
		}
		wg.Go(func() { got[i], errs[i] = h.LoadOrStoreKey(ctx(t), "race", fmt.Appendf(nil, "value-%d", i)) })
	}
	wg.Wait()
	for i := range racers {
		noErr(t, errs[i])
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("racer %d got %q, racer 0 %q", i, got[i], got[0])
		}
	}
}
