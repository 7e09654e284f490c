package node

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// signals carries what agents' streams show for a moment and nobody keeps
// (a customer typing): to this node's streams, and through the store's
// relay (store.Relayer) to the streams on the other nodes. With a relay
// every node, this one included, receives what is published, so a signal
// is delivered by the relay alone.
type signals struct {
	mu    sync.Mutex
	subs  map[string]map[chan json.RawMessage]struct{} // by worker
	relay store.Relayer
	stop  func()
	done  chan struct{}
}

// topicSignals is the relay topic of the agents' signals.
const topicSignals = "agents/signals"

type relayedSignal struct {
	Worker string          `json:"worker"`
	Frame  json.RawMessage `json:"frame"`
}

func newSignals(st store.Store) *signals {
	s := &signals{subs: map[string]map[chan json.RawMessage]struct{}{}}
	if r, ok := st.(store.Relayer); ok {
		s.relay = r
		payloads, cancel := r.Receive(topicSignals)
		s.stop, s.done = cancel, make(chan struct{})
		go func() {
			defer close(s.done)
			for p := range payloads {
				var rs relayedSignal
				if json.Unmarshal(p, &rs) == nil && rs.Worker != "" {
					s.local(rs.Worker, rs.Frame)
				}
			}
		}()
	}
	return s
}

// publish sends a frame to the worker's streams, wherever they are.
func (s *signals) publish(ctx context.Context, worker string, frame json.RawMessage) {
	if s.relay == nil {
		s.local(worker, frame)
		return
	}
	b, _ := json.Marshal(relayedSignal{Worker: worker, Frame: frame})
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = s.relay.Publish(ctx, topicSignals, b) // best effort: a lost "typing" is not missed
}

// local hands a frame to this node's streams of the worker; a stream that
// is not reading misses it.
func (s *signals) local(worker string, frame json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs[worker] {
		select {
		case ch <- frame:
		default:
		}
	}
}

func (s *signals) subscribe(worker string) (<-chan json.RawMessage, func()) {
	ch := make(chan json.RawMessage, 8)
	s.mu.Lock()
	if s.subs[worker] == nil {
		s.subs[worker] = map[chan json.RawMessage]struct{}{}
	}
	s.subs[worker][ch] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.subs[worker], ch)
			if len(s.subs[worker]) == 0 {
				delete(s.subs, worker)
			}
			s.mu.Unlock()
		})
	}
}

func (s *signals) close() {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
}

// Signals returns the frames a worker's stream shows and nobody stores
// (a customer typing: {"type": "typing", "task_id", "conversation_id"}),
// from every node, until cancel.
func (n *Node) Signals(worker string) (frames <-chan json.RawMessage, cancel func()) {
	return n.signals.subscribe(worker)
}
