package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func testHub(t *testing.T, mod func(*hubConfig)) *hub {
	t.Helper()
	cfg := defaultHubConfig(time.Now)
	if mod != nil {
		mod(&cfg)
	}
	h := newHub(cfg)
	t.Cleanup(h.close)
	return h
}

func decodeFrame(t *testing.T, b []byte) frame {
	t.Helper()
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

func recv(t *testing.T, s *socket) frame {
	t.Helper()
	select {
	case b := <-s.out:
		return decodeFrame(t, b)
	case <-time.After(5 * time.Second):
		t.Fatal("no frame")
	}
	return frame{}
}

func reply(text string) Message { return Message{From: FromAgent, Text: text, key: "out:" + text} }

func TestHubTwoSocketsOfOneVisitor(t *testing.T) {
	h := testHub(t, nil)
	v, other := newVisitorID(), newVisitorID()
	s1, first1, err := h.attach(v, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	s2, first2, _ := h.attach(v, 0, "")
	s3, _, _ := h.attach(other, 0, "")
	hello := decodeFrame(t, first1[0])
	if len(first1) != 1 || len(first2) != 1 || hello.Type != "hello" || hello.Visitor != v || hello.Epoch == "" || hello.Last != 0 || hello.Reset {
		t.Fatalf("first frames: %s", first1)
	}
	if _, _, _, err := h.deliver(v, reply("hi")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*socket{s1, s2} {
		f := recv(t, s)
		if f.Type != "message" || f.Epoch != hello.Epoch || f.Message.Seq != 1 || f.Message.Text != "hi" || f.Message.From != FromAgent {
			t.Errorf("frame %+v", f)
		}
	}
	select {
	case b := <-s3.out:
		t.Errorf("another visitor's socket got %s", b)
	default:
	}
	h.detach(v, s1)
	h.deliver(v, reply("again"))
	if f := recv(t, s2); f.Message.Seq != 2 {
		t.Errorf("after detaching one socket: %+v", f)
	}
	select {
	case b := <-s1.out:
		t.Errorf("a detached socket got %s", b)
	default:
	}
}

func TestHubSequenceAndBacklog(t *testing.T) {
	h := testHub(t, nil)
	v := newVisitorID()
	for i := 1; i <= 5; i++ {
		m, epoch, dup, err := h.deliver(v, reply(fmt.Sprint("m", i)))
		if err != nil || dup || m.Seq != uint64(i) || epoch == "" {
			t.Fatalf("deliver %d: %+v %v %v", i, m, dup, err)
		}
	}
	// The same key again: not added, the first delivery returned.
	if m, _, dup, _ := h.deliver(v, reply("m3")); !dup || m.Seq != 3 {
		t.Errorf("duplicate key: seq %d dup %v", m.Seq, dup)
	}
	p, _ := h.poll(context.Background(), v, 0, "", 0)
	epoch := p.Epoch
	if p.Last != 5 || len(p.Messages) != 5 || p.Reset {
		t.Fatalf("poll from the start: %+v", p)
	}
	// A socket that had seen 3 gets 4 and 5 after its hello, then live ones.
	s, first, _ := h.attach(v, 3, epoch)
	if len(first) != 3 || decodeFrame(t, first[1]).Message.Seq != 4 || decodeFrame(t, first[2]).Message.Seq != 5 || decodeFrame(t, first[0]).Reset {
		t.Fatalf("backlog after 3: %s", first)
	}
	h.deliver(v, reply("m6"))
	if f := recv(t, s); f.Message.Seq != 6 || f.Last != 6 {
		t.Errorf("live after backlog: %+v", f)
	}
	// A client of another epoch (a restart) is told to reset and gets everything.
	_, first, _ = h.attach(v, 3, "stale-epoch")
	if hello := decodeFrame(t, first[0]); !hello.Reset || len(first) != 7 {
		t.Errorf("stale epoch: reset %v, %d frames", hello.Reset, len(first))
	}
	if p, _ := h.poll(context.Background(), v, 99, epoch, time.Hour); !p.Reset || len(p.Messages) != 6 {
		t.Errorf("poll beyond the last seq: %+v", p)
	}
	if p, _ := h.poll(context.Background(), v, 6, epoch, 0); p.Reset || len(p.Messages) != 0 || p.Messages == nil {
		t.Errorf("poll at the end without waiting: %+v", p)
	}
}

func TestHubBoundedMailbox(t *testing.T) {
	h := testHub(t, func(c *hubConfig) { c.capacity = 3 })
	v := newVisitorID()
	for i := 1; i <= 10; i++ {
		h.deliver(v, reply(fmt.Sprint("m", i)))
	}
	p, _ := h.poll(context.Background(), v, 0, "", 0)
	if len(p.Messages) != 3 || p.Messages[0].Seq != 8 || p.Messages[2].Seq != 10 || p.Last != 10 {
		t.Fatalf("mailbox of 3 after 10: %+v", p)
	}
	h.mu.Lock()
	keys := len(h.boxes[v].keys)
	h.mu.Unlock()
	if keys != 3 {
		t.Errorf("%d idempotency keys kept, want 3", keys)
	}
	// A key that left the mailbox is forgotten; one still in it is not.
	if _, _, dup, _ := h.deliver(v, reply("m9")); !dup {
		t.Error("key m9 delivered twice")
	}
}

func TestHubLongPoll(t *testing.T) {
	h := testHub(t, nil)
	v := newVisitorID()
	p, _ := h.poll(context.Background(), v, 0, "", 0)
	epoch := p.Epoch

	got := make(chan Poll, 1)
	start := time.Now()
	go func() {
		p, _ := h.poll(context.Background(), v, 0, epoch, 10*time.Second)
		got <- p
	}()
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.boxes[v].waiters == 1 })
	h.deliver(v, reply("hello"))
	select {
	case p := <-got:
		if len(p.Messages) != 1 || p.Messages[0].Text != "hello" || time.Since(start) > 5*time.Second {
			t.Errorf("poll = %+v after %v", p, time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the long-poll did not return when a message arrived")
	}

	// With nothing coming it waits its time, then answers empty.
	start = time.Now()
	p, err := h.poll(context.Background(), v, 1, epoch, 50*time.Millisecond)
	if err != nil || len(p.Messages) != 0 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("empty poll: %+v, %v after %v", p, err, time.Since(start))
	}
	// Canceled: it returns at once.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start = time.Now()
	if _, err := h.poll(ctx, v, 1, epoch, time.Hour); err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("canceled poll: %v after %v", err, time.Since(start))
	}
	// Closing the hub ends the waiting polls.
	done := make(chan error, 1)
	go func() { _, err := h.poll(context.Background(), v, 1, epoch, time.Hour); done <- err }()
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.boxes[v].waiters == 1 })
	h.close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not end a waiting poll")
	}
	if _, err := h.poll(context.Background(), v, 0, "", 0); !errors.Is(err, errClosed) {
		t.Errorf("poll after close: %v", err)
	}
	if _, _, _, err := h.deliver(v, reply("late")); !errors.Is(err, errClosed) {
		t.Errorf("deliver after close: %v", err)
	}
}

// TestHubDrain: a draining hub answers the waiting long-polls and the new
// ones at once (a shutting-down server is not held up by them), and still
// delivers messages.
func TestHubDrain(t *testing.T) {
	h := testHub(t, nil)
	v := newVisitorID()
	p, _ := h.poll(context.Background(), v, 0, "", 0)
	epoch := p.Epoch
	done := make(chan error, 1)
	go func() { _, err := h.poll(context.Background(), v, 0, epoch, time.Hour); done <- err }()
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.boxes[v].waiters == 1 })
	h.drain()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("waiting poll at drain: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("drain did not end a waiting poll")
	}
	start := time.Now()
	if p, err := h.poll(context.Background(), v, 0, epoch, time.Hour); err != nil || len(p.Messages) != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("poll after drain: %+v, %v after %v", p, err, time.Since(start))
	}
	h.drain() // twice is fine
	if _, _, _, err := h.deliver(v, reply("during the drain")); err != nil {
		t.Errorf("deliver while draining: %v", err)
	}
	if p, err := h.poll(context.Background(), v, 0, epoch, time.Hour); err != nil || len(p.Messages) != 1 {
		t.Errorf("poll after a delivery while draining: %+v, %v", p, err)
	}
}

// TestHubManyPollers wakes many long-polls of one visitor with one message.
func TestHubManyPollers(t *testing.T) {
	h := testHub(t, nil)
	v := newVisitorID()
	p, _ := h.poll(context.Background(), v, 0, "", 0)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			p, _ := h.poll(context.Background(), v, 0, p.Epoch, 10*time.Second)
			if len(p.Messages) != 1 {
				t.Errorf("poller got %+v", p)
			}
		})
	}
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.boxes[v].waiters == 20 })
	h.deliver(v, reply("all"))
	wg.Wait()
}

func TestHubSlowSocketIsDropped(t *testing.T) {
	h := testHub(t, func(c *hubConfig) { c.sendBuffer = 2 })
	v := newVisitorID()
	s, _, _ := h.attach(v, 0, "")
	for i := range 3 {
		h.deliver(v, reply(fmt.Sprint(i)))
	}
	select {
	case <-s.kicked:
	default:
		t.Fatal("a socket whose queue is full was not dropped")
	}
	if _, n := h.stats(); n != 0 {
		t.Errorf("%d sockets registered", n)
	}
	// The messages are still in the mailbox for its reconnection.
	if p, _ := h.poll(context.Background(), v, 0, "", 0); len(p.Messages) != 3 {
		t.Errorf("mailbox: %+v", p)
	}
}

func TestHubSocketLimit(t *testing.T) {
	h := testHub(t, func(c *hubConfig) { c.maxSockets = 2 })
	v := newVisitorID()
	h.attach(v, 0, "")
	h.attach(v, 0, "")
	if _, _, err := h.attach(v, 0, ""); !errors.Is(err, errTooManySockets) {
		t.Errorf("third socket: %v", err)
	}
}

func TestHubEviction(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h := testHub(t, func(c *hubConfig) { c.maxVisitors = 3; c.idle = time.Hour; c.now = clock })

	a, b, c, d := newVisitorID(), newVisitorID(), newVisitorID(), newVisitorID()
	h.deliver(a, reply("a"))
	sock, _, _ := h.attach(b, 0, "") // b is busy: never evicted
	h.deliver(c, reply("c"))
	h.deliver(d, reply("d")) // over the cap: a, the least recently used idle one, goes
	if n, _ := h.stats(); n != 3 {
		t.Errorf("%d mailboxes, want 3", n)
	}
	h.mu.Lock()
	_, hasA := h.boxes[a]
	_, hasB := h.boxes[b]
	h.mu.Unlock()
	if hasA || !hasB {
		t.Errorf("evicted the wrong mailbox: a kept %v, b kept %v", hasA, hasB)
	}
	// Idle mailboxes go after the idle time; the busy one stays.
	advance(2 * time.Hour)
	h.deliver(newVisitorID(), reply("e"))
	if n, _ := h.stats(); n != 2 {
		t.Errorf("%d mailboxes after the idle time, want 2 (b and the new one)", n)
	}
	// A mailbox made again has a new epoch: the client resets.
	p, _ := h.poll(context.Background(), a, 0, "", 0)
	if len(p.Messages) != 0 {
		t.Errorf("an evicted mailbox kept %+v", p.Messages)
	}
	h.detach(b, sock)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}
