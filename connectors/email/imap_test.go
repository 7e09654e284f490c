package email_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/backend"
	"github.com/emersion/go-imap/backend/memory"
	"github.com/emersion/go-imap/client"
	"github.com/emersion/go-imap/server"

	"github.com/switchboard-dev/switchboard/connectors"
)

// mailbox is go-imap's in-memory IMAP server with its one user
// (username/password), on loopback.
type mailbox struct {
	addr     string
	inbox    *memory.Mailbox
	validity *atomic.Uint32 // the UIDVALIDITY the server reports
	// updates reach the clients that selected the mailbox (during IDLE,
	// at once): the memory backend sends none of its own.
	updates chan backend.Update
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	be := memory.New()
	validity := new(atomic.Uint32)
	validity.Store(1)
	updates := make(chan backend.Update, 1)
	srv := server.New(renumbered{be, validity, updates})
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	u, err := be.Login(nil, "username", "password")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := u.GetMailbox("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return &mailbox{addr: l.Addr().String(), inbox: mb.(*memory.Mailbox), validity: validity, updates: updates}
}

// renumbered is a backend whose mailboxes report the UIDVALIDITY in
// validity (the memory backend's is always 1), so a test can renumber.
type renumbered struct {
	backend.Backend
	validity *atomic.Uint32
	updates  chan backend.Update
}

func (b renumbered) Updates() <-chan backend.Update { return b.updates }

func (b renumbered) Login(ci *imap.ConnInfo, user, password string) (backend.User, error) {
	u, err := b.Backend.Login(ci, user, password)
	if err != nil {
		return nil, err
	}
	return renumberedUser{u, b.validity}, nil
}

type renumberedUser struct {
	backend.User
	validity *atomic.Uint32
}

func (u renumberedUser) GetMailbox(name string) (backend.Mailbox, error) {
	mb, err := u.User.GetMailbox(name)
	if err != nil {
		return nil, err
	}
	return renumberedMailbox{mb, u.validity}, nil
}

type renumberedMailbox struct {
	backend.Mailbox
	validity *atomic.Uint32
}

func (m renumberedMailbox) Status(items []imap.StatusItem) (*imap.MailboxStatus, error) {
	st, err := m.Mailbox.Status(items)
	if st != nil {
		st.UidValidity = m.validity.Load()
	}
	return st, err
}

// add appends a recorded message, unseen. Only while no Pull runs: the
// memory backend has no locks.
func (m *mailbox) add(t *testing.T, name string) {
	t.Helper()
	if err := m.inbox.CreateMessage(nil, time.Now(), bytes.NewBuffer(findPayload(t, name).raw)); err != nil {
		t.Fatal(err)
	}
}

// seen returns the Message-IDs of the \Seen messages.
func (m *mailbox) seen() []string {
	var ids []string
	for _, msg := range m.inbox.Messages {
		if slices.Contains(msg.Flags, imap.SeenFlag) {
			i := bytes.Index(bytes.ToLower(msg.Body), []byte("message-id: <"))
			if i < 0 {
				ids = append(ids, "(none)")
				continue
			}
			rest := msg.Body[i+len("message-id: <"):]
			ids = append(ids, string(rest[:bytes.IndexByte(rest, '>')]))
		}
	}
	slices.Sort(ids)
	return ids
}

func (m *mailbox) puller(t *testing.T) connectors.Puller {
	t.Helper()
	c := newConnector(t, connectors.Config{"imap_url": "imap://username@" + m.addr + "/INBOX", "imap_password": "password", "poll_interval": "30ms"}, connectors.Resources{})
	return c.(connectors.Puller)
}

// pullRun runs Pull until want messages were delivered and a few polls
// more passed (for any redelivery to show), then stops it. Each deliver
// first checks, on a second connection, that the message is not \Seen
// yet.
func (m *mailbox) pullRun(t *testing.T, p connectors.Puller, want int) []connectors.Inbound {
	t.Helper()
	check, err := client.Dial(m.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Logout()
	if err := check.Login("username", "password"); err != nil {
		t.Fatal(err)
	}
	if _, err := check.Select("INBOX", true); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []connectors.Inbound
	enough := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Pull(ctx, func(_ context.Context, in []connectors.Inbound) error {
			if len(in) != 1 {
				t.Errorf("deliver got %d messages, want one a call", len(in))
			}
			crit := imap.NewSearchCriteria()
			crit.Header.Set("Message-Id", "<"+in[0].PlatformID+">")
			crit.WithFlags = []string{imap.SeenFlag}
			if uids, err := check.UidSearch(crit); err != nil || len(uids) > 0 {
				t.Errorf("%s is \\Seen before deliver returned (%v)", in[0].PlatformID, err)
			}
			mu.Lock()
			defer mu.Unlock()
			got = append(got, in...)
			if len(got) == want {
				close(enough)
			}
			return nil
		})
	}()
	select {
	case <-enough:
	case err := <-done:
		t.Fatalf("Pull returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("Pull delivered %d messages in 10 s, want %d", len(got), want)
	}
	time.Sleep(150 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Pull after cancel: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

func platformIDs(in []connectors.Inbound) []string {
	var ids []string
	for _, m := range in {
		ids = append(ids, m.PlatformID)
	}
	slices.Sort(ids)
	return ids
}

// TestPull: Pull delivers each unseen message once, oldest first, marks
// it \Seen after deliver returned, marks automatic mail \Seen undelivered,
// and does not fetch what it dealt with again; a restarted connector
// starts over from the unseen messages.
func TestPull(t *testing.T) {
	mb := newMailbox(t)
	mb.add(t, "plain")
	mb.add(t, "auto-reply")
	mb.add(t, "reply-gmail")
	p := mb.puller(t)

	got := mb.pullRun(t, p, 2)
	if ids := platformIDs(got); strings.Join(ids, " ") != "CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com CAJx3Q7fPq0m1sW3e9kR2tYu8iOp5aSdF6g@mail.gmail.com" {
		t.Errorf("delivered %v", ids)
	}
	if got[0].Text == "" || got[1].Thread != got[0].PlatformID {
		t.Errorf("parsed as the webhook does? %+v", got)
	}
	wantSeen := []string{"0000000@localhost/", "CAJx3Q7auto00vacation1@mail.gmail.com", "CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com", "CAJx3Q7fPq0m1sW3e9kR2tYu8iOp5aSdF6g@mail.gmail.com"}
	if s := mb.seen(); !slices.Equal(s, wantSeen) {
		t.Errorf("seen %v, want %v", s, wantSeen)
	}

	// Someone marks the first message unread: the same connector, past
	// it, does not fetch it again, but does fetch the new one.
	mb.inbox.Messages[1].Flags = nil
	mb.add(t, "latin1")
	got = mb.pullRun(t, p, 1)
	if ids := platformIDs(got); len(ids) != 1 || ids[0] != "87v8e3k2qz.fsf@exemple.fr" {
		t.Errorf("second run delivered %v", ids)
	}

	// A restarted connector knows no cursor: the unread message comes
	// again, for the runtime's dedupe on its Message-ID.
	got = mb.pullRun(t, mb.puller(t), 1)
	if ids := platformIDs(got); len(ids) != 1 || ids[0] != "CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com" {
		t.Errorf("after a restart delivered %v", ids)
	}
}

// TestPullDeliverFails: when deliver fails, Pull returns the error and the
// message stays unseen for the next Pull.
func TestPullDeliverFails(t *testing.T) {
	mb := newMailbox(t)
	mb.add(t, "plain")
	p := mb.puller(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.Pull(ctx, func(context.Context, []connectors.Inbound) error { return errors.New("store unavailable") })
	if err == nil || !strings.Contains(err.Error(), "store unavailable") {
		t.Fatalf("Pull = %v, want deliver's error", err)
	}
	if s := mb.seen(); len(s) != 1 {
		t.Errorf("seen %v: the undelivered message was marked", s)
	}
	got := mb.pullRun(t, p, 1)
	if len(got) != 1 {
		t.Errorf("the next Pull delivered %d", len(got))
	}
}

// TestPullLoginFails: a wrong password is Pull's error, named.
func TestPullLoginFails(t *testing.T) {
	mb := newMailbox(t)
	c := newConnector(t, connectors.Config{"imap_url": "imap://username@" + mb.addr, "imap_password": "wrong"}, connectors.Resources{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.(connectors.Puller).Pull(ctx, func(context.Context, []connectors.Inbound) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `login as "username"`) {
		t.Errorf("Pull = %v", err)
	}
}

// TestPullRenumbered: when the server's UIDVALIDITY changes, the old UIDs
// mean nothing: every unseen message is fetched again, below the cursor
// too.
func TestPullRenumbered(t *testing.T) {
	mb := newMailbox(t)
	mb.add(t, "plain")
	mb.add(t, "latin1")
	p := mb.puller(t)
	if got := mb.pullRun(t, p, 2); len(got) != 2 {
		t.Fatalf("delivered %d", len(got))
	}
	// The server rebuilt its index: new UIDs, lower than before, and the
	// first message unread again.
	for i, m := range mb.inbox.Messages {
		m.Uid = uint32(i + 1)
	}
	mb.inbox.Messages[1].Flags = nil
	mb.validity.Store(2)
	got := mb.pullRun(t, p, 1)
	if ids := platformIDs(got); len(ids) != 1 || ids[0] != "CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com" {
		t.Errorf("after renumbering delivered %v", ids)
	}
}

// TestPullUnreadable: a message the connector cannot read (no From) is
// left unseen for a person and passed over; the next one is delivered.
func TestPullUnreadable(t *testing.T) {
	mb := newMailbox(t)
	if err := mb.inbox.CreateMessage(nil, time.Now(), bytes.NewBufferString("Subject: who?\r\nMessage-ID: <anon@x.example>\r\n\r\nhello")); err != nil {
		t.Fatal(err)
	}
	mb.add(t, "plain")
	got := mb.pullRun(t, mb.puller(t), 1)
	if ids := platformIDs(got); len(ids) != 1 || ids[0] != "CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com" {
		t.Errorf("delivered %v", ids)
	}
	if s := mb.seen(); slices.Contains(s, "anon@x.example") || !slices.Contains(s, "CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com") {
		t.Errorf("seen %v", s)
	}
}

// TestPullIdle: while Pull idles, the server's news of a new message
// wakes it at once, long before poll_interval.
func TestPullIdle(t *testing.T) {
	mb := newMailbox(t)
	mb.add(t, "plain")
	c := newConnector(t, connectors.Config{"imap_url": "imap://username@" + mb.addr, "imap_password": "password", "poll_interval": "1h"}, connectors.Resources{})
	delivered := make(chan connectors.Inbound, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.(connectors.Puller).Pull(ctx, func(_ context.Context, in []connectors.Inbound) error {
			delivered <- in[0]
			return nil
		})
	}()
	defer func() {
		cancel()
		<-done
	}()
	next := func() connectors.Inbound {
		t.Helper()
		select {
		case in := <-delivered:
			return in
		case err := <-done:
			t.Fatalf("Pull returned: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery in 10 s")
		}
		return connectors.Inbound{}
	}
	if in := next(); in.PlatformID != "CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com" {
		t.Fatalf("first delivery %s", in.PlatformID)
	}
	// Let Pull mark the message and start idling; a round trip on a
	// connection of our own orders the server's work before our write.
	time.Sleep(300 * time.Millisecond)
	other, err := client.Dial(mb.addr)
	if err != nil {
		t.Fatal(err)
	}
	other.Logout()
	mb.add(t, "latin1")
	st := imap.NewMailboxStatus("INBOX", []imap.StatusItem{imap.StatusMessages})
	st.Messages = uint32(len(mb.inbox.Messages))
	mb.updates <- &backend.MailboxUpdate{Update: backend.NewUpdate("username", "INBOX"), MailboxStatus: st}
	if in := next(); in.PlatformID != "87v8e3k2qz.fsf@exemple.fr" {
		t.Errorf("second delivery %s", in.PlatformID)
	}
}

// withoutIdle is a proxy to the mailbox that hides IDLE from the
// server's capabilities, as servers without it answer, and counts the
// IDLE commands the client sends anyway.
func withoutIdle(t *testing.T, upstream string) (addr string, idles *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	idles = new(atomic.Int32)
	go func() {
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				down.Close()
				return
			}
			go pipeLines(up, down, func(line []byte) []byte {
				// In the greeting, CAPABILITY's answer, and LOGIN's tagged OK.
				if bytes.HasPrefix(line, []byte("* CAPABILITY")) || bytes.Contains(line, []byte(" [CAPABILITY ")) {
					return bytes.Replace(line, []byte(" IDLE"), nil, 1)
				}
				return line
			})
			go pipeLines(down, up, func(line []byte) []byte {
				if _, cmd, ok := bytes.Cut(line, []byte(" ")); ok && bytes.EqualFold(bytes.TrimSpace(cmd), []byte("IDLE")) {
					idles.Add(1)
				}
				return line
			})
		}
	}()
	return l.Addr().String(), idles
}

// pipeLines copies src to dst line by line through edit, closing both
// at the end.
func pipeLines(src, dst net.Conn, edit func([]byte) []byte) {
	defer src.Close()
	defer dst.Close()
	r := bufio.NewReader(src)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := dst.Write(edit(line)); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestPullPolls: against a server without IDLE, Pull polls every
// poll_interval and never sends IDLE.
func TestPullPolls(t *testing.T) {
	mb := newMailbox(t)
	addr, idles := withoutIdle(t, mb.addr)
	mb.add(t, "plain")
	mb.add(t, "reply-gmail")
	mb.addr = addr // Pull and the test's own checks go through the proxy
	got := mb.pullRun(t, mb.puller(t), 2)
	if len(got) != 2 || idles.Load() != 0 {
		t.Errorf("delivered %d, %d IDLE commands", len(got), idles.Load())
	}
}
