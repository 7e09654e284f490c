// Package fanout hands payloads published on a topic to the subscribers of
// that topic inside one process: the last step of a relay between runtime
// nodes (the PostgreSQL store's), and the whole relay of nodes that share a
// process (tests).
package fanout

import (
	"context"
	"sync"
)

// Capacity is how many payloads a subscriber may have pending; past it,
// new ones are dropped for that subscriber (a relay is best effort: a
// receiver that does not keep up loses live payloads, not data).
const Capacity = 256

// Payloads is a set of subscriptions by topic. The zero value is ready.
type Payloads struct {
	mu   sync.Mutex
	subs map[string]map[chan []byte]bool
}

// Publish hands payload to every subscriber of topic without waiting for
// any (connectors.Relay); it never fails.
func (p *Payloads) Publish(_ context.Context, topic string, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range p.subs[topic] {
		select {
		case ch <- payload:
		default:
		}
	}
	return nil
}

// Subscribe receives what is published on topic from now on, until cancel,
// which closes the channel.
func (p *Payloads) Subscribe(topic string) (payloads <-chan []byte, cancel func()) {
	ch := make(chan []byte, Capacity)
	p.mu.Lock()
	if p.subs == nil {
		p.subs = map[string]map[chan []byte]bool{}
	}
	if p.subs[topic] == nil {
		p.subs[topic] = map[chan []byte]bool{}
	}
	p.subs[topic][ch] = true
	p.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			p.mu.Lock()
			delete(p.subs[topic], ch)
			p.mu.Unlock()
			close(ch)
		})
	}
}
