package store

import (
	"context"
	"sync"
)

// Batcher turns concurrent calls into batches: while one batch runs, the
// calls that arrive wait; when it is done they all go into the next batch
// (up to a maximum), and each caller is answered once its batch has run. A
// lone call runs at once, so latency stays one batch when idle, and under
// load the cost of a batch (a transaction's fsync, a round trip to the
// database) is shared by everyone who arrived meanwhile.
//
// One goroutine runs the batches, in order.
type Batcher[Req, Res any] struct {
	run func([]Req) []Result[Res]
	max int

	mu      sync.Mutex
	queue   []*call[Req, Res]
	closed  bool
	wake    chan struct{} // capacity 1: "the queue is not empty"
	stopped chan struct{} // closed when the loop has exited
}

// Result is one call's answer in a batch.
type Result[Res any] struct {
	Value Res
	Err   error
}

type call[Req, Res any] struct {
	ctx  context.Context
	req  Req
	res  Result[Res]
	done chan struct{}
}

// NewBatcher starts the loop; run gets each batch and answers every request
// of it, in order. Close stops it.
func NewBatcher[Req, Res any](max int, run func([]Req) []Result[Res]) *Batcher[Req, Res] {
	b := &Batcher[Req, Res]{run: run, max: max, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go b.loop()
	return b
}

// Do runs req in the next batch. If ctx ends first, Do returns ctx.Err()
// and req may still run. A request whose ctx ended before its batch began
// is dropped without being run.
func (b *Batcher[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	var zero Res
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	c := &call[Req, Res]{ctx: ctx, req: req, done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return zero, ErrClosed
	}
	b.queue = append(b.queue, c)
	select { // under mu: Close cannot close wake meanwhile
	case b.wake <- struct{}{}:
	default: // already signalled
	}
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.res.Value, c.res.Err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close runs what was asked before it, then stops; later calls of Do
// return ErrClosed.
func (b *Batcher[Req, Res]) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.wake) // the loop drains the queue, then exits
	}
	b.mu.Unlock()
	<-b.stopped
	return nil
}

func (b *Batcher[Req, Res]) loop() {
	defer close(b.stopped)
	for {
		b.mu.Lock()
		n := min(len(b.queue), b.max)
		group := make([]*call[Req, Res], n)
		copy(group, b.queue)
		rest := copy(b.queue, b.queue[n:])
		clear(b.queue[rest:])
		b.queue = b.queue[:rest]
		closed := b.closed
		b.mu.Unlock()

		if n > 0 {
			b.runBatch(group)
			continue
		}
		if closed {
			return
		}
		<-b.wake // a closed wake returns at once, and the next round returns
	}
}

func (b *Batcher[Req, Res]) runBatch(group []*call[Req, Res]) {
	reqs := make([]Req, 0, len(group))
	live := group[:0:0]
	for _, c := range group {
		if err := c.ctx.Err(); err != nil {
			c.res.Err = err
			close(c.done)
			continue
		}
		reqs = append(reqs, c.req)
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	for i, r := range b.run(reqs) {
		live[i].res = r
		close(live[i].done)
	}
}
