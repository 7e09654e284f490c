package mediastore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// FetchOptions configure a Fetcher. Fetch is required.
type FetchOptions struct {
	// Fetch gets file id from the platform and keeps it with Store.Put.
	// An error connectors.Permanent marks is not tried again; one with a
	// connectors.RetryDelay waits at least that long.
	Fetch func(ctx context.Context, id string) error
	// Workers bounds the fetches under way at once; 4 when 0.
	Workers int
	// Attempts is how many times a fetch is tried; 4 when 0.
	Attempts int
	// Backoff is the first wait after a failed attempt, doubled after
	// each; a second when 0.
	Backoff time.Duration
	// MaxPending bounds the files waiting or being fetched; beyond it a
	// file is not fetched (its link answers 404) rather than piling up.
	// No bound when 0.
	MaxPending int
	// Failed is told of a file given up on.
	Failed func(id string, attempts int, err error)
	// Go runs a fetch in the background with a context that ends when the
	// connector closes, and reports false once it has; nil runs fetches
	// on the Fetcher's own goroutines, which Close ends. It must not run
	// the fetch before it returns.
	Go func(func(context.Context)) bool
}

// Errors of Fetcher.Start.
var (
	ErrBusy   = errors.New("mediastore: too many files waiting to be fetched")
	ErrClosed = errors.New("mediastore: closed")
)

// Fetcher gets files into a Store in the background, as soon as a
// message names them: platforms keep them for a limited time.
type Fetcher struct {
	store *Store
	o     FetchOptions
	slots chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending map[string]bool
	closed  bool
}

// NewFetcher is a Fetcher into s.
func (s *Store) NewFetcher(o FetchOptions) *Fetcher {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	f := &Fetcher{store: s, o: o, slots: make(chan struct{}, o.Workers), pending: map[string]bool{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

// Start starts fetching file id in the background unless it is kept or
// being fetched already. It does not block.
func (f *Fetcher) Start(id string) error {
	if !f.store.Valid(id) {
		return errors.New("mediastore: not an id of this store")
	}
	if f.store.Has(id) {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return ErrClosed
	case f.pending[id]:
		return nil
	case f.o.MaxPending > 0 && len(f.pending) >= f.o.MaxPending:
		return ErrBusy
	}
	task := func(ctx context.Context) { f.run(ctx, id) }
	if f.o.Go != nil {
		if !f.o.Go(task) {
			return ErrClosed
		}
	} else {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			task(f.ctx)
		}()
	}
	f.pending[id] = true
	return nil
}

func (f *Fetcher) run(ctx context.Context, id string) {
	defer func() {
		f.mu.Lock()
		delete(f.pending, id)
		f.mu.Unlock()
	}()
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	case <-ctx.Done():
		return
	}
	wait := f.o.Backoff
	for attempt := 1; ; attempt++ {
		err := f.o.Fetch(ctx, id)
		if err == nil {
			return
		}
		if connectors.IsPermanent(err) || attempt == f.o.Attempts || ctx.Err() != nil {
			if f.o.Failed != nil {
				f.o.Failed(id, attempt, err)
			}
			return
		}
		if d, ok := connectors.RetryDelay(err); ok && d > wait {
			wait = d
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		wait *= 2
	}
}

// Close stops the fetches under way on the Fetcher's own goroutines and
// waits for them; later Starts fetch nothing.
func (f *Fetcher) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cancel()
	f.wg.Wait()
}
