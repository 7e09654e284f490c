package line_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/line"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
)

// clock is a settable clock for the reply token's window.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func startSend(t *testing.T) (connectors.Connector, *linefake.Fake, *clock) {
	t.Helper()
	f := linefake.New(t)
	clk := &clock{t: time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)}
	c := newConnector(t, config(f.URL, nil), connectors.Resources{HTTPClient: f.Client(), Now: clk.now})
	return c, f, clk
}

func receive(t *testing.T, c connectors.Connector, name string) {
	t.Helper()
	if _, err := c.Receive(context.Background(), linefake.Webhook(secret, webhook, findPayload(t, name).Body)); err != nil {
		t.Fatal(err)
	}
}

// paths is the paths of the sends the fake got, in order (not the
// content fetches).
func paths(f *linefake.Fake) string {
	var out []string
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost {
			out = append(out, r.Path)
		}
	}
	return strings.Join(out, " ")
}

// TestSendReplyOrPush: the reply token of the customer's message is used
// once, while fresh, for the flow's messages; agents, late messages,
// redeliveries and refused tokens go by push.
func TestSendReplyOrPush(t *testing.T) {
	const reply, push = linefake.ReplyPath, linefake.PushPath
	for _, tc := range []struct {
		name    string
		payload string
		before  func(f *linefake.Fake, clk *clock)
		agent   string
		want    string // the paths the fake got, for two messages sent
	}{
		{"fresh token, then push", "audio", nil, "", reply + " " + push},
		{"agent pushes", "audio", nil, "ana", push + " " + push},
		{"token expired", "audio", func(_ *linefake.Fake, clk *clock) { clk.add(line.ReplyTokenWindow + time.Second) }, "", push + " " + push},
		{"token still fresh", "audio", func(_ *linefake.Fake, clk *clock) { clk.add(line.ReplyTokenWindow - time.Second) }, "", reply + " " + push},
		{"token refused", "audio", func(f *linefake.Fake, _ *clock) {
			f.Respond(reply, linefake.Answer{Status: 400, Body: linefake.ErrorJSON("Invalid reply token")})
		}, "", reply + " " + push + " " + push},
		{"redelivery keeps no token", "redelivery", nil, "", push + " " + push},
		{"standby keeps no token", "standby", nil, "", push + " " + push},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f, clk := startSend(t)
			receive(t, c, tc.payload)
			if tc.before != nil {
				tc.before(f, clk)
			}
			for i, key := range []string{"effect-1", "effect-2"} {
				id, err := c.Send(context.Background(), &connectors.Outbound{Key: key, Channel: "line", To: customer, Text: "Hi", Agent: tc.agent})
				if err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
				if id == "" {
					t.Errorf("Send %d returned no id", i)
				}
			}
			if got := paths(f); got != tc.want {
				t.Errorf("requests %s, want %s", got, tc.want)
			}
			for _, r := range f.Requests() {
				if r.Path == push && r.Header.Get(line.HeaderRetryKey) == "" {
					t.Errorf("a push without %s", line.HeaderRetryKey)
				}
				if r.Header.Get("Authorization") != "Bearer "+linefake.Token {
					t.Errorf("request without the token: %v", r.Header)
				}
			}
		})
	}
}

// TestSendBodies checks the exact JSON of what Send makes: quick replies
// within LINE's limits, the numbered menu beyond them, media, long text
// split in parts and in requests of at most five messages.
func TestSendBodies(t *testing.T) {
	long := strings.Repeat("word ", 1200) // 6000 characters: two parts
	many := make([]connectors.Choice, 14)
	for i := range many {
		many[i] = connectors.Choice{ID: string(rune('a' + i)), Title: strings.ToUpper(string(rune('a' + i)))}
	}
	for _, tc := range []struct {
		name string
		m    connectors.Outbound
		want []string // the bodies of the pushes, in order; a file name reads testdata
	}{
		{"quick replies", connectors.Outbound{Text: "Which language do you prefer?",
			Choices: []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}},
			[]string{"send-quick-reply.json"}},
		{"label too long: menu", connectors.Outbound{Text: "Pick one",
			Choices: []connectors.Choice{{ID: "a", Title: "A label longer than twenty"}, {ID: "b", Title: "B"}}},
			[]string{pushJSON(`{"text":"Pick one\n1. A label longer than twenty\n2. B","type":"text"}`)}},
		{"fourteen choices: menu", connectors.Outbound{Text: "", Choices: many},
			[]string{pushJSON(`{"text":"` + strings.ReplaceAll(connectors.MenuText("", many), "\n", `\n`) + `","type":"text"}`)}},
		{"image and a file link", connectors.Outbound{Text: "Your invoice", Media: []string{"https://cdn.example.com/a.png", "https://cdn.example.com/invoice.pdf"}},
			[]string{pushJSON(`{"originalContentUrl":"https://cdn.example.com/a.png","previewImageUrl":"https://cdn.example.com/a.png","type":"image"},{"text":"Your invoice\nhttps://cdn.example.com/invoice.pdf","type":"text"}`)}},
		{"long text", connectors.Outbound{Text: long},
			[]string{pushJSON(`{"text":"` + strings.TrimSpace(long[:5000]) + `","type":"text"},{"text":"` + strings.TrimLeft(long[5000:], " ") + `","type":"text"}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f, _ := startSend(t)
			m := tc.m
			m.Key, m.Channel, m.To = "effect-9", "line", customer
			if _, err := c.Send(context.Background(), &m); err != nil {
				t.Fatal(err)
			}
			got := f.Bodies(linefake.PushPath)
			if len(got) != len(tc.want) {
				t.Fatalf("%d pushes, want %d: %s", len(got), len(tc.want), paths(f))
			}
			for i, w := range tc.want {
				if strings.HasSuffix(w, ".json") {
					data, err := os.ReadFile(filepath.Join(payloads, w))
					if err != nil {
						t.Fatal(err)
					}
					w = strings.TrimSpace(string(data))
				}
				if strings.TrimSpace(string(got[i])) != w {
					t.Errorf("push %d:\n%s\nwant\n%s", i, got[i], w)
				}
			}
		})
	}
}

// pushJSON is the body of a push of messages to the customer, as the
// SDK orders its fields.
func pushJSON(messages string) string {
	return `{"to":"` + customer + `","notificationDisabled":false,"customAggregationUnits":null,"messages":[` + messages + `]}`
}

// TestSendManyMessages: more than five messages go in several pushes,
// each with its own stable retry key; after a failure the retry sends
// only the pushes not yet accepted, with the same keys.
func TestSendManyMessages(t *testing.T) {
	c, f, _ := startSend(t)
	var media []string
	for i := range 6 {
		media = append(media, "https://cdn.example.com/"+string(rune('a'+i))+".jpg")
	}
	m := &connectors.Outbound{Key: "effect-7", Channel: "line", To: customer, Text: "Photos", Media: media}
	f.Respond(linefake.PushPath, linefake.Answer{Status: 200, Body: linefake.SentJSON("1", "2", "3", "4", "5")})
	f.Respond(linefake.PushPath, linefake.Answer{Status: 503, Body: linefake.ErrorJSON("Service Unavailable")})
	if _, err := c.Send(context.Background(), m); err == nil || connectors.IsPermanent(err) || !strings.Contains(err.Error(), "request 2 of 2") {
		t.Fatalf("Send: %v, want a temporary error on request 2 of 2", err)
	}
	id, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	var first, second struct{ Messages []json.RawMessage }
	_ = json.Unmarshal(reqs[0].Body, &first)
	_ = json.Unmarshal(reqs[2].Body, &second)
	if len(first.Messages) != 5 || len(second.Messages) != 2 {
		t.Errorf("messages per push %d then %d, want 5 then 2", len(first.Messages), len(second.Messages))
	}
	k0, k1, k2 := reqs[0].Header.Get(line.HeaderRetryKey), reqs[1].Header.Get(line.HeaderRetryKey), reqs[2].Header.Get(line.HeaderRetryKey)
	if k0 != line.RetryKey("effect-7#0") || k1 != line.RetryKey("effect-7#1") || k2 != k1 || k0 == k1 {
		t.Errorf("retry keys %s %s %s", k0, k1, k2)
	}
	if id != linefake.MessageID(2) {
		t.Errorf("id %q, want the last message's %q", id, linefake.MessageID(2))
	}
}

// TestSendRetryAccepted: a push LINE accepted but whose answer was lost
// is retried with the same key, and LINE's 409 for a key it accepted
// means the message went out.
func TestSendRetryAccepted(t *testing.T) {
	f := linefake.New(t)
	m := &connectors.Outbound{Key: "effect-5", Channel: "line", To: customer, Text: "Hi"}
	first := newConnector(t, config(f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	if _, err := first.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// Another node (no memory of the first send) retries the same message.
	second := newConnector(t, config(f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	if _, err := second.Send(context.Background(), m); err != nil {
		t.Fatalf("Send answered 409 for an accepted key: %v", err)
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[0].Header.Get(line.HeaderRetryKey) != reqs[1].Header.Get(line.HeaderRetryKey) {
		t.Fatalf("requests %+v", reqs)
	}
}

// TestSendErrors: LINE's answers classified, with its message.
func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    linefake.Answer
		permanent bool
		retry     time.Duration
		msg       string
	}{
		{"bad request", linefake.Answer{Status: 400, Body: linefake.ErrorJSON("The request body has 1 error(s)", "May not be empty", "messages[0].text")},
			true, 0, "LINE answered 400: The request body has 1 error(s); messages[0].text: May not be empty"},
		{"bad token", linefake.Answer{Status: 401, Body: linefake.ErrorJSON("Authentication failed due to the following reason: invalid token. Confirm that the access token in the authorization header is valid.")},
			true, 0, "invalid token"},
		{"blocked", linefake.Answer{Status: 403, Body: linefake.ErrorJSON("Not authorized to use this API")}, true, 0, "Not authorized"},
		{"quota", linefake.Answer{Status: 429, Body: linefake.ErrorJSON("You have reached your monthly limit.")}, false, 0, "monthly limit"},
		{"rate limit", linefake.Answer{Status: 429, Body: linefake.ErrorJSON("The API rate limit has been exceeded. Try again later."), Header: http.Header{"Retry-After": {"30"}}},
			false, 30 * time.Second, "rate limit"},
		{"server", linefake.Answer{Status: 500, Body: "<html>Internal Server Error</html>", Header: http.Header{"Content-Type": {"text/html"}}}, false, 0, "500: <html>"},
		{"conflict without accepted id", linefake.Answer{Status: 409, Body: linefake.ErrorJSON("Conflict")}, true, 0, "409: Conflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f, _ := startSend(t)
			f.Respond(linefake.PushPath, tc.answer)
			_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: "line", To: customer, Text: "Hi"})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if connectors.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Send: %v (permanent %v), want permanent %v with %q", err, connectors.IsPermanent(err), tc.permanent, tc.msg)
			}
			if d, _ := connectors.RetryDelay(err); d != tc.retry {
				t.Errorf("retry delay %v, want %v", d, tc.retry)
			}
		})
	}
}

// TestSendUndecodedAnswer: a 2xx whose body does not decode means LINE
// sent the messages: Send succeeds rather than send them again.
func TestSendUndecodedAnswer(t *testing.T) {
	c, f, _ := startSend(t)
	receive(t, c, "audio")
	f.Respond(linefake.ReplyPath, linefake.Answer{Status: 200, Body: "<html>OK</html>"})
	if _, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: "line", To: customer, Text: "Hi"}); err != nil {
		t.Fatal(err)
	}
	if got := paths(f); got != linefake.ReplyPath {
		t.Errorf("requests %s, want the reply alone", got)
	}
}

// TestSendRefused: messages Send cannot make are permanent failures.
func TestSendRefused(t *testing.T) {
	c, f, _ := startSend(t)
	for _, m := range []connectors.Outbound{
		{Key: "", Channel: "line", To: customer, Text: "Hi"},
		{Key: "k", Channel: "sms", To: customer, Text: "Hi"},
		{Key: "k", Channel: "line", To: "", Text: "Hi"},
		{Key: "k", Channel: "line", To: customer},
		{Key: "k", Channel: "line", To: customer, Media: []string{"/relative.png"}},
	} {
		if _, err := c.Send(context.Background(), &m); !connectors.IsPermanent(err) {
			t.Errorf("Send(%+v): %v, want a permanent error", m, err)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests to LINE for messages that cannot be sent", n)
	}
}

// TestPostbackTitle: a tapped quick reply comes back as its id, titled
// with the choice offered to that customer.
func TestPostbackTitle(t *testing.T) {
	c, _, _ := startSend(t)
	if _, err := c.Send(context.Background(), &connectors.Outbound{Key: "q", Channel: "line", To: customer, Text: "Which language do you prefer?",
		Choices: []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}}); err != nil {
		t.Fatal(err)
	}
	in, err := c.Receive(context.Background(), linefake.Webhook(secret, webhook, findPayload(t, "postback").Body))
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].Choice != "id" || in[0].Text != "Bahasa Indonesia" {
		t.Errorf("postback gave %+v", in)
	}
}
