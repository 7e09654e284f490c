package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/fanout"
)

// languages is a question with two choices, as the runtime hands it over.
func languages(key, to string) *connectors.Outbound {
	return &connectors.Outbound{Key: key, Channel: Name, To: to, Text: "Which language?", Choices: []connectors.Choice{
		{ID: "en", Title: "English"},
		{ID: "es", Title: "Español", Description: "Atención en español"},
	}}
}

func TestRendersChoices(t *testing.T) {
	c := newTest(t, connectors.Config{"secret": testSecret}, connectors.Resources{})
	var r connectors.ChoiceRenderer = c
	for channel, want := range map[string]bool{"webchat": true, "sms": false, "": false} {
		if got := r.RendersChoices(channel); got != want {
			t.Errorf("RendersChoices(%q) = %v, want %v", channel, got, want)
		}
	}
}

func TestSendChoices(t *testing.T) {
	c := newTest(t, connectors.Config{"secret": testSecret}, connectors.Resources{})
	visitor, _ := c.NewVisitor()

	if _, err := c.Send(context.Background(), languages("q1", visitor)); err != nil {
		t.Fatal(err)
	}
	menu := &connectors.Outbound{Key: "q2", To: visitor, Text: "What is it about?", Menu: "Topics", Choices: []connectors.Choice{
		{ID: "order", Title: "An order"}, {ID: "refund", Title: "A refund"}, {ID: "other", Title: "Something else"}}}
	if _, err := c.Send(context.Background(), menu); err != nil {
		t.Fatal(err)
	}
	// A menu label without choices has nothing to open: plain text.
	if _, err := c.Send(context.Background(), &connectors.Outbound{Key: "q3", To: visitor, Text: "Thanks", Menu: "Topics"}); err != nil {
		t.Fatal(err)
	}
	p, _ := c.hub.poll(context.Background(), visitor, 0, "", 0)
	if len(p.Messages) != 3 {
		t.Fatalf("mailbox: %+v", p.Messages)
	}
	if m := p.Messages[0]; len(m.Choices) != 2 || m.Choices[1] != languages("", "").Choices[1] || m.Menu != "" {
		t.Errorf("buttons: %+v", m)
	}
	if m := p.Messages[1]; len(m.Choices) != 3 || m.Choices[2].ID != "other" || m.Menu != "Topics" {
		t.Errorf("menu: %+v", m)
	}
	if m := p.Messages[2]; m.Choices != nil || m.Menu != "" {
		t.Errorf("menu without choices: %+v", m)
	}
	// The mailbox keeps its own copy.
	q := languages("q4", visitor)
	if _, err := c.Send(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	q.Choices[0].Title = "changed"
	if p, _ := c.hub.poll(context.Background(), visitor, 3, p.Epoch, 0); p.Messages[0].Choices[0].Title != "English" {
		t.Errorf("the mailbox shares the caller's choices: %+v", p.Messages[0].Choices)
	}

	// Ids a tap could not send back: the choices are a numbered menu in
	// the text, answered by number or title.
	for i, id := range []string{strings.Repeat("x", MaxChoiceBytes+1), "e\nn", "e\xffn"} {
		m := &connectors.Outbound{Key: "menu-" + strconv.Itoa(i), To: visitor, Text: "Which language?", Menu: "Languages",
			Choices: []connectors.Choice{{ID: "es", Title: "Español"}, {ID: id, Title: "English"}}}
		if _, err := c.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		p, _ := c.hub.poll(context.Background(), visitor, 0, "", 0)
		if got := p.Messages[len(p.Messages)-1]; got.Text != "Which language?\n1. Español\n2. English" || got.Choices != nil || got.Menu != "" {
			t.Errorf("choice id %q: %+v", id, got)
		}
	}

	for _, tc := range []struct {
		name    string
		choices []connectors.Choice
		want    string
	}{
		{"no id", []connectors.Choice{{ID: "en", Title: "English"}, {Title: "Español"}}, "choices[1] has no id"},
		{"no title", []connectors.Choice{{ID: "en", Title: " "}}, `choices[0] ("en") has no title`},
		{"twice", []connectors.Choice{{ID: "en", Title: "English"}, {ID: "en", Title: "Inglés"}}, `choices[1]: id "en" is also choices[0]'s`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Send(context.Background(), &connectors.Outbound{Key: "bad-" + tc.name, To: visitor, Text: "Which?", Choices: tc.choices})
			if !connectors.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Send = %v, want a permanent error %q", err, tc.want)
			}
		})
	}
}

func TestReceiveChoice(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	c := newTest(t, connectors.Config{"secret": testSecret}, connectors.Resources{Now: func() time.Time { return now }})
	visitor, token := c.NewVisitor()
	body, err := os.ReadFile(filepath.Join("testdata", "choices", "webhook.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.Receive(context.Background(), webhook(token, string(body)))
	if err != nil {
		t.Fatal(err)
	}
	want := connectors.Inbound{PlatformID: visitor + ":c_5d0f3a9b1e2c4d6f70819a2b", Channel: Name, From: visitor, To: "default",
		Text: "Español", At: now, Choice: "es"}
	if len(in) != 1 || !equalInbound(in[0], want) {
		t.Fatalf("Receive = %+v\nwant %+v", in, want)
	}
	// The echo to the visitor's tabs says which choice it was.
	p, _ := c.hub.poll(context.Background(), visitor, 0, "", 0)
	if len(p.Messages) != 1 || p.Messages[0].Choice != "es" || p.Messages[0].Text != "Español" {
		t.Errorf("echo: %+v", p.Messages)
	}
	// Typed text has no choice.
	in, err = c.Receive(context.Background(), webhook(token, `{"id":"c_2","text":"es"}`))
	if err != nil || in[0].Choice != "" {
		t.Errorf("typed text: %+v, %v", in, err)
	}

	for _, tc := range []struct{ name, body, reason string }{
		{"number", `{"id":"c_3","text":"One","choice":1}`, `field "choice" must be a string`},
		{"object", `{"id":"c_3","text":"One","choice":{"id":"one"}}`, `field "choice" must be a string`},
		{"empty", `{"id":"c_3","text":"One","choice":""}`, `field "choice" is empty`},
		{"too long", `{"id":"c_3","text":"One","choice":"` + strings.Repeat("é", MaxChoiceBytes/2) + `x"}`, `field "choice" is longer than 256 bytes`},
		{"control character", `{"id":"c_3","text":"One","choice":"one\u0000"}`, `field "choice" must not contain control characters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Receive(context.Background(), webhook(token, tc.body))
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("Receive = %v, want 400 %q", err, tc.reason)
			}
		})
	}
	// At the limit it passes.
	long := strings.Repeat("x", MaxChoiceBytes)
	if in, err := c.Receive(context.Background(), webhook(token, `{"id":"c_4","text":"X","choice":"`+long+`"}`)); err != nil || in[0].Choice != long {
		t.Errorf("a choice of %d bytes: %v", MaxChoiceBytes, err)
	}
}

func equalInbound(a, b connectors.Inbound) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestChoicesOnTheWire: a reply's choices reach the page the three ways
// it reads messages (a live frame, the backlog of a new socket, a
// long-poll), compared with testdata/choices (WEBCHAT_UPDATE=1 rewrites
// them); the page's tap comes back as the Inbound's Choice.
func TestChoicesOnTheWire(t *testing.T) {
	ts := startServer(t, nil)
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	ts.c.now = func() time.Time { return at }
	const visitor = "v_q3jz2x7h5kd4m6n2p7r4t6v2wy"
	token := ts.c.Token(visitor)

	ws := ts.dial(t, token, "")
	hello := readFrame(t, ws)
	if _, err := ts.c.Send(context.Background(), languages("q1", visitor)); err != nil {
		t.Fatal(err)
	}
	menu := &connectors.Outbound{Key: "q2", To: visitor, Text: "What is it about?", Menu: "Choose a topic", Choices: []connectors.Choice{
		{ID: "order", Title: "An order", Description: "Where it is, changing it"}, {ID: "refund", Title: "A refund"}}}
	if _, err := ts.c.Send(context.Background(), menu); err != nil {
		t.Fatal(err)
	}
	normalize := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(hello.Epoch), []byte("EPOCH")) }
	var live []byte
	for range 2 {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		live = append(append(live, normalize(b)...), '\n')
	}
	golden(t, "frames.jsonl", live)

	// A page that connects later gets the same messages in its backlog.
	ws2 := ts.dial(t, token, "")
	readFrame(t, ws2)
	for i, line := range bytes.Split(bytes.TrimSpace(live), []byte("\n")) {
		var f frame
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(f.Message)
		got, _ := json.Marshal(readFrame(t, ws2).Message)
		if !bytes.Equal(got, want) {
			t.Errorf("backlog message %d:\ngot  %s\nwant %s", i+1, got, want)
		}
	}

	status, _, b := ts.do(t, "GET", "/webchat/default/messages?after=0&wait=0", map[string]string{"Authorization": "Bearer " + token}, "")
	if status != 200 {
		t.Fatalf("messages: %d %s", status, b)
	}
	golden(t, "poll.json", normalize(b))

	// The page posts a tap: the choice reaches the flow, the echo reaches
	// the other tabs.
	body, _ := os.ReadFile(filepath.Join("testdata", "choices", "webhook.json"))
	status, _, b = ts.do(t, "POST", "/v1/webhooks/webchat/default",
		map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token}, string(body))
	if status != 200 {
		t.Fatalf("webhook: %d %s", status, b)
	}
	ts.mu.Lock()
	got := ts.received[len(ts.received)-1]
	ts.mu.Unlock()
	if got.Choice != "es" || got.Text != "Español" {
		t.Errorf("inbound: %+v", got)
	}
	if f := readFrame(t, ws); f.Message == nil || f.Message.From != FromVisitor || f.Message.Choice != "es" {
		t.Errorf("echo: %+v", f.Message)
	}
	status, _, b = ts.do(t, "POST", "/v1/webhooks/webchat/default",
		map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token}, `{"id":"c_x","text":"English","choice":["en"]}`)
	if status != 400 || !strings.Contains(string(b), `field \"choice\" must be a string`) {
		t.Errorf("a non-string choice: %d %s", status, b)
	}
}

// golden compares got with testdata/choices/name.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "choices", name)
	if os.Getenv("WEBCHAT_UPDATE") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("%s:\ngot  %s\nwant %s", path, got, want)
	}
}

// TestRelayChoices: a question sent on one node reaches the visitor's
// page on another with its choices, and the tap made through that node
// is echoed with its choice on the first.
func TestRelayChoices(t *testing.T) {
	relay := &fanout.Payloads{}
	res := connectors.Resources{Relay: relay}
	a := newTest(t, connectors.Config{"secret": testSecret}, res)
	b := newTest(t, connectors.Config{"secret": testSecret}, res)
	visitor := newVisitorID()

	poll := func(c *Connector, want int) []Message {
		t.Helper()
		var msgs []Message
		waitFor(t, func() bool {
			p, _ := c.hub.poll(context.Background(), visitor, 0, "", 0)
			msgs = p.Messages
			return len(msgs) >= want
		})
		return msgs
	}
	q := languages("q1", visitor)
	q.Menu = "Languages"
	if _, err := a.Send(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if m := poll(b, 1)[0]; len(m.Choices) != 2 || m.Choices[1] != q.Choices[1] || m.Menu != "Languages" {
		t.Errorf("relayed question: %+v", m)
	}
	in, err := b.Receive(context.Background(), webhook(b.Token(visitor), `{"id":"c_1","text":"English","choice":"en"}`))
	if err != nil || in[0].Choice != "en" {
		t.Fatalf("Receive: %+v, %v", in, err)
	}
	if m := poll(a, 2)[1]; m.From != FromVisitor || m.Choice != "en" || m.Text != "English" {
		t.Errorf("relayed tap: %+v", m)
	}
}
