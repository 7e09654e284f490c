package connectors

import (
	"sync"
	"time"
)

// Accepted remembers the parts of outbound messages a platform accepted,
// by key (Outbound.Key + "#" + the part's index) with the platform's id,
// so that the outbox's retry of a message split into parts sends only
// the parts not yet accepted, and returns the same id. It is safe for
// concurrent use.
//
// An entry is forgotten ttl after it was put; when max entries are
// remembered, putting one more forgets the oldest, so the memory stays
// bounded whatever the rate of sends.
type Accepted struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	ids   map[string]acceptedPart
	order []acceptedKey // in the order of Put, which is the order of age
	head  int           // index in order of the oldest entry that may live
	seq   uint64
}

type acceptedPart struct {
	id  string
	at  time.Time
	seq uint64 // which Put of the key this is, so a stale order entry is skipped
}

type acceptedKey struct {
	key string
	seq uint64
}

// NewAccepted returns an empty memory whose entries live ttl, at most max
// of them at a time (max below one is one); now is the clock, time.Now
// when nil.
func NewAccepted(ttl time.Duration, max int, now func() time.Time) *Accepted {
	if now == nil {
		now = time.Now
	}
	if max < 1 {
		max = 1
	}
	return &Accepted{ttl: ttl, max: max, now: now, ids: map[string]acceptedPart{}}
}

// Get returns the id the platform gave the part key, unless the part was
// not accepted or is forgotten.
func (a *Accepted) Get(key string) (id string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.ids[key]
	if !ok || a.now().Sub(p.at) > a.ttl {
		return "", false
	}
	return p.id, true
}

// Put remembers that the platform accepted the part key as id, replacing
// what the key was put with before.
func (a *Accepted) Put(key, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.forget(now)
	a.seq++
	a.ids[key] = acceptedPart{id: id, at: now, seq: a.seq}
	a.order = append(a.order, acceptedKey{key, a.seq})
}

// Len returns how many parts are remembered, the expired ones not yet
// forgotten included.
func (a *Accepted) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

// forget drops the expired entries, and the oldest while the memory is
// full, walking order from its oldest end.
func (a *Accepted) forget(now time.Time) {
	for a.head < len(a.order) {
		k := a.order[a.head]
		p, live := a.ids[k.key]
		live = live && p.seq == k.seq
		if live && now.Sub(p.at) <= a.ttl && len(a.ids) < a.max {
			break
		}
		if live {
			delete(a.ids, k.key)
		}
		a.order[a.head] = acceptedKey{}
		a.head++
	}
	if a.head > 1024 && a.head > len(a.order)/2 {
		a.order = append([]acceptedKey(nil), a.order[a.head:]...)
		a.head = 0
	}
}
