package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

func TestAddressFilter(t *testing.T) {
	const capacity = 1 << 14
	f := newAddressFilterOf(capacity)
	if !f.mayHave("sms", "+1") {
		t.Fatal("a filter that has not read the stored addresses said no")
	}
	f.ready.Store(true)
	// Past the capacity of the first two filters (1 and 2 times capacity),
	// so that it grows twice.
	const added = 3*capacity + 1
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < added; i += 4 {
				f.add("sms", fmt.Sprint("+1555", i))
				if i%100 == 0 && !f.mayHave("sms", fmt.Sprint("+1555", i)) {
					t.Errorf("an address just added is not there")
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(*f.blooms.Load()); n != 3 {
		t.Errorf("%d filters for %d addresses, want 3 (1, 2 and 4 times %d)", n, added, capacity)
	}
	for i := range added {
		if !f.mayHave("sms", fmt.Sprint("+1555", i)) {
			t.Fatalf("address %d was added and is not there", i)
		}
	}
	maybe := 0
	const absent = 20000
	for i := range absent {
		if f.mayHave("sms", fmt.Sprint("+4477", i)) {
			maybe++
		}
	}
	// Each full filter answers "maybe" wrongly for under 1 % of addresses.
	if rate := float64(maybe) / absent; rate > 0.03 {
		t.Errorf("%.2f %% of absent addresses were maybe, want under 3 %%", 100*rate)
	}
	if f.mayHave("whatsapp", "+15550") {
		t.Log("another channel's address matched: a false maybe, allowed")
	}
}

// A store reads the addresses already stored when it opens, and learns the
// ones its commits store.
func TestStoreAddressFilter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sb.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := s.ResolveContact(ctx, "sms", fmt.Sprint("+1555", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.loadExited
	if !s.addrs.ready.Load() {
		t.Fatal("the stored addresses were not read")
	}
	for i := range 50 {
		if !s.MayHaveAddress("sms", fmt.Sprint("+1555", i)) {
			t.Fatalf("stored address %d unknown after reopening", i)
		}
	}
	unknown := 0
	for i := range 100 {
		if !s.MayHaveAddress("sms", fmt.Sprint("+4477", i)) {
			unknown++
		}
	}
	if unknown < 90 {
		t.Fatalf("only %d of 100 new addresses known to be new", unknown)
	}
	b := &store.Batch{}
	b.Add(&store.Unit{Contact: &store.NewContact{ID: store.NewID(), Channel: "sms", Address: "+4400"}})
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if !s.MayHaveAddress("sms", "+4400") {
		t.Fatal("an address a commit stored is unknown")
	}
}
