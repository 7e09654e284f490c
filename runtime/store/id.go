package store

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new unique id: 26 characters, a millisecond timestamp then
// 80 random bits in Crockford base32 (a ULID), so ids sort roughly by
// creation time and can be made by any node without coordination.
func NewID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand panics instead)
	var out [26]byte
	// 128 bits = 2 leading bits + 25 groups of 5: encode from the end.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
