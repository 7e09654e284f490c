package email_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/switchboard-dev/switchboard/connectors"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lmtpSend submits raw as a local MTA does and returns the answer for its
// one recipient.
func lmtpSend(t *testing.T, addr string, raw []byte) error {
	t.Helper()
	var conn net.Conn
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if conn, err = net.Dial("tcp", addr); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("nothing listens on %s: %v", addr, err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("mx.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("ana.lima@gmail.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("support@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	answers, err := w.CloseWithLMTPResponse()
	if err != nil {
		var lerr smtp.LMTPDataError
		if errors.As(err, &lerr) {
			return lerr["support@example.com"]
		}
		return err
	}
	if len(answers) != 1 {
		t.Fatalf("answers %v", answers)
	}
	return nil
}

// TestLMTP: the local MTA's mail is answered 250 once delivered, 451
// when deliver fails (the MTA tries again), 250 undelivered when
// automatic, 554 when unreadable.
func TestLMTP(t *testing.T) {
	addr := freeAddr(t)
	c := newConnector(t, connectors.Config{"lmtp_addr": addr}, connectors.Resources{})
	var mu sync.Mutex
	var got []connectors.Inbound
	fail := true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.(connectors.Puller).Pull(ctx, func(_ context.Context, in []connectors.Inbound) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return errors.New("store unavailable")
			}
			got = append(got, in...)
			return nil
		})
	}()
	plain := findPayload(t, "plain").raw
	for _, tc := range []struct {
		name string
		raw  []byte
		code int // 0 for 250
	}{
		{"deliver fails", plain, 451},
		{"the MTA tries again", plain, 0},
		{"auto-reply", findPayload(t, "auto-reply").raw, 0},
		{"bounce", findPayload(t, "bounce").raw, 0},
		{"no From", []byte("Subject: who?\r\n\r\nhello\r\n"), 554},
		{"a reply", findPayload(t, "reply-gmail").raw, 0},
	} {
		err := lmtpSend(t, addr, tc.raw)
		var se *smtp.SMTPError
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: %v, want 250", tc.name, err)
		case tc.code != 0 && (!errors.As(err, &se) || se.Code != tc.code):
			t.Errorf("%s: %v, want %d", tc.name, err, tc.code)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Pull after cancel: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ids := platformIDs(got); strings.Join(ids, " ") != "CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com CAJx3Q7fPq0m1sW3e9kR2tYu8iOp5aSdF6g@mail.gmail.com" {
		t.Errorf("delivered %v", ids)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("the listener is still open after Pull returned")
	}
}

// TestLMTPWithIMAP: one Pull fetches the mailbox and listens for the MTA
// together; a listener that cannot start ends the Pull, mailbox too.
func TestLMTPWithIMAP(t *testing.T) {
	mb := newMailbox(t)
	mb.add(t, "latin1")
	addr := freeAddr(t)
	c := newConnector(t, connectors.Config{"lmtp_addr": addr, "imap_url": "imap://username@" + mb.addr, "imap_password": "password", "poll_interval": "1h"}, connectors.Resources{})
	delivered := make(chan string, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.(connectors.Puller).Pull(ctx, func(_ context.Context, in []connectors.Inbound) error {
			delivered <- in[0].PlatformID
			return nil
		})
	}()
	if err := lmtpSend(t, addr, findPayload(t, "plain").raw); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 2 {
		select {
		case id := <-delivered:
			ids = append(ids, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("delivered only %v", ids)
		}
	}
	cancel()
	<-done
	slices.Sort(ids)
	if strings.Join(ids, " ") != "87v8e3k2qz.fsf@exemple.fr CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com" {
		t.Errorf("delivered %v", ids)
	}

	// The address is taken: Pull fails at once, and says why.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	c = newConnector(t, connectors.Config{"lmtp_addr": busy.Addr().String(), "imap_url": "imap://username@" + mb.addr, "imap_password": "password"}, connectors.Resources{})
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.(connectors.Puller).Pull(ctx, func(context.Context, []connectors.Inbound) error { return nil }); err == nil || !strings.Contains(err.Error(), "lmtp") {
		t.Errorf("Pull with the address taken: %v", err)
	}
}
