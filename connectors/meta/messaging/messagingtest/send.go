package messagingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

// Send describes the connector under RunSend.
type Send struct {
	// New builds an instance against the fake (graph_url f.URL), with
	// extra fields over a working configuration.
	New     func(t testing.TB, f *graphfake.Fake, extra connectors.Config) connectors.Connector
	Path    string // the Send API's path on the fake: graphfake.Path("{id}/messages")
	Channel string
	To      string // a customer's id
	Limit   int    // the longest text of one message
	Bytes   bool   // Limit counts UTF-8 bytes rather than UTF-16 code units
}

// RunSend checks the exact requests Send makes (method, path with the
// version, bearer token, JSON body) and the id it returns, then how it
// classifies Meta's errors.
func RunSend(t *testing.T, h Send) {
	t.Run("bodies", func(t *testing.T) { runBodies(t, h) })
	t.Run("errors", func(t *testing.T) { runErrors(t, h) })
	t.Run("resume", func(t *testing.T) { runResume(t, h) })
}

// sendCase is a message and the bodies Send must post for it.
type sendCase struct {
	name  string
	extra connectors.Config
	m     connectors.Outbound
	want  []string
}

func sendCases(h Send) []sendCase {
	to := h.To
	text := func(s string) string {
		b, _ := json.Marshal(s)
		return `{"recipient":{"id":"` + to + `"},"messaging_type":"RESPONSE","message":{"text":` + string(b) + `}}`
	}
	// A first word that nearly fills a message, then a few more words.
	unit := "a"
	if h.Bytes {
		unit = "é" // two bytes: the limit counts bytes
	}
	long := strings.Repeat(unit, (h.Limit-2)/len(unit))
	many := make([]connectors.Choice, 14)
	menu := "Pick a store"
	for i := range many {
		many[i] = connectors.Choice{ID: fmt.Sprintf("store_%d", i+1), Title: fmt.Sprintf("Store %d", i+1)}
		menu += fmt.Sprintf("\n%d. Store %d", i+1, i+1)
	}
	three := []connectors.Choice{{ID: "track", Title: "Track my order"}, {ID: "return", Title: "Return an item"}, {ID: "agent", Title: "Talk to a person"}}
	quick := `"quick_replies":[{"content_type":"text","title":"Track my order","payload":"track"},` +
		`{"content_type":"text","title":"Return an item","payload":"return"},{"content_type":"text","title":"Talk to a person","payload":"agent"}]`
	return []sendCase{
		{"text", nil, connectors.Outbound{Text: "Hello! How can we help?"}, []string{text("Hello! How can we help?")}},
		{"a long text in parts, cut between words", nil, connectors.Outbound{Text: long + " and the rest of it"},
			[]string{text(long), text("and the rest of it")}},
		{"media first, each an attachment, then the text", nil,
			connectors.Outbound{Text: "Your invoice and the label", Media: []string{"https://cdn.example.com/label.png", "https://cdn.example.com/invoice-4521.pdf"}},
			[]string{
				`{"recipient":{"id":"` + to + `"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"image","payload":{"url":"https://cdn.example.com/label.png"}}}}`,
				`{"recipient":{"id":"` + to + `"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"file","payload":{"url":"https://cdn.example.com/invoice-4521.pdf"}}}}`,
				text("Your invoice and the label")}},
		{"choices as quick replies", nil, connectors.Outbound{Text: "What do you need?", Choices: three},
			[]string{`{"recipient":{"id":"` + to + `"},"messaging_type":"RESPONSE","message":{"text":"What do you need?",` + quick + `}}`}},
		{"a menu is quick replies too", nil, connectors.Outbound{Text: "What do you need?", Choices: three, Menu: "Options"},
			[]string{`{"recipient":{"id":"` + to + `"},"messaging_type":"RESPONSE","message":{"text":"What do you need?",` + quick + `}}`}},
		{"more than 13 choices: a numbered menu", nil, connectors.Outbound{Text: "Pick a store", Choices: many}, []string{text(menu)}},
		{"a title beyond 20 characters: a numbered menu", nil,
			connectors.Outbound{Text: "Which?", Choices: []connectors.Choice{{ID: "a", Title: "Yes"}, {ID: "b", Title: "I would rather talk to a person"}}},
			[]string{text("Which?\n1. Yes\n2. I would rather talk to a person")}},
		{"choices without text: the menu alone", nil,
			connectors.Outbound{Choices: []connectors.Choice{{ID: "y", Title: "Yes"}, {ID: "n", Title: "No"}}}, []string{text("1. Yes\n2. No")}},
		{"a template is sent as its text", nil,
			connectors.Outbound{Text: "Your order has shipped.", Template: &connectors.Template{Name: "order_shipped", Language: "en"}},
			[]string{text("Your order has shipped.")}},
		{"human_agent_tag, an agent's reply", connectors.Config{"human_agent_tag": "true"},
			connectors.Outbound{Text: "Ana here.", Agent: "w-ana"},
			[]string{`{"recipient":{"id":"` + to + `"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"Ana here."}}`}},
		{"human_agent_tag, a flow's message", connectors.Config{"human_agent_tag": "true"},
			connectors.Outbound{Text: "Thanks for waiting."}, []string{text("Thanks for waiting.")}},
		{"a chat plugin guest by user_ref", nil, connectors.Outbound{To: "user_ref:ref-7f3a9c", Text: "Hello"},
			[]string{`{"recipient":{"user_ref":"ref-7f3a9c"},"messaging_type":"RESPONSE","message":{"text":"Hello"}}`}},
	}
}

func runBodies(t *testing.T, h Send) {
	for _, tc := range sendCases(h) {
		t.Run(tc.name, func(t *testing.T) {
			f := graphfake.New(t)
			c := h.New(t, f, tc.extra)
			m := tc.m
			m.Key, m.Channel = "effect-"+strings.ReplaceAll(tc.name, " ", "-"), h.Channel
			if m.To == "" {
				m.To = h.To
			}
			id, err := c.Send(context.Background(), &m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			reqs := f.Requests()
			if len(reqs) != len(tc.want) {
				t.Fatalf("%d requests, want %d: %+v", len(reqs), len(tc.want), reqs)
			}
			for i, r := range reqs {
				if r.Method != http.MethodPost || r.Path != h.Path || r.Token != graphfake.Token ||
					r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("request %d: %s %s, token %q, content type %q; want POST %s with the bearer token, JSON",
						i, r.Method, r.Path, r.Token, r.Header.Get("Content-Type"), h.Path)
				}
				if !bytes.Equal(r.Body, []byte(tc.want[i])) {
					t.Errorf("request %d body\n%s\nwant\n%s", i, r.Body, tc.want[i])
				}
			}
			if want := graphfake.MID(len(reqs)); id != want {
				t.Errorf("Send returned %q, want the last part's mid %q", id, want)
			}
		})
	}
}

func runErrors(t *testing.T, h Send) {
	meta := func(code, subcode int, msg string) string {
		return graphfake.ErrorJSON(code, subcode, msg, "OAuthException")
	}
	for _, tc := range []struct {
		name      string
		extra     connectors.Config
		m         connectors.Outbound
		status    int
		body      string
		header    http.Header
		permanent bool
		reason    string // in the error
		retry     time.Duration
	}{
		{"429 with Retry-After", nil, connectors.Outbound{}, 429, meta(613, 0, "Calls to this api have exceeded the rate limit."),
			http.Header{"Retry-After": {"30"}}, false, "613", 30 * time.Second},
		{"503", nil, connectors.Outbound{}, 503, "Service Unavailable", nil, false, "503", 0},
		{"500, code 2", nil, connectors.Outbound{}, 500, meta(2, 0, "An unexpected error has occurred. Please retry your request later."), nil, false, "graph 2", 0},
		{"1200, temporary send failure", nil, connectors.Outbound{}, 400, meta(1200, 0, "Temporary send message failure. Please try again later"), nil, false, "1200", 0},
		{"outside the 24-hour window", nil, connectors.Outbound{}, 400,
			meta(10, 2018278, "(#10) This message is sent outside of allowed window."), nil, true,
			"more than 24 hours since the customer's last message; enable human_agent_tag for agent replies", 0},
		{"outside the 7 days of the tag", connectors.Config{"human_agent_tag": "true"}, connectors.Outbound{Agent: "w-ana"}, 400,
			meta(10, 2018278, "(#10) This message is sent outside of allowed window."), nil, true, "more than 7 days", 0},
		{"user unavailable", nil, connectors.Outbound{}, 400, meta(551, 1545041, "This person isn't available right now."), nil, true,
			"the customer is unavailable", 0},
		{"no such user", nil, connectors.Outbound{}, 400, meta(100, 2018001, "(#100) No matching user found"), nil, true, "no such customer", 0},
		{"expired token", nil, connectors.Outbound{}, 401, meta(190, 463, "Error validating access token: Session has expired"), nil, true,
			"the access token is invalid or expired", 0},
		{"another 400", nil, connectors.Outbound{}, 400, meta(100, 0, "(#100) Param recipient[id] must be a valid ID string"), nil, true, "Param recipient[id]", 0},
		{"another channel", nil, connectors.Outbound{Channel: "sms"}, 0, "", nil, true, "not supported", 0},
		{"no key", nil, connectors.Outbound{Key: "-"}, 0, "", nil, true, "no key", 0},
		{"media that is no URL", nil, connectors.Outbound{Media: []string{"label.png"}}, 0, "", nil, true, "absolute http or https URL", 0},
		{"nothing to send", nil, connectors.Outbound{Text: "-"}, 0, "", nil, true, "no text or media", 0},
		{"a template without text", nil, connectors.Outbound{Text: "-", Template: &connectors.Template{Name: "order_shipped"}}, 0, "", nil, true,
			`template "order_shipped": this channel has no templates`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := graphfake.New(t)
			if tc.status != 0 {
				f.Respond(h.Path, tc.status, tc.body, tc.header)
			}
			c := h.New(t, f, tc.extra)
			m := tc.m
			if m.Key == "" {
				m.Key = "effect-err"
			} else if m.Key == "-" {
				m.Key = ""
			}
			if m.Channel == "" {
				m.Channel = h.Channel
			}
			if m.Text == "" {
				m.Text = "Hello"
			} else if m.Text == "-" {
				m.Text = ""
			}
			m.To = h.To
			_, err := c.Send(context.Background(), &m)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if connectors.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("err = %v (permanent %v), want permanent %v with %q", err, connectors.IsPermanent(err), tc.permanent, tc.reason)
			}
			if d, ok := connectors.RetryDelay(err); tc.retry != 0 && (!ok || d != tc.retry) {
				t.Errorf("RetryDelay = %v %v, want %v", d, ok, tc.retry)
			}
			if tc.status == 0 && len(f.Requests()) != 0 {
				t.Errorf("a message refused before sending made %d requests", len(f.Requests()))
			}
		})
	}
}

// runResume: after a part failed, the outbox's retry of the message sends
// only the parts Meta did not accept.
func runResume(t *testing.T, h Send) {
	f := graphfake.New(t)
	c := h.New(t, f, nil)
	m := connectors.Outbound{Key: "effect-resume", Channel: h.Channel, To: h.To, Text: "See the label",
		Media: []string{"https://cdn.example.com/label.png"}}
	f.Respond(h.Path, http.StatusOK, "", nil)
	f.Respond(h.Path, http.StatusServiceUnavailable, "Service Unavailable", nil)
	_, err := c.Send(context.Background(), &m)
	if err == nil || connectors.IsPermanent(err) || !strings.Contains(err.Error(), "part 2 of 2") {
		t.Fatalf("err = %v, want a temporary error naming part 2 of 2", err)
	}
	id, err := c.Send(context.Background(), &m)
	if err != nil {
		t.Fatalf("Send again: %v", err)
	}
	bodies := f.Bodies(h.Path)
	if len(bodies) != 3 || !bytes.Equal(bodies[1], bodies[2]) || bytes.Equal(bodies[0], bodies[2]) {
		t.Fatalf("bodies %s; want the attachment, the text, the text again", bodies)
	}
	if id != graphfake.MID(3) {
		t.Errorf("Send returned %q, want %q", id, graphfake.MID(3))
	}
}
