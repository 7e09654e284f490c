package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/backend/memory"
	"github.com/emersion/go-imap/server"

	"github.com/switchboard-dev/switchboard/connectors/email"
	"github.com/switchboard-dev/switchboard/connectors/email/smtpfake"
)

// The email connector end to end: `switchboard serve` runs shipped flows
// with an email instance that fetches go-imap's in-memory mailbox
// under the pull lease and submits to an in-process SMTP server. The
// customer's first mail is fetched by IMAP; the support flow's language
// question goes out by SMTP as a reply in the customer's thread, its
// choices a numbered menu; the customer's answer comes back as raw MIME
// on the webhook (as a forwarding service posts it), its quoted history
// stripped; the task is created with the chosen language, and the
// agent's reply goes out in the same thread.

const emailSecret = "email-webhook-secret"

// emailMailbox starts the in-memory IMAP server holding one unseen
// message, raw. Nothing touches the backend afterwards but the server:
// it has no locks.
func emailMailbox(t *testing.T, raw string) string {
	t.Helper()
	be := memory.New()
	u, err := be.Login(nil, "username", "password")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := u.GetMailbox("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.CreateMessage(nil, time.Now(), bytes.NewBufferString(raw)); err != nil {
		t.Fatal(err)
	}
	srv := server.New(be)
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// withoutPriorityCare makes serveShipped serve the shipped flows but
// escalation.flow, as a deployment without the priority care mailbox
// would: with it, its flow (declared first) takes the email channel's new
// conversations, and the support flow never sees them.
func withoutPriorityCare(t *testing.T) {
	t.Helper()
	flows, err := filepath.Glob("../flows/*.flow")
	if err != nil || len(flows) == 0 {
		t.Fatalf("the shipped flows: %v %v", flows, err)
	}
	root := t.TempDir()
	for _, dir := range []string{"flows", "cli"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range flows {
		if filepath.Base(f) == "escalation.flow" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "flows", filepath.Base(f)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(filepath.Join(root, "cli"))
}

func TestEmailChoicesToATask(t *testing.T) {
	withoutPriorityCare(t)
	first := crlf(`From: Dewi Lestari <Dewi.Lestari@Example.ID>
To: Example Support <support@example.com>
Subject: Pesanan saya
Date: Mon, 7 Dec 2026 14:03:22 +0700
Message-ID: <CAF1rst.dewi.0001@mail.example.id>
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"

I would like to talk to a live agent, please.

--
Dewi
`)
	imapAddr := emailMailbox(t, first)
	fake := smtpfake.New(t, smtpfake.WithAuth("support@example.com", "smtp-app-password"))
	t.Setenv("IMAP_PASSWORD", "password")
	t.Setenv("SMTP_PASSWORD", "smtp-app-password")
	t.Setenv("EMAIL_SECRET", emailSecret)
	r := serveShipped(t, "--connector", "email/default,from_address=Example Support <support@example.com>"+
		",imap_url=imap://username@"+imapAddr+"/INBOX,imap_password=env:IMAP_PASSWORD,poll_interval=200ms"+
		",smtp_url="+fake.URL+",smtp_password=env:SMTP_PASSWORD,webhook_secret=env:EMAIL_SECRET")
	agent := r.worker("ana", map[string]any{"languages": []string{"id", "en"}, "department": "support"}, map[string]int{"email": 5})

	question := fake.Wait(t, func(m smtpfake.Message) bool { return strings.Contains(m.Text, "Which language do you prefer?") })
	if question.Text != "Which language do you prefer?\n1. English\n2. Bahasa Indonesia" {
		t.Errorf("the question's text: %q", question.Text)
	}
	for k, want := range map[string]string{
		"To": "<dewi.lestari@example.id>", "In-Reply-To": "<CAF1rst.dewi.0001@mail.example.id>",
		"References": "<CAF1rst.dewi.0001@mail.example.id>", "Subject": "Re: Pesanan saya", "Auto-Submitted": "auto-replied",
	} {
		if got := question.Header.Get(k); got != want {
			t.Errorf("the question's %s: %q, want %q", k, got, want)
		}
	}
	qid := question.Header.Get("Message-Id")
	if !strings.HasPrefix(qid, "<switchboard.") || !strings.HasSuffix(qid, "@example.com>") {
		t.Fatalf("the question's Message-Id %q", qid)
	}

	// The customer answers from her mail client, quoting the question;
	// a forwarding service posts the raw message.
	answer := crlf(`From: Dewi Lestari <dewi.lestari@example.id>
To: Example Support <support@example.com>
Subject: Re: Pesanan saya
Date: Mon, 7 Dec 2026 14:05:10 +0700
Message-ID: <CAF1rst.dewi.0002@mail.example.id>
In-Reply-To: ` + qid + `
References: <CAF1rst.dewi.0001@mail.example.id> ` + qid + `
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"

2

Pada Sen, 7 Des 2026 pukul 14.04 Example Support <support@example.com> menulis:
> Which language do you prefer?
> 1. English
> 2. Bahasa Indonesia
`)
	h := http.Header{}
	h.Set("Content-Type", "message/rfc822")
	h.Set(email.HeaderSecret, emailSecret)
	if status, _, body := r.post(r.base+"/v1/webhooks/email/default", h, []byte(answer)); status != http.StatusOK {
		t.Fatalf("the answer: %d %s", status, body)
	}

	task := r.accept("ana", agent)
	got := r.taskStatus(task, "assigned")
	attrs, _ := json.Marshal(got["attributes"])
	if !strings.Contains(string(attrs), `"language":"id"`) || !strings.Contains(string(attrs), `"channel":"email"`) {
		t.Fatalf("the task's attributes %s", attrs)
	}

	r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Halo Dewi, saya Ana. Ada yang bisa saya bantu?"}, http.StatusAccepted)
	reply := fake.Wait(t, func(m smtpfake.Message) bool { return strings.Contains(m.Text, "Halo Dewi") })
	if reply.Header.Get("Auto-Submitted") != "" || reply.Header.Get("To") != "<dewi.lestari@example.id>" ||
		!strings.HasPrefix(reply.Header.Get("References"), "<CAF1rst.dewi.0001@mail.example.id>") ||
		reply.Header.Get("In-Reply-To") != "<CAF1rst.dewi.0002@mail.example.id>" || reply.Header.Get("Subject") != "Re: Pesanan saya" {
		t.Errorf("the agent's reply's headers: %v", reply.Header.Header.Map())
	}
	if fake.Authenticated() < 2 {
		t.Errorf("%d authenticated sessions", fake.Authenticated())
	}
	r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
}

// TestEmailPriorityCare: with every shipped flow, a new email
// conversation belongs to priority_care (escalation.flow). A mail comes
// as SendGrid's raw Inbound Parse posts it, behind the secret as Basic
// auth in the URL; the acknowledgement goes out in its thread, the task
// reaches the care team, and the agent's reply follows in the thread.
func TestEmailPriorityCare(t *testing.T) {
	fake := smtpfake.New(t)
	t.Setenv("EMAIL_SECRET", emailSecret)
	r := serveShipped(t, "--connector", "email/default,from_address=Example Care <care@example.com>,smtp_url="+fake.URL+",webhook_secret=env:EMAIL_SECRET")
	agent := r.worker("cleo", map[string]any{"department": "care", "shift": "night", "level": 1, "languages": []string{"en"}}, map[string]int{"email": 5})

	raw := crlf(`From: "Sam O'Neil" <sam@example.org>
To: care@example.com
Subject: Invoice 2231 charged twice
Date: Mon, 7 Dec 2026 14:20:00 +0000
Message-ID: <a1b2c3.sam@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

My card was charged twice for invoice 2231.
`)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("to", "care@example.com")
	_ = w.WriteField("from", `"Sam O'Neil" <sam@example.org>`)
	_ = w.WriteField("email", raw)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, r.base+"/v1/webhooks/email/default", nil)
	req.SetBasicAuth("switchboard", emailSecret)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if status, _, answer := r.post(req.URL.String(), req.Header, body.Bytes()); status != http.StatusOK {
		t.Fatalf("SendGrid's post: %d %s", status, answer)
	}

	ack := fake.Wait(t, func(m smtpfake.Message) bool { return strings.HasPrefix(m.Text, "Thank you for writing to us") })
	if ack.Header.Get("In-Reply-To") != "<a1b2c3.sam@example.org>" || ack.Header.Get("Subject") != "Re: Invoice 2231 charged twice" ||
		ack.Header.Get("To") != "<sam@example.org>" || ack.From != "care@example.com" {
		t.Errorf("the acknowledgement's headers: %v", ack.Header.Header.Map())
	}

	task := r.accept("cleo", agent)
	got := r.taskStatus(task, "assigned")
	if attrs, _ := json.Marshal(got["attributes"]); !strings.Contains(string(attrs), `"tier":"standard"`) {
		t.Errorf("the task's attributes %s", attrs)
	}
	r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Hello Sam, I have refunded the second charge."}, http.StatusAccepted)
	reply := fake.Wait(t, func(m smtpfake.Message) bool { return strings.Contains(m.Text, "refunded the second charge") })
	if reply.Header.Get("In-Reply-To") != "<a1b2c3.sam@example.org>" || reply.Header.Get("Auto-Submitted") != "" {
		t.Errorf("the agent's reply's headers: %v", reply.Header.Header.Map())
	}
	r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
}
