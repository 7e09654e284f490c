package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// TestNotify checks what the visitor's page gets of the runtime's notices:
// queued, joined, left and closed as mailbox entries from "system" (once
// per key, kept for the long-poll and a reload), typing as a frame on the
// open socket only, an agent's reply with the agent's name and the flow's
// without, and nothing for a kind the page does not know.
func TestNotify(t *testing.T) {
	ts := startServer(t, nil)
	s := ts.session(t, "")
	ws := ts.dial(t, s.Token, "")
	if f := readFrame(t, ws); f.Type != "hello" {
		t.Fatalf("first frame %+v", f)
	}
	ctx := context.Background()
	notify := func(n connectors.Notice) {
		t.Helper()
		n.To, n.Channel, n.ConversationID = s.Visitor, Name, "conv-1"
		if err := ts.c.Notify(ctx, &n); err != nil {
			t.Fatalf("Notify %+v: %v", n, err)
		}
	}
	notify(connectors.Notice{Kind: connectors.NoticeQueued, Key: "n1", Position: 2, Wait: 3500 * time.Millisecond})
	notify(connectors.Notice{Kind: connectors.NoticeQueued, Key: "n1", Position: 2}) // a retry
	notify(connectors.Notice{Kind: connectors.NoticeJoined, Key: "n2", Agent: "w7", AgentName: "Ana"})
	notify(connectors.Notice{Kind: connectors.NoticeTyping, Agent: "w7", AgentName: "Ana"})
	notify(connectors.Notice{Kind: "unknown", Key: "n3"})
	if _, err := ts.c.Send(ctx, &connectors.Outbound{Key: "r1", Channel: Name, To: s.Visitor, Text: "Hi, I'm Ana", Agent: "w7", AgentName: "Ana"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.c.Send(ctx, &connectors.Outbound{Key: "r2", Channel: Name, To: s.Visitor, Text: "How did we do?"}); err != nil {
		t.Fatal(err)
	}
	notify(connectors.Notice{Kind: connectors.NoticeClosed, Key: "n4"})

	var got []string
	for range 6 {
		f := readFrame(t, ws)
		switch {
		case f.Type == "typing":
			got = append(got, "typing "+f.Agent)
		case f.Message != nil:
			m := f.Message
			got = append(got, strings.Join([]string{m.From, m.Kind, m.Agent, m.Text, itoa(m.Position), itoa(m.WaitSeconds)}, "/"))
		}
	}
	want := []string{"system/queued///2/3", "system/joined/Ana//0/0", "typing Ana", "agent//Ana/Hi, I'm Ana/0/0", "agent///How did we do?/0/0",
		"system/closed///0/0"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("the page got\n%q\nwant\n%q", got, want)
	}

	// The long-poll (and a reload) has the notices, not the typing.
	code, _, body := ts.do(t, http.MethodGet, "/webchat/default/messages?wait=0", map[string]string{"Authorization": "Bearer " + s.Token}, "")
	var p Poll
	if code != http.StatusOK || json.Unmarshal(body, &p) != nil || len(p.Messages) != 5 {
		t.Fatalf("poll: %d %s", code, body)
	}
	if p.Messages[0].Kind != "queued" || p.Messages[1].Agent != "Ana" || p.Messages[4].Kind != "closed" {
		t.Errorf("polled %+v", p.Messages)
	}

	// Errors: not a visitor, a stored notice without a key.
	if err := ts.c.Notify(ctx, &connectors.Notice{Kind: connectors.NoticeJoined, To: "+14155550100", Key: "k"}); !connectors.IsPermanent(err) {
		t.Errorf("a notice to a phone number: %v, want a permanent error", err)
	}
	if err := ts.c.Notify(ctx, &connectors.Notice{Kind: connectors.NoticeJoined, To: s.Visitor}); !connectors.IsPermanent(err) {
		t.Errorf("a notice without a key: %v, want a permanent error", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := ts.c.Notify(canceled, &connectors.Notice{Kind: connectors.NoticeTyping, To: s.Visitor}); !errors.Is(err, context.Canceled) {
		t.Errorf("a canceled notice: %v", err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestInboundExtras checks the pre-chat email and the read receipts on the
// webhook: an email is normalized into Inbound.Email, a bad one refused; a
// receipt is a delivery report for a reply sent to this visitor, alone in
// its body, with its status one of delivered and read.
func TestInboundExtras(t *testing.T) {
	c := newTest(t, connectors.Config{"secret": testSecret, "prechat": "name, email"}, connectors.Resources{})
	visitor, token := c.NewVisitor()
	other, _ := c.NewVisitor()
	ctx := context.Background()

	ins, err := c.Receive(ctx, webhook(token, `{"id":"c_1","text":"hi","name":"Chen Wei","email":"  Chen.Wei@Example.COM "}`))
	if err != nil || len(ins) != 1 || ins[0].Email != "chen.wei@example.com" || ins[0].FromName != "Chen Wei" {
		t.Fatalf("with an email: %v %+v", err, ins)
	}
	ins, err = c.Receive(ctx, webhook(token, `{"id":"c_2","text":"hi","email":""}`))
	if err != nil || ins[0].Email != "" {
		t.Fatalf("an empty email: %v %+v", err, ins)
	}
	msg := visitor + ":abc:7"
	ins, err = c.Receive(ctx, webhook(token, `{"receipt":{"message":"`+msg+`","status":"read"}}`))
	if err != nil || len(ins) != 1 || ins[0].Status == nil || ins[0].Status.PlatformID != msg || ins[0].Status.Status != "read" ||
		ins[0].PlatformID != "receipt:"+msg+":read" || ins[0].From != visitor || ins[0].Text != "" {
		t.Fatalf("a receipt: %v %+v", err, ins)
	}
	for body, want := range map[string]string{
		`{"id":"c_3","text":"hi","email":"not an address"}`:                            `field "email" is not an email address`,
		`{"id":"c_3","text":"hi","email":"` + strings.Repeat("a", 250) + `@x.io"}`:     `field "email" is longer than 254 bytes`,
		`{"receipt":{"message":"` + msg + `","status":"seen"}}`:                        `field "receipt.status" must be "delivered" or "read"`,
		`{"receipt":{"message":"","status":"read"}}`:                                   `field "receipt.message" must be a message's id`,
		`{"receipt":{"message":"` + other + `:abc:7","status":"read"}}`:                `not a message sent to this visitor`,
		`{"id":"c_4","text":"hi","receipt":{"message":"` + msg + `","status":"read"}}`: `a receipt comes alone`,
	} {
		_, err := c.Receive(ctx, webhook(token, body))
		var se *connectors.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want 400 %q", body, err, want)
		}
	}
}

// TestPrechatAndEmbed checks the prechat field (the session lists its
// fields; a field it does not know is refused at start) and that embed.js
// is the widget's script.
func TestPrechatAndEmbed(t *testing.T) {
	ts := startServer(t, connectors.Config{"secret": testSecret, "prechat": "email name"})
	code, _, body := ts.do(t, http.MethodPost, "/webchat/default/session", nil, "")
	var s struct{ Prechat []string }
	if code != http.StatusOK || json.Unmarshal(body, &s) != nil || strings.Join(s.Prechat, ",") != "email,name" {
		t.Fatalf("session: %d %s", code, body)
	}
	plain := startServer(t, nil)
	if _, _, body := plain.do(t, http.MethodPost, "/webchat/default/session", nil, ""); !strings.Contains(string(body), `"prechat":[]`) {
		t.Errorf("without a form the session says %s", body)
	}
	for _, bad := range []string{"phone", "name,name"} {
		reg := connectors.NewRegistry()
		reg.MustRegister(Spec(), New)
		if _, err := reg.New(Name, connectors.Config{"prechat": bad}, connectors.Resources{}); err == nil || !strings.Contains(err.Error(), "prechat") {
			t.Errorf("prechat %q: %v", bad, err)
		}
	}
	code, h, js := ts.do(t, http.MethodGet, "/webchat/default/embed.js", nil, "")
	_, _, widget := ts.do(t, http.MethodGet, "/webchat/default/widget.js", nil, "")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || string(js) != string(widget) || len(js) == 0 {
		t.Errorf("embed.js: %d %s, %d bytes", code, h.Get("Content-Type"), len(js))
	}
}
