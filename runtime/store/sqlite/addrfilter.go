package sqlite

import (
	"context"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// addressFilter knows, without a query, that an address has no contact yet,
// as far as this process has seen: a Bloom filter of every channel address
// the store holds (read once at Open, in the background) and of every one
// it is asked to store. Asking it costs about a microsecond where
// LookupContact costs a read transaction, and a first message from a new
// customer, the commonest way an address is met, then skips that read.
//
// It answers "maybe" for every address until the existing ones are read,
// and may answer "maybe" wrongly (about 1 % of the time), never "no"
// wrongly for an address this process stored or read. An address another
// process stores on the same file meanwhile is the exception: the unit that
// stores it again is a Conflict (ReasonAddressTaken), its address is added
// here, and the caller looks it up.
type addressFilter struct {
	seed   maphash.Seed
	grow   sync.Mutex               // one growth at a time
	blooms atomic.Pointer[[]*bloom] // the newest last; adds go there
	ready  atomic.Bool              // the stored addresses are all in
}

// bloom is one fixed-size Bloom filter: 10 bits and 7 probes per address
// for a false "maybe" rate under 1 % until it holds capacity addresses.
type bloom struct {
	words    []uint64
	mask     uint64 // bit index mask: len(words)*64 - 1
	capacity int64
	held     atomic.Int64
}

const (
	bloomProbes        = 7
	bloomBitsPerEntry  = 10
	bloomFirstCapacity = 1 << 20 // addresses; the filter doubles past it
)

func newBloom(capacity int64) *bloom {
	nbits := uint64(1)
	for nbits < uint64(capacity)*bloomBitsPerEntry {
		nbits <<= 1
	}
	return &bloom{words: make([]uint64, nbits/64), mask: nbits - 1, capacity: capacity}
}

func (b *bloom) add(h1, h2 uint64) {
	for i := uint64(0); i < bloomProbes; i++ {
		n := (h1 + i*h2) & b.mask
		atomic.OrUint64(&b.words[n>>6], 1<<(n&63))
	}
}

func (b *bloom) has(h1, h2 uint64) bool {
	for i := uint64(0); i < bloomProbes; i++ {
		n := (h1 + i*h2) & b.mask
		if atomic.LoadUint64(&b.words[n>>6])&(1<<(n&63)) == 0 {
			return false
		}
	}
	return true
}

func newAddressFilter() *addressFilter { return newAddressFilterOf(bloomFirstCapacity) }

// newAddressFilterOf starts with a filter for capacity addresses.
func newAddressFilterOf(capacity int64) *addressFilter {
	f := &addressFilter{seed: maphash.MakeSeed()}
	first := []*bloom{newBloom(capacity)}
	f.blooms.Store(&first)
	return f
}

// hashes gives the two hashes of double hashing (probe i is h1 + i*h2).
func (f *addressFilter) hashes(channel, address string) (h1, h2 uint64) {
	var h maphash.Hash
	h.SetSeed(f.seed)
	// As stored and looked up: cleaned by the text rule (text.go).
	h.WriteString(store.Text(channel))
	h.WriteByte(0)
	h.WriteString(store.Text(address))
	h1 = h.Sum64()
	h2 = bits.RotateLeft64(h1*0x9e3779b97f4a7c15, 31) | 1 // odd: the probes cover the table
	return h1, h2
}

// add records that the address may have a contact.
func (f *addressFilter) add(channel, address string) {
	h1, h2 := f.hashes(channel, address)
	for {
		bs := *f.blooms.Load()
		last := bs[len(bs)-1]
		if last.held.Add(1) <= last.capacity {
			last.add(h1, h2)
			return
		}
		f.growPast(last)
	}
}

// growPast adds a filter twice as large as full, unless one was added
// after it already.
func (f *addressFilter) growPast(full *bloom) {
	f.grow.Lock()
	defer f.grow.Unlock()
	bs := *f.blooms.Load()
	if bs[len(bs)-1] != full {
		return
	}
	next := append(bs[:len(bs):len(bs)], newBloom(2*full.capacity))
	f.blooms.Store(&next)
}

// mayHave reports whether the address may have a contact; false is sure,
// but for addresses other processes store.
func (f *addressFilter) mayHave(channel, address string) bool {
	if !f.ready.Load() {
		return true
	}
	h1, h2 := f.hashes(channel, address)
	for _, b := range *f.blooms.Load() {
		if b.has(h1, h2) {
			return true
		}
	}
	return false
}

// load adds every stored address, then makes the filter answer. Addresses
// stored meanwhile are added by the writes that store them.
func (f *addressFilter) load(ctx context.Context, q querier) error {
	rows, err := q.QueryContext(ctx, `SELECT channel, address FROM contact_addresses`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var channel, address string
		if err := rows.Scan(&channel, &address); err != nil {
			return err
		}
		f.add(channel, address)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.ready.Store(true)
	return nil
}
