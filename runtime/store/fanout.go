package store

import "sync"

// Fanout delivers coalesced wake-ups to the subscribers of a topic inside
// one process: a subscriber with a wake-up pending gets no second one, so a
// slow subscriber never blocks the notifier. Notifier implementations use it.
type Fanout struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Notify wakes every subscriber of topic.
func (f *Fanout) Notify(topic string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs[topic] {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// NotifyAll wakes every subscriber (after notifications may have been missed).
func (f *Fanout) NotifyAll() {
	f.mu.Lock()
	topics := make([]string, 0, len(f.subs))
	for t := range f.subs {
		topics = append(topics, t)
	}
	f.mu.Unlock()
	for _, t := range topics {
		f.Notify(t)
	}
}

// Subscribe returns a wake-up channel for topic and the function that ends
// the subscription.
func (f *Fanout) Subscribe(topic string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[string]map[chan struct{}]struct{}{}
	}
	if f.subs[topic] == nil {
		f.subs[topic] = map[chan struct{}]struct{}{}
	}
	f.subs[topic][ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs[topic], ch)
		f.mu.Unlock()
	}
}
