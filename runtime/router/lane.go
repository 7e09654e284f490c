package router

import (
	"time"

	"github.com/google/btree"

	"github.com/switchboard-dev/switchboard/compiler"
)

// lane is where tasks wait: a queue, or one worker's known-worker list
// (q == nil, owner set, its only member the owner).
type lane struct {
	q          *compiler.Queue
	index      int
	owner      *worker
	members    map[*worker]orderKey
	ready      map[string]*readySet // channel → members that can take a task on it now
	heaps      map[string]*taskHeap // channel → waiting tasks
	pending    int                  // unanswered reservations
	lastServed uint64               // round robin: seq of the last worker offered a task
}

func newLane(q *compiler.Queue, index int) *lane {
	return &lane{q: q, index: index, members: map[*worker]orderKey{},
		ready: map[string]*readySet{}, heaps: map[string]*taskHeap{}}
}

func newDirectLane(w *worker) *lane {
	l := newLane(nil, -1)
	l.owner = w
	l.members[w] = orderKey{}
	return l
}

func (l *lane) name() string {
	if l == nil || l.q == nil {
		return ""
	}
	return l.q.Name
}

func (l *lane) throttled() bool {
	return l.q != nil && l.q.MaxReserved > 0 && l.pending >= l.q.MaxReserved
}

func (l *lane) heap(ch string) *taskHeap {
	h := l.heaps[ch]
	if h == nil {
		h = &taskHeap{}
		l.heaps[ch] = h
	}
	return h
}

func (l *lane) remove(w *worker) {
	if _, ok := l.members[w]; !ok {
		return
	}
	delete(l.members, w)
	for _, s := range l.ready {
		s.remove(w)
	}
}

func (l *lane) setReady(w *worker, r *Router) {
	for ch, s := range l.ready {
		if _, ok := w.capacity[ch]; !ok {
			s.remove(w)
		}
	}
	for ch := range w.capacity {
		s := l.ready[ch]
		if r.ready(w, ch) {
			if s == nil {
				s = newReadySet(l)
				l.ready[ch] = s
			}
			s.put(readyEntry{w: w, total: w.total, lastWork: w.lastWork, key: l.members[w]})
		} else if s != nil {
			s.remove(w)
		}
	}
}

// choose returns the ready member the lane's strategy prefers for t, or nil.
// The ready set keeps that order, so this is the first member t does not
// exclude, after the last one served on a round robin.
func (l *lane) choose(t *task) *worker {
	s := l.ready[t.channel]
	if s == nil {
		return nil
	}
	var best *worker
	pick := func(e readyEntry) bool {
		if t.excluded(e.w) {
			return true
		}
		best = e.w
		return false
	}
	if l.roundRobin() {
		s.tree.AscendGreaterOrEqual(readyEntry{seq: l.lastServed + 1}, pick)
		if best != nil {
			return best
		}
	}
	s.tree.Ascend(pick)
	return best
}

func (l *lane) roundRobin() bool {
	return l.q != nil && l.q.Strategy == compiler.StrategyRoundRobin
}

// readySet is a lane's members that can take a task on one channel, in the
// order the lane's strategy prefers them (a B-tree: choosing among twenty
// thousand ready agents must not look at each). An entry holds the fields
// the order reads as they were when it was put, so that a worker whose
// fields have changed since is still found where it is; refresh puts it
// again after every change.
type readySet struct {
	tree *btree.BTreeG[readyEntry]
	at   map[*worker]readyEntry
}

type readyEntry struct {
	w        *worker
	seq      uint64 // w.seq, or a round robin's pivot when w is nil
	total    int
	lastWork time.Time
	key      orderKey
}

func newReadySet(l *lane) *readySet {
	return &readySet{tree: btree.NewG(16, l.before), at: map[*worker]readyEntry{}}
}

func (s *readySet) put(e readyEntry) {
	e.seq = e.w.seq
	if old, ok := s.at[e.w]; ok {
		if old == e {
			return
		}
		s.tree.Delete(old)
	}
	s.tree.ReplaceOrInsert(e)
	s.at[e.w] = e
}

func (s *readySet) remove(w *worker) {
	if old, ok := s.at[w]; ok {
		s.tree.Delete(old)
		delete(s.at, w)
	}
}

func (s *readySet) len() int {
	if s == nil {
		return 0
	}
	return s.tree.Len()
}

// before reports whether a is preferred over b. It is a strict total order
// (ties end on the order workers were added). A round robin orders by that
// alone: choose starts after the last worker served and wraps.
func (l *lane) before(a, b readyEntry) bool {
	strategy := compiler.StrategyLongestIdle
	if l.q != nil {
		strategy = l.q.Strategy
	}
	switch strategy {
	case compiler.StrategyLeastBusy:
		if a.total != b.total {
			return a.total < b.total
		}
	case compiler.StrategyRoundRobin:
		return a.seq < b.seq
	case compiler.StrategyExpr:
		if c := compareKeys(a.key, b.key, l.q.Descending); c != 0 {
			return c < 0
		}
	}
	if !a.lastWork.Equal(b.lastWork) {
		return a.lastWork.Before(b.lastWork)
	}
	return a.seq < b.seq
}

// orderKey is a worker's cached `order EXPR` value.
type orderKey struct {
	kind uint8 // 0 nil/other, 1 bool, 2 number, 3 string
	f    float64
	s    string
}

func makeKey(v any) orderKey {
	switch x := v.(type) {
	case bool:
		if x {
			return orderKey{kind: 1, f: 1}
		}
		return orderKey{kind: 1}
	case string:
		return orderKey{kind: 3, s: x}
	}
	if f, ok := toFloat(v); ok {
		return orderKey{kind: 2, f: f}
	}
	return orderKey{}
}

// compareKeys orders a before b (negative) in the requested direction;
// workers without a value come last either way.
func compareKeys(a, b orderKey, desc bool) int {
	if a.kind == 0 || b.kind == 0 {
		switch {
		case a.kind == b.kind:
			return 0
		case a.kind == 0:
			return 1
		}
		return -1
	}
	c := 0
	switch {
	case a.kind != b.kind:
		c = int(a.kind) - int(b.kind)
	case a.kind == 3:
		switch {
		case a.s < b.s:
			c = -1
		case a.s > b.s:
			c = 1
		}
	default:
		switch {
		case a.f < b.f:
			c = -1
		case a.f > b.f:
			c = 1
		}
	}
	if desc {
		c = -c
	}
	return c
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// taskKey is a waiting task's place in line: higher priority, then older,
// then first enqueued. A task's key does not change while it waits (its
// priority is set before it enters a heap).
type taskKey struct {
	priority int
	created  int64 // unix nanoseconds
	seq      uint64
}

func (t *task) key() taskKey { return taskKey{t.priority, t.created.UnixNano(), t.seq} }

func (a taskKey) before(b taskKey) bool {
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	if a.created != b.created {
		return a.created < b.created
	}
	return a.seq < b.seq
}

// less orders waiting tasks: higher priority, then older, then first enqueued.
func less(a, b *task) bool { return a.key().before(b.key()) }

// heapEntry keeps the key next to the task so that sifting compares
// entries of the heap's own array instead of chasing task pointers: with
// 100,000 tasks waiting those would mostly be cache misses.
type heapEntry struct {
	k taskKey
	t *task
}

// taskHeap is a binary heap of waiting tasks; each task knows its index.
type taskHeap struct{ es []heapEntry }

func (h *taskHeap) len() int { return len(h.es) }

// tasks returns the waiting tasks, in no particular order.
func (h *taskHeap) tasks() []*task {
	out := make([]*task, len(h.es))
	for i, e := range h.es {
		out[i] = e.t
	}
	return out
}

func (h *taskHeap) swap(i, j int) {
	h.es[i], h.es[j] = h.es[j], h.es[i]
	h.es[i].t.hidx = i
	h.es[j].t.hidx = j
}

func (h *taskHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.es[i].k.before(h.es[p].k) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *taskHeap) down(i int) {
	n := len(h.es)
	for {
		m := i
		if l := 2*i + 1; l < n && h.es[l].k.before(h.es[m].k) {
			m = l
		}
		if r := 2*i + 2; r < n && h.es[r].k.before(h.es[m].k) {
			m = r
		}
		if m == i {
			return
		}
		h.swap(i, m)
		i = m
	}
}

func (h *taskHeap) push(t *task) {
	t.hidx = len(h.es)
	h.es = append(h.es, heapEntry{t.key(), t})
	h.up(t.hidx)
}

func (h *taskHeap) remove(t *task) {
	i := t.hidx
	if i < 0 || i >= len(h.es) || h.es[i].t != t {
		return
	}
	last := len(h.es) - 1
	if i != last {
		h.swap(i, last)
	}
	h.es[last] = heapEntry{}
	h.es = h.es[:last]
	t.hidx = -1
	if i != last {
		h.down(i)
		h.up(i)
	}
}

// best returns the first task in heap order for which skip is false. It
// descends only below skipped nodes, so it visits O(skipped) nodes.
func (h *taskHeap) best(skip func(*task) bool) *task {
	if len(h.es) == 0 {
		return nil
	}
	var best *task
	var bestKey taskKey
	stack := [16]int{}
	st := append(stack[:0], 0)
	for len(st) > 0 {
		i := st[len(st)-1]
		st = st[:len(st)-1]
		e := h.es[i]
		if best != nil && bestKey.before(e.k) {
			continue // nothing below e beats best
		}
		if !skip(e.t) {
			best, bestKey = e.t, e.k
			continue
		}
		if l := 2*i + 1; l < len(h.es) {
			st = append(st, l)
		}
		if r := 2*i + 2; r < len(h.es) {
			st = append(st, r)
		}
	}
	return best
}

// timer is a task's deadline (escalation, transfer timeout or wrap-up
// end; gen detects stale entries), when res is set a reservation's
// timeout (stale once the reservation is answered), or when w is set the
// lapse of w's exclusion from the task (stale once w declined it again).
type timer struct {
	at  time.Time
	seq uint64
	t   *task
	gen uint64
	res *reservation
	w   *worker
}

type timerHeap []timer

func (h timerHeap) before(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h *timerHeap) push(x timer) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.before(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		m := i
		if l := 2*i + 1; l < len(s) && s.before(l, m) {
			m = l
		}
		if r := 2*i + 2; r < len(s) && s.before(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
