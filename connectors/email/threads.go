package email

import (
	"strings"
	"sync"
)

// maxThreads bounds the threads the connector remembers.
const maxThreads = 10000

// threads remembers, per thread, the latest customer message's references
// and subject, so that a reply names the message it answers. Another node
// (or a restart) does not know them: its reply then names the thread's
// first message, which threads as well in every mail client.
type threads struct {
	mu    sync.Mutex
	max   int
	m     map[string]thread
	order []string
}

type thread struct {
	references []string // the thread's ids, the message to answer last
	subject    string
}

func newThreads(max int) *threads { return &threads{max: max, m: map[string]thread{}} }

func (ts *threads) remember(p *parsed) {
	if p.in.Thread == "" {
		return
	}
	refs := append(append([]string(nil), p.references...), p.in.PlatformID)
	if strings.HasPrefix(p.in.PlatformID, "sha256:") {
		refs = refs[:len(refs)-1] // not a Message-ID the customer's client knows
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if _, ok := ts.m[p.in.Thread]; !ok {
		ts.order = append(ts.order, p.in.Thread)
		if len(ts.order) > ts.max {
			delete(ts.m, ts.order[0])
			ts.order = ts.order[1:]
		}
	}
	ts.m[p.in.Thread] = thread{references: refs, subject: p.subject}
}

// lookup returns what is known of id's thread: at least the thread's
// first message as the one to answer.
func (ts *threads) lookup(id string) thread {
	if id == "" {
		return thread{}
	}
	ts.mu.Lock()
	t, ok := ts.m[id]
	ts.mu.Unlock()
	if ok {
		return t
	}
	if strings.HasPrefix(id, "sha256:") {
		return thread{}
	}
	return thread{references: []string{id}}
}
