package store

import (
	"context"
	"sync"
)

// Committer is what a GroupCommitter commits through (a Store).
type Committer interface {
	Commit(ctx context.Context, b *Batch) ([]UnitResult, error)
}

// GroupOptions tunes a GroupCommitter.
type GroupOptions struct {
	// MaxBatch caps the units of one transaction (default 512).
	MaxBatch int
}

// GroupCommitter turns concurrent Submit calls into batches: while one
// transaction commits, the units that arrive wait; when it is done they all
// go into the next transaction (up to MaxBatch), and each caller is answered
// once its batch has committed. A lone caller is committed at once, so
// latency stays one transaction when idle, and under load the fsync of each
// commit is shared by everyone who arrived meanwhile.
//
// It is dialect-independent: one goroutine commits through the Committer.
type GroupCommitter struct {
	c   Committer
	max int

	mu      sync.Mutex
	queue   []*pending
	closed  bool
	wake    chan struct{} // capacity 1: "the queue is not empty"
	stopped chan struct{} // closed when the loop has exited
}

type pending struct {
	ctx  context.Context
	unit *Unit
	res  UnitResult
	err  error
	done chan struct{}
}

// NewGroupCommitter starts the commit loop; Close stops it.
func NewGroupCommitter(c Committer, opts GroupOptions) *GroupCommitter {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	g := &GroupCommitter{
		c:       c,
		max:     opts.MaxBatch,
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	go g.loop()
	return g
}

// Submit commits u in the next batch and returns its result (see Outcome).
// An error means the unit's batch was not known to commit: do not
// acknowledge; retrying is safe (see Store.Commit). If ctx ends first,
// Submit returns ctx.Err() and the unit may still commit: that is an
// unknown outcome too. A unit whose ctx ended before its batch began is
// dropped without being written.
func (g *GroupCommitter) Submit(ctx context.Context, u *Unit) (UnitResult, error) {
	if err := ctx.Err(); err != nil {
		return UnitResult{}, err
	}
	p := &pending{ctx: ctx, unit: u, done: make(chan struct{})}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return UnitResult{}, ErrClosed
	}
	g.queue = append(g.queue, p)
	select { // under mu: Close cannot close wake meanwhile
	case g.wake <- struct{}{}:
	default: // already signalled
	}
	g.mu.Unlock()
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		return UnitResult{}, ctx.Err()
	}
}

// Close commits what was submitted before it, then stops; later Submits
// return ErrClosed. It does not close the Committer.
func (g *GroupCommitter) Close() error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.wake) // the loop drains the queue, then exits
	}
	g.mu.Unlock()
	<-g.stopped
	return nil
}

func (g *GroupCommitter) loop() {
	defer close(g.stopped)
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.max)
		group := make([]*pending, n)
		copy(group, g.queue)
		rest := copy(g.queue, g.queue[n:])
		clear(g.queue[rest:])
		g.queue = g.queue[:rest]
		closed := g.closed
		g.mu.Unlock()

		if n > 0 {
			g.commit(group)
			continue
		}
		if closed {
			return
		}
		<-g.wake // a closed wake returns at once, and the next round returns
	}
}

func (g *GroupCommitter) commit(group []*pending) {
	b := &Batch{Units: make([]*Unit, 0, len(group))}
	live := group[:0:0]
	for _, p := range group {
		if err := p.ctx.Err(); err != nil {
			p.err = err
			close(p.done)
			continue
		}
		b.Units = append(b.Units, p.unit)
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	// The batch's own context: one caller giving up must not abort the others.
	res, err := g.c.Commit(context.Background(), b)
	for i, p := range live {
		if err != nil {
			p.err = err
		} else {
			p.res = res[i]
		}
		close(p.done)
	}
}
