package webchat

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Message is one entry of a visitor's mailbox, as the widget receives it
// on the WebSocket (inside a frame of type "message") and from the
// messages endpoint.
type Message struct {
	// Seq numbers the visitor's messages 1, 2, 3, … within the mailbox's
	// Epoch; the widget renders by it and asks for what follows the last
	// one it has.
	Seq uint64 `json:"seq"`
	// ID is the widget's own id of a visitor message ("" for replies).
	ID string `json:"id,omitempty"`
	// From is "visitor" for what the visitor wrote (echoed to the
	// visitor's other tabs and kept for a reload) and "agent" for the
	// replies of the flow, a bot or a live agent.
	From  string    `json:"from"`
	Text  string    `json:"text"`
	Media []string  `json:"media,omitempty"`
	At    time.Time `json:"at"`
	// Choices are a reply's options, shown as buttons under it, or, when
	// Menu is set, as a list that a button labelled Menu opens. Pages
	// that predate them ignore both and show the text alone.
	Choices []connectors.Choice `json:"choices,omitempty"`
	Menu    string              `json:"menu,omitempty"`
	// Choice is the id of the choice a visitor's message picked (Text is
	// then its title), so every tab shows the question answered.
	Choice string `json:"choice,omitempty"`
	// Agent, on a reply, is the name of the person who wrote it (a live
	// agent); a reply without one is the flow's (a bot). On a notice it
	// is the agent the notice is about.
	Agent string `json:"agent,omitempty"`
	// Kind is set on a notice (From "system"): queued, joined, left or
	// closed (connectors.NoticeKind). Position is a queued conversation's
	// place in line (1 next, 0 unknown) and WaitSeconds how long it has
	// waited.
	Kind        string `json:"kind,omitempty"`
	Position    int    `json:"position,omitempty"`
	WaitSeconds int    `json:"wait_s,omitempty"`

	key string // idempotency key: "in:" + client id, "out:" + Outbound.Key
}

// Senders of mailbox messages.
const (
	FromVisitor = "visitor"
	FromAgent   = "agent"
	FromSystem  = "system" // a notice: what happens to the conversation
)

// errClosed is returned once the hub has been closed.
var errClosed = errors.New("webchat: connector closed")

// errTooManySockets refuses a visitor's socket beyond hubConfig.maxSockets.
var errTooManySockets = errors.New("webchat: too many open connections for this visitor")

// hubConfig sets the hub's bounds.
type hubConfig struct {
	capacity    int           // messages kept per visitor
	maxVisitors int           // mailboxes kept; the least recently used idle one goes first
	idle        time.Duration // a mailbox unused this long (and without sockets or pollers) is dropped
	maxSockets  int           // open WebSockets per visitor
	sendBuffer  int           // frames queued per socket before it is dropped as too slow
	now         func() time.Time
}

func defaultHubConfig(now func() time.Time) hubConfig {
	return hubConfig{capacity: MailboxSize, maxVisitors: MaxVisitors, idle: MailboxIdle,
		maxSockets: MaxSocketsPerVisitor, sendBuffer: 64, now: now}
}

// hub holds the visitors' mailboxes and live sockets of one instance. All
// of its state is behind mu; nothing blocks while holding it.
type hub struct {
	cfg    hubConfig
	mu     sync.Mutex
	boxes  map[string]*mailbox
	lru    list.List // of *mailbox, most recently used first
	closed bool
	done   chan struct{} // closed by close: wakes pollers, stops sockets

	draining  chan struct{} // closed by drain: long-polls answer at once
	drainOnce sync.Once
}

// mailbox is one visitor's bounded message buffer and live sockets.
type mailbox struct {
	visitor string
	epoch   string // random, new for each mailbox: a restart or an eviction starts another epoch
	last    uint64 // seq of the newest message
	msgs    []Message
	keys    map[string]uint64 // idempotency key → seq, for the messages still in msgs
	socks   map[*socket]struct{}
	waiters int           // long-polls waiting on wake
	wake    chan struct{} // closed when a message arrives; nil if nobody waits
	touched time.Time
	elem    *list.Element
}

func (b *mailbox) busy() bool { return len(b.socks) > 0 || b.waiters > 0 }

// socket is one live WebSocket of a visitor, as the hub sees it: a queue
// of encoded frames that the connection's writer drains.
type socket struct {
	out    chan []byte
	kicked chan struct{} // closed when the hub drops the socket (too slow, or closing)
	once   sync.Once
}

func (s *socket) kick() { s.once.Do(func() { close(s.kicked) }) }

func newHub(cfg hubConfig) *hub {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	return &hub{cfg: cfg, boxes: map[string]*mailbox{}, done: make(chan struct{}), draining: make(chan struct{})}
}

// box returns the visitor's mailbox, creating it (and evicting idle ones)
// if needed. h.mu is held.
func (h *hub) box(visitor string) *mailbox {
	now := h.cfg.now()
	if b, ok := h.boxes[visitor]; ok {
		b.touched = now
		h.lru.MoveToFront(b.elem)
		return b
	}
	h.evict(now)
	b := &mailbox{visitor: visitor, epoch: randomID(8), keys: map[string]uint64{}, socks: map[*socket]struct{}{}, touched: now}
	b.elem = h.lru.PushFront(b)
	h.boxes[visitor] = b
	return b
}

// evict drops mailboxes idle for longer than cfg.idle, and the least
// recently used one when there are cfg.maxVisitors. A busy mailbox (open
// sockets, waiting polls) is never dropped: it counts as used now. The
// work per call is bounded. h.mu is held.
func (h *hub) evict(now time.Time) {
	for range 32 {
		e := h.lru.Back()
		if e == nil {
			return
		}
		b := e.Value.(*mailbox)
		if b.busy() {
			b.touched = now
			h.lru.MoveToFront(e)
			continue
		}
		if now.Sub(b.touched) < h.cfg.idle && len(h.boxes) < h.cfg.maxVisitors {
			return
		}
		h.lru.Remove(e)
		delete(h.boxes, b.visitor)
	}
}

// frame is what the WebSocket carries from the server: "hello" first,
// then "message" frames.
type frame struct {
	Type    string `json:"type"`
	Visitor string `json:"visitor,omitempty"`
	Epoch   string `json:"epoch"`
	Last    uint64 `json:"last"`
	// Reset says the client's epoch or position is not this mailbox's: it
	// must forget its last seq (the backlog that follows starts at 1).
	Reset   bool     `json:"reset,omitempty"`
	Message *Message `json:"message,omitempty"`
	// Agent, on a "typing" frame, is who types.
	Agent string `json:"agent,omitempty"`
}

func encodeFrame(f frame) []byte {
	b, _ := json.Marshal(f)
	return b
}

// deliver appends m to the visitor's mailbox, pushes it to the visitor's
// sockets and wakes the visitor's long-polls. A message whose key is
// already in the mailbox is not added again: deliver returns the first
// one with dup true.
func (h *hub) deliver(visitor string, m Message) (stored Message, epoch string, dup bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return Message{}, "", false, errClosed
	}
	b := h.box(visitor)
	if m.key != "" {
		if seq, ok := b.keys[m.key]; ok {
			for _, old := range b.msgs {
				if old.Seq == seq {
					return old, b.epoch, true, nil
				}
			}
		}
	}
	b.last++
	m.Seq = b.last
	b.msgs = append(b.msgs, m)
	if m.key != "" {
		b.keys[m.key] = m.Seq
	}
	if len(b.msgs) > h.cfg.capacity {
		if old := b.msgs[0]; old.key != "" {
			delete(b.keys, old.key)
		}
		b.msgs[0] = Message{}
		b.msgs = b.msgs[1:]
	}
	data := encodeFrame(frame{Type: "message", Epoch: b.epoch, Last: b.last, Message: &m})
	for s := range b.socks {
		select {
		case s.out <- data:
		default: // too slow: drop it; the client reconnects and catches up from the mailbox
			s.kick()
			delete(b.socks, s)
		}
	}
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
	return m, b.epoch, false, nil
}

// signal pushes a frame to the visitor's open sockets without keeping
// it: what is only true for a moment (the agent is typing). Polling pages
// and sockets that cannot take it at once miss it.
func (h *hub) signal(visitor string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.boxes[visitor]
	if h.closed || !ok {
		return
	}
	for s := range b.socks {
		select {
		case s.out <- data:
		default:
		}
	}
}

// since returns the messages after seq `after` of epoch `epoch`. When the
// epoch is another one, or after is beyond the mailbox's last seq, the
// client is out of step: reset is true and every message is returned.
// h.mu is held.
func (b *mailbox) since(after uint64, epoch string) (msgs []Message, reset bool) {
	if epoch != b.epoch || after > b.last {
		after, reset = 0, epoch != "" || after != 0
	}
	for i := range b.msgs {
		if b.msgs[i].Seq > after {
			msgs = append(msgs, b.msgs[i:]...)
			break
		}
	}
	return msgs, reset
}

// attach registers a live socket for the visitor. It returns the frames
// to write first, atomically with the registration: a hello and the
// backlog after (epoch, after). Frames of later messages arrive on
// s.out, so the connection sees every message once and in order.
func (h *hub) attach(visitor string, after uint64, epoch string) (*socket, [][]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, errClosed
	}
	b := h.box(visitor)
	if len(b.socks) >= h.cfg.maxSockets {
		return nil, nil, errTooManySockets
	}
	msgs, reset := b.since(after, epoch)
	first := [][]byte{encodeFrame(frame{Type: "hello", Visitor: visitor, Epoch: b.epoch, Last: b.last, Reset: reset})}
	for i := range msgs {
		first = append(first, encodeFrame(frame{Type: "message", Epoch: b.epoch, Last: b.last, Message: &msgs[i]}))
	}
	s := &socket{out: make(chan []byte, h.cfg.sendBuffer), kicked: make(chan struct{})}
	b.socks[s] = struct{}{}
	return s, first, nil
}

// detach unregisters a socket.
func (h *hub) detach(visitor string, s *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.boxes[visitor]; ok {
		delete(b.socks, s)
		b.touched = h.cfg.now()
	}
}

// Poll is the answer of the messages endpoint.
type Poll struct {
	Visitor  string    `json:"visitor"`
	Epoch    string    `json:"epoch"`
	Last     uint64    `json:"last"`
	Reset    bool      `json:"reset,omitempty"`
	Messages []Message `json:"messages"`
}

// poll returns the visitor's messages after (epoch, after), waiting up to
// wait for one when there are none yet. It returns early when ctx ends or
// the hub closes, with what there is.
func (h *hub) poll(ctx context.Context, visitor string, after uint64, epoch string, wait time.Duration) (Poll, error) {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return Poll{}, errClosed
		}
		b := h.box(visitor)
		msgs, reset := b.since(after, epoch)
		p := Poll{Visitor: visitor, Epoch: b.epoch, Last: b.last, Reset: reset, Messages: msgs}
		if p.Messages == nil {
			p.Messages = []Message{}
		}
		if len(msgs) > 0 || reset || timeout == nil {
			h.mu.Unlock()
			return p, nil
		}
		if b.wake == nil {
			b.wake = make(chan struct{})
		}
		wake := b.wake
		b.waiters++
		h.mu.Unlock()

		stop := false
		select {
		case <-wake:
		case <-timeout:
			stop = true
		case <-ctx.Done():
			stop = true
		case <-h.done:
			stop = true
		case <-h.draining:
			stop = true
		}
		h.mu.Lock()
		b.waiters--
		h.mu.Unlock()
		if stop {
			return p, nil
		}
		epoch = p.Epoch // a message arrived in this epoch: look again
	}
}

// drain answers the long-polls waiting now, and from now on answers them
// without waiting; unlike close, messages are still delivered.
func (h *hub) drain() { h.drainOnce.Do(func() { close(h.draining) }) }

// close stops the hub: pollers return, sockets are dropped, and deliver
// fails from now on.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done)
	for _, b := range h.boxes {
		for s := range b.socks {
			s.kick()
		}
		b.socks = map[*socket]struct{}{}
	}
}

// stats returns the number of mailboxes and open sockets, for tests.
func (h *hub) stats() (boxes, sockets int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.boxes {
		sockets += len(b.socks)
	}
	return len(h.boxes), sockets
}

func (h *hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// sockets returns the number of the visitor's open sockets.
func (h *hub) sockets(visitor string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.boxes[visitor]; ok {
		return len(b.socks)
	}
	return 0
}
