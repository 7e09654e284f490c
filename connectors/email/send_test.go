package email_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/email"
	"github.com/switchboard-dev/switchboard/connectors/email/smtpfake"
)

var sendNow = time.Date(2026, 12, 7, 14, 30, 0, 0, time.UTC)

func sender(t *testing.T, fake *smtpfake.Fake) connectors.Connector {
	t.Helper()
	return newConnector(t, connectors.Config{"smtp_url": fake.URL, "smtp_password": fake.Password},
		connectors.Resources{Now: func() time.Time { return sendNow }})
}

// TestSendThreads: a reply to a received message names it in In-Reply-To
// and the thread in References, answers its subject, and carries a
// Message-ID derived from the Key; a retry sends the same id.
func TestSendThreads(t *testing.T) {
	fake := smtpfake.New(t, smtpfake.WithAuth("support@example.com", "app-password"))
	c := sender(t, fake)
	in, err := c.Receive(context.Background(), post(findPayload(t, "reply-gmail").raw))
	if err != nil || len(in) != 1 {
		t.Fatalf("Receive: %v %v", in, err)
	}
	for _, tc := range []struct {
		name  string
		out   connectors.Outbound
		check map[string]string // header: value ("" for absent)
		text  string
	}{
		{"flow reply in a known thread", connectors.Outbound{Key: "effect-0043", To: in[0].From, Thread: in[0].Thread, Text: "Thanks, Ana.\nWhich language?\n1. English\n2. Bahasa Indonesia"},
			map[string]string{
				"Message-Id":     "<switchboard.effect-0043@example.com>",
				"In-Reply-To":    "<CAJx3Q7fPq0m1sW3e9kR2tYu8iOp5aSdF6g@mail.gmail.com>",
				"References":     "<CAJx3Q7dHn1n2vD0k8pX0qZr5YtA4mWbN9u@mail.gmail.com> <switchboard.effect-0042@example.com> <CAJx3Q7fPq0m1sW3e9kR2tYu8iOp5aSdF6g@mail.gmail.com>",
				"Subject":        "Re: Order 4471 never arrived",
				"Auto-Submitted": "auto-replied",
				"From":           `"Example Support" <support@example.com>`,
				"To":             "<ana.lima@gmail.com>",
				"Date":           "Mon, 07 Dec 2026 14:30:00 +0000",
			}, "Thanks, Ana.\nWhich language?\n1. English\n2. Bahasa Indonesia"},
		{"agent reply in a thread this node never saw", connectors.Outbound{Key: "effect-0044", To: "Bo <bo@example.org>", Thread: "first@bo.example.org", Agent: "ana", Text: "Olá — é a Ana.", Media: []string{"https://switchboard.test/files/label.pdf"}},
			map[string]string{
				"Message-Id":     "<switchboard.effect-0044@example.com>",
				"In-Reply-To":    "<first@bo.example.org>",
				"References":     "<first@bo.example.org>",
				"Subject":        email.DefaultSubject,
				"Auto-Submitted": "",
				"To":             `"Bo" <bo@example.org>`,
			}, "Olá — é a Ana.\nhttps://switchboard.test/files/label.pdf"},
		{"a key that is no id part is hashed", connectors.Outbound{Key: "task 7/reply <1>", To: "bo@example.org", Text: "Hi", Attributes: map[string]any{"subject": "Your ticket"}},
			map[string]string{
				"Message-Id":  "<switchboard.5e3c0d5c5a4fa2b4d0b8d0e56bf4fe54@example.com>",
				"In-Reply-To": "",
				"Subject":     "Your ticket",
			}, "Hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := c.Send(context.Background(), &tc.out)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := fake.Messages()
			m := msgs[len(msgs)-1]
			if got := m.Header.Get("Message-Id"); "<"+id+">" != got {
				t.Errorf("Send returned %q, the message's Message-Id is %q", id, got)
			}
			for k, want := range tc.check {
				got := m.Header.Get(k)
				if k == "Message-Id" && strings.Contains(tc.out.Key, " ") {
					if !strings.HasPrefix(got, "<switchboard.") || len(got) != len(want) {
						t.Errorf("%s = %q, want a hash like %q", k, got, want)
					}
					continue
				}
				if got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if m.Text != tc.text {
				t.Errorf("text %q, want %q", m.Text, tc.text)
			}
			if m.From != "support@example.com" || len(m.To) != 1 {
				t.Errorf("envelope from %q to %v", m.From, m.To)
			}
			if ct := m.Header.Get("Content-Type"); !strings.Contains(ct, "text/plain") || !strings.Contains(ct, "utf-8") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if n := fake.Authenticated(); n != 3 {
		t.Errorf("%d sessions authenticated, want 3", n)
	}
}

// TestSendRetrySameID: after a 451 the retry carries the same Message-ID.
func TestSendRetrySameID(t *testing.T) {
	fake := smtpfake.New(t)
	c := sender(t, fake)
	fake.Fail(451, "4.3.0 Try again later")
	out := &connectors.Outbound{Key: "effect-0100", To: "bo@example.org", Text: "Hi"}
	if _, err := c.Send(context.Background(), out); err == nil || connectors.IsPermanent(err) {
		t.Fatalf("451: err = %v, want temporary", err)
	}
	id, err := c.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if id != "switchboard.effect-0100@example.com" || len(fake.Messages()) != 1 {
		t.Errorf("id %q, %d messages", id, len(fake.Messages()))
	}
}

// TestSendClassifies: SMTP 4xx and network trouble are temporary, 5xx
// and what no retry can fix permanent.
func TestSendClassifies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		setup     func(*smtpfake.Fake) connectors.Config
		to        string
		permanent bool
	}{
		{"452 mailbox full", func(f *smtpfake.Fake) connectors.Config { f.Fail(452, "4.2.2 Mailbox full"); return nil }, "bo@example.org", false},
		{"550 no such user", func(f *smtpfake.Fake) connectors.Config { f.Fail(550, "5.1.1 User unknown"); return nil }, "bo@example.org", true},
		{"554 rejected", func(f *smtpfake.Fake) connectors.Config { f.Fail(554, "5.7.1 Spam"); return nil }, "bo@example.org", true},
		{"bad credentials", func(*smtpfake.Fake) connectors.Config {
			f := smtpfake.New(t, smtpfake.WithAuth("support@example.com", "right"))
			return connectors.Config{"smtp_url": f.URL, "smtp_password": "wrong"}
		}, "bo@example.org", true},
		{"server down", func(f *smtpfake.Fake) connectors.Config { f.Close(); return nil }, "bo@example.org", false},
		{"bad recipient", func(*smtpfake.Fake) connectors.Config { return nil }, "not an address", true},
		{"no smtp_url", func(*smtpfake.Fake) connectors.Config { return connectors.Config{"smtp_url": ""} }, "bo@example.org", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := smtpfake.New(t)
			cfg := connectors.Config{"smtp_url": fake.URL}
			for k, v := range tc.setup(fake) {
				cfg[k] = v
			}
			c := newConnector(t, cfg, connectors.Resources{})
			_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k1", To: tc.to, Text: "Hi"})
			if err == nil || connectors.IsPermanent(err) != tc.permanent {
				t.Errorf("Send: %v (permanent %v), want permanent %v", err, connectors.IsPermanent(err), tc.permanent)
			}
		})
	}
}
