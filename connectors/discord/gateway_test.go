package discord_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/discord"
	"github.com/switchboard-dev/switchboard/connectors/discord/discordfake"
)

// puller runs Pull against a fake in the background and collects what it
// delivers.
type puller struct {
	f    *discordfake.Fake
	c    *discord.Conn
	in   chan connectors.Inbound
	done chan error
	stop context.CancelFunc

	mu   sync.Mutex
	fail int // deliveries to refuse before accepting
}

func startPull(t *testing.T, f *discordfake.Fake) *puller {
	t.Helper()
	c := newConn(t, config(f.URL+"/api/v10", f.GatewayURL), connectors.Resources{})
	ctx, cancel := context.WithCancel(context.Background())
	p := &puller{f: f, c: c, in: make(chan connectors.Inbound, 16), done: make(chan error, 1), stop: cancel}
	go func() {
		p.done <- c.Pull(ctx, func(_ context.Context, in []connectors.Inbound) error {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.fail > 0 {
				p.fail--
				return errors.New("the store is down")
			}
			for _, m := range in {
				p.in <- m
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("Pull returned %v when its context ended, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Pull did not return within 5 s of its context's end")
		}
	})
	f.WaitReady(t)
	return p
}

func (p *puller) next(t *testing.T) connectors.Inbound {
	t.Helper()
	select {
	case m := <-p.in:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message delivered within 10 s")
		return connectors.Inbound{}
	}
}

// marker is a DM whose delivery shows that everything dispatched before
// it was handled.
func marker(id string) map[string]any {
	return map[string]any{"id": id, "type": 0, "channel_id": "1345828002201600003", "content": "marker " + id,
		"timestamp": "2026-12-07T14:01:00.000000+00:00", "author": map[string]any{"id": "1573264778749546497", "username": "mira.k"}}
}

// TestGatewayEvents: the recorded MESSAGE_CREATE events give their
// Inbounds; bots', the bot's own and servers' messages give none.
func TestGatewayEvents(t *testing.T) {
	f := discordfake.New(t)
	p := startPull(t, f)
	for _, pl := range payloads(t, "gateway") {
		t.Run(pl.name, func(t *testing.T) {
			f.DispatchRaw("MESSAGE_CREATE", json.RawMessage(pl.section("event")))
			f.Dispatch("MESSAGE_CREATE", marker("9"+pl.name))
			m := p.next(t)
			if m.PlatformID == "9"+pl.name {
				if pl.section("want") != nil && string(pl.section("want")) != "null" {
					t.Errorf("no message, want %s", pl.section("want"))
				}
				checkWant(t, pl, nil)
				return
			}
			checkWant(t, pl, []connectors.Inbound{m})
			if after := p.next(t); after.PlatformID != "9"+pl.name {
				t.Errorf("after the event came %s, want the marker", after.PlatformID)
			}
		})
	}
}

// TestGatewayIdentify: the connection asks for v10 JSON, identifies with
// the token and the DIRECT_MESSAGES intent alone, and heartbeats with the
// last sequence number when Discord asks for one.
func TestGatewayIdentify(t *testing.T) {
	f := discordfake.New(t)
	p := startPull(t, f)
	f.Dispatch("MESSAGE_CREATE", marker("1"))
	p.next(t)
	f.Heartbeat()
	waitOp(t, f, func(op discordfake.Op) bool { return op.Op == 1 })
	ops := f.Ops()
	var id struct {
		Token      string `json:"token"`
		Intents    int    `json:"intents"`
		Properties struct {
			OS, Browser, Device string
		} `json:"properties"`
	}
	if ops[0].Op != 2 || ops[0].Path != "/gateway" || json.Unmarshal(ops[0].D, &id) != nil {
		t.Fatalf("first op %d on %s: %s, want IDENTIFY on /gateway", ops[0].Op, ops[0].Path, ops[0].D)
	}
	if id.Token != discordfake.Token || id.Intents != 1<<12 || id.Properties.Browser != "switchboard" {
		t.Errorf("IDENTIFY %s", ops[0].D)
	}
	if beat := ops[len(ops)-1]; string(beat.D) != "2" { // READY was 1, the marker 2
		t.Errorf("heartbeat d = %s, want the last sequence 2", beat.D)
	}
}

func waitOp(t *testing.T, f *discordfake.Fake, match func(discordfake.Op) bool) discordfake.Op {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, op := range f.Ops() {
			if match(op) {
				return op
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no such op within 10 s; ops: %+v", f.Ops())
	return discordfake.Op{}
}

// TestGatewayResume: after a drop with a code that allows it, or Discord's
// op 7, the connector resumes on resume_gateway_url with the last
// sequence it handled and gets the events it missed.
func TestGatewayResume(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(f *discordfake.Fake)
	}{
		{"close 4000 unknown error", func(f *discordfake.Fake) { f.Drop(4000) }},
		{"close 1001 going away", func(f *discordfake.Fake) { f.Drop(1001) }},
		{"op 7 reconnect", func(f *discordfake.Fake) { f.Reconnect() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := discordfake.New(t)
			p := startPull(t, f)
			f.Dispatch("MESSAGE_CREATE", marker("1"))
			p.next(t)
			tc.cut(f)
			f.Dispatch("MESSAGE_CREATE", marker("2")) // lost with the connection, replayed on resume
			f.WaitReady(t)
			if m := p.next(t); m.PlatformID != "2" {
				t.Errorf("after the resume came %s, want the missed 2", m.PlatformID)
			}
			op := waitOp(t, f, func(op discordfake.Op) bool { return op.Op == 6 })
			var r struct {
				Token     string `json:"token"`
				SessionID string `json:"session_id"`
				Seq       int    `json:"seq"`
			}
			if json.Unmarshal(op.D, &r) != nil || op.Path != "/resume" || r.SessionID != discordfake.SessionID || r.Seq != 2 || r.Token != discordfake.Token {
				t.Errorf("RESUME on %s: %s, want session %s seq 2 on /resume", op.Path, op.D, discordfake.SessionID)
			}
		})
	}
}

// TestGatewayRedeliver: a MESSAGE_CREATE whose delivery failed is not
// counted as seen, so the resume that follows brings it again.
func TestGatewayRedeliver(t *testing.T) {
	f := discordfake.New(t)
	p := startPull(t, f)
	p.mu.Lock()
	p.fail = 1
	p.mu.Unlock()
	f.Dispatch("MESSAGE_CREATE", marker("5"))
	if m := p.next(t); m.PlatformID != "5" {
		t.Errorf("got %s, want 5 again after the failed delivery", m.PlatformID)
	}
}

// TestGatewayFatalClose: a close code that forbids reconnecting ends
// Pull with an error naming it.
func TestGatewayFatalClose(t *testing.T) {
	f := discordfake.New(t)
	c := newConn(t, config(f.URL+"/api/v10", f.GatewayURL), connectors.Resources{})
	done := make(chan error, 1)
	go func() {
		done <- c.Pull(context.Background(), func(context.Context, []connectors.Inbound) error { return nil })
	}()
	f.WaitReady(t)
	f.Drop(4014)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "4014 (disallowed intents") {
			t.Errorf("Pull = %v, want the 4014 close", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pull did not return after close code 4014")
	}
}

// TestGatewayHeartbeats: at a short HELLO interval the connector beats
// on its own; when the ACKs stop, it drops the dead connection and
// resumes.
func TestGatewayHeartbeats(t *testing.T) {
	f := discordfake.New(t)
	f.HeartbeatInterval = 50
	p := startPull(t, f)
	waitOps(t, f, 3, func(op discordfake.Op) bool { return op.Op == 1 && op.Path == "/gateway" })
	f.StopAcks()
	f.WaitReady(t)
	waitOp(t, f, func(op discordfake.Op) bool { return op.Op == 6 && op.Path == "/resume" })
	f.Dispatch("MESSAGE_CREATE", marker("7"))
	if m := p.next(t); m.PlatformID != "7" {
		t.Errorf("after the resume came %s", m.PlatformID)
	}
}

// TestGatewayInvalidSession: a RESUME Discord refuses (op 9, d false)
// is followed by a new IDENTIFY.
func TestGatewayInvalidSession(t *testing.T) {
	f := discordfake.New(t)
	p := startPull(t, f)
	f.ForgetSessions()
	f.Drop(4000)
	f.WaitReady(t)
	ops := f.Ops()
	var seq []string
	for _, op := range ops {
		if op.Op == 2 || op.Op == 6 {
			seq = append(seq, fmt.Sprintf("%d%s", op.Op, op.Path))
		}
	}
	if strings.Join(seq, " ") != "2/gateway 6/resume 2/gateway" {
		t.Errorf("identify and resume ops: %v, want identify, the refused resume, identify", seq)
	}
	f.Dispatch("MESSAGE_CREATE", marker("8"))
	if m := p.next(t); m.PlatformID != "8" {
		t.Errorf("in the new session came %s", m.PlatformID)
	}
}

func waitOps(t *testing.T, f *discordfake.Fake, n int, match func(discordfake.Op) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got := 0
		for _, op := range f.Ops() {
			if match(op) {
				got++
			}
		}
		if got >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d such ops within 10 s: %+v", n, f.Ops())
}
