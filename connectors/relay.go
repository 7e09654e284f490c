package connectors

import (
	"context"
	"sync"
)

// RelayTransport carries a Relay's payloads between the runtime nodes: the
// shared store's notifications (runtime/store's Relayer has this method
// set). Receive gets what is published on topic from now on, until cancel.
type RelayTransport interface {
	Publish(ctx context.Context, topic string, payload []byte) error
	Receive(topic string) (payloads <-chan []byte, cancel func())
}

// BoundLater is the Relay the runtime gives its connector instances
// (Resources.Relay). Instances are built before the store is opened, so its
// transport is bound afterwards, once: a Publish or a subscription made
// before waits for Bind, and with a nil transport (a store one process
// serves alone, SQLite) there is nobody to relay to: Publish does nothing
// and subscribers receive nothing.
type BoundLater struct {
	mu    sync.Mutex
	t     RelayTransport
	ready chan struct{} // closed by Bind
}

var _ Relay = (*BoundLater)(nil)

// NewBoundLater returns a relay waiting for its transport.
func NewBoundLater() *BoundLater { return &BoundLater{ready: make(chan struct{})} }

// Bind sets the transport, which may be nil. Call it once.
func (b *BoundLater) Bind(t RelayTransport) {
	b.mu.Lock()
	b.t = t
	b.mu.Unlock()
	close(b.ready)
}

func (b *BoundLater) transport() RelayTransport {
	<-b.ready
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.t
}

// Publish implements Relay.
func (b *BoundLater) Publish(ctx context.Context, topic string, payload []byte) error {
	select {
	case <-b.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	t := b.transport()
	if t == nil {
		return nil // one node: nobody else to tell
	}
	return t.Publish(ctx, topic, payload)
}

// Subscribe implements Relay.
func (b *BoundLater) Subscribe(topic string) (<-chan []byte, func()) {
	out := make(chan []byte, 256)
	stop := make(chan struct{})
	var once sync.Once
	cancel := func() { once.Do(func() { close(stop) }) }
	go func() {
		defer close(out)
		select {
		case <-b.ready:
		case <-stop:
			return
		}
		t := b.transport()
		if t == nil {
			<-stop
			return
		}
		in, done := t.Receive(topic)
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
