package email

import (
	"container/list"
	"strings"
	"sync"
)

// maxThreads bounds the threads the connector remembers.
const maxThreads = 10000

// threads remembers, per thread, the latest customer message's references
// and subject, so that a reply names the message it answers. Another node
// (or a restart) does not know them: its reply then names the thread's
// first message, which threads as well in every mail client. When full,
// it forgets the thread the customer wrote in least recently.
type threads struct {
	mu    sync.Mutex
	max   int
	m     map[string]*list.Element // of order, whose values are *threadEntry
	order *list.List               // most recent at the front
}

type threadEntry struct {
	id string
	thread
}

type thread struct {
	references []string // the thread's ids, the message to answer last
	subject    string
}

func newThreads(max int) *threads {
	return &threads{max: max, m: map[string]*list.Element{}, order: list.New()}
}

func (ts *threads) remember(p *parsed) {
	if p.in.Thread == "" {
		return
	}
	refs := append(append([]string(nil), p.references...), p.in.PlatformID)
	if strings.HasPrefix(p.in.PlatformID, "sha256:") {
		refs = refs[:len(refs)-1] // not a Message-ID the customer's client knows
	}
	t := thread{references: refs, subject: p.subject}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if e, ok := ts.m[p.in.Thread]; ok {
		e.Value.(*threadEntry).thread = t
		ts.order.MoveToFront(e)
		return
	}
	ts.m[p.in.Thread] = ts.order.PushFront(&threadEntry{id: p.in.Thread, thread: t})
	if ts.order.Len() > ts.max {
		oldest := ts.order.Back()
		ts.order.Remove(oldest)
		delete(ts.m, oldest.Value.(*threadEntry).id)
	}
}

// lookup returns what is known of id's thread: at least the thread's
// first message as the one to answer.
func (ts *threads) lookup(id string) thread {
	if id == "" {
		return thread{}
	}
	ts.mu.Lock()
	e, ok := ts.m[id]
	var t thread
	if ok {
		t = e.Value.(*threadEntry).thread
	}
	ts.mu.Unlock()
	if ok {
		return t
	}
	if strings.HasPrefix(id, "sha256:") {
		return thread{}
	}
	return thread{references: []string{id}}
}
