package cli

import (
	"context"
	"sync"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// storeRelay is the connectors' relay (connectors.Relay) over the store's
// (store.Relayer). The connectors are built before the store is opened, so
// it is bound later: a subscription made before waits for bind, and one
// whose store cannot relay (SQLite: one process) receives nothing.
type storeRelay struct {
	mu    sync.Mutex
	r     store.Relayer
	ready chan struct{} // closed by bind
}

func newStoreRelay() *storeRelay { return &storeRelay{ready: make(chan struct{})} }

// bind connects the relay to the opened store; r may be nil.
func (s *storeRelay) bind(r store.Relayer) {
	s.mu.Lock()
	s.r = r
	s.mu.Unlock()
	close(s.ready)
}

func (s *storeRelay) relayer() store.Relayer {
	<-s.ready
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r
}

func (s *storeRelay) Publish(ctx context.Context, topic string, payload []byte) error {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	r := s.relayer()
	if r == nil {
		return nil // one node: nobody else to tell
	}
	return r.Publish(ctx, topic, payload)
}

func (s *storeRelay) Subscribe(topic string) (<-chan []byte, func()) {
	out := make(chan []byte, 256)
	stop := make(chan struct{})
	var once sync.Once
	cancel := func() { once.Do(func() { close(stop) }) }
	go func() {
		defer close(out)
		select {
		case <-s.ready:
		case <-stop:
			return
		}
		r := s.relayer()
		if r == nil {
			<-stop
			return
		}
		in, done := r.Receive(topic)
		defer done()
		for {
			select {
			case p, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- p:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	return out, cancel
}
