package whatsapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

var messagesPath = graphfake.Path(phoneID + "/messages")

func sendOne(t *testing.T, m *connectors.Outbound) (string, []graphfake.Request) {
	t.Helper()
	f := graphfake.New(t)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	id, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return id, f.Requests()
}

// TestSendBodies asserts the exact requests Send makes: the path with the
// Graph version, the bearer token, and each JSON body.
func TestSendBodies(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("word ", 1000)) // 4999 characters
	tests := []struct {
		name string
		m    connectors.Outbound
		want []string
	}{
		{"text", connectors.Outbound{Text: "Hi, how can we help?"},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"Hi, how can we help?"}}`}},
		{"long text split on a word boundary", connectors.Outbound{Text: long},
			[]string{
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"` + strings.TrimSpace(strings.Repeat("word ", 819)) + `"}}`,
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"` + strings.TrimSpace(strings.Repeat("word ", 181)) + `"}}`,
			}},
		{"image with caption", connectors.Outbound{Text: "Your receipt", Media: []string{"https://cdn.example.com/r/receipt.JPG"}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"image","image":{"link":"https://cdn.example.com/r/receipt.JPG","caption":"Your receipt"}}`}},
		{"audio then text", connectors.Outbound{Text: "Listen", Media: []string{"https://cdn.example.com/a/note.ogg"}},
			[]string{
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"audio","audio":{"link":"https://cdn.example.com/a/note.ogg"}}`,
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"Listen"}}`,
			}},
		{"document by default, video", connectors.Outbound{Media: []string{"https://cdn.example.com/d/invoice-42.pdf?sig=x", "https://cdn.example.com/v/howto.mp4"}},
			[]string{
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"document","document":{"link":"https://cdn.example.com/d/invoice-42.pdf?sig=x","filename":"invoice-42.pdf"}}`,
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"video","video":{"link":"https://cdn.example.com/v/howto.mp4"}}`,
			}},
		{"template with positional variables", connectors.Outbound{Text: "ignored", Template: &connectors.Template{Name: "order_update", Language: "en_US",
			Variables: map[string]string{"2": "#4521", "1": "Ana", "10": "x", "3": "c", "4": "d", "5": "e", "6": "f", "7": "g", "8": "h", "9": "i"}}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"template","template":{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body","parameters":[` +
				`{"type":"text","text":"Ana"},{"type":"text","text":"#4521"},{"type":"text","text":"c"},{"type":"text","text":"d"},{"type":"text","text":"e"},{"type":"text","text":"f"},{"type":"text","text":"g"},{"type":"text","text":"h"},{"type":"text","text":"i"},{"type":"text","text":"x"}]}]}}`}},
		{"template with named variables", connectors.Outbound{Template: &connectors.Template{Name: "welcome", Language: "es", Variables: map[string]string{"order": "4521", "first_name": "Ana"}}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"template","template":{"name":"welcome","language":{"code":"es"},"components":[{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Ana"},{"type":"text","parameter_name":"order","text":"4521"}]}]}}`}},
		{"template without variables", connectors.Outbound{Template: &connectors.Template{Name: "hello_world", Language: "en_US"}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`}},
		{"three choices as buttons", connectors.Outbound{Text: "What is it about?", Choices: []connectors.Choice{{ID: "billing", Title: "Billing"}, {ID: "tech", Title: "Technical problem"}, {ID: "other", Title: "Something else"}}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive","interactive":{"type":"button","body":{"text":"What is it about?"},"action":{"buttons":[` +
				`{"type":"reply","reply":{"id":"billing","title":"Billing"}},{"type":"reply","reply":{"id":"tech","title":"Technical problem"}},{"type":"reply","reply":{"id":"other","title":"Something else"}}]}}}`}},
		{"a menu asks for a list", connectors.Outbound{Text: "Pick a topic", Menu: "Topics", Choices: []connectors.Choice{{ID: "refund", Title: "Refund", Description: "Money back for an order"}, {ID: "track", Title: "Track an order"}}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"Pick a topic"},"action":{"button":"Topics","sections":[{"rows":[` +
				`{"id":"refund","title":"Refund","description":"Money back for an order"},{"id":"track","title":"Track an order"}]}]}}}`}},
		{"four choices as a list", connectors.Outbound{Text: "Pick one", Choices: choices(4, "Option")},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"Pick one"},"action":{"button":"Options","sections":[{"rows":[` +
				`{"id":"c1","title":"Option 1"},{"id":"c2","title":"Option 2"},{"id":"c3","title":"Option 3"},{"id":"c4","title":"Option 4"}]}]}}}`}},
		{"a title too long for a button makes a list", connectors.Outbound{Text: "Pick", Choices: []connectors.Choice{{ID: "a", Title: "A title of 22 letters!"}}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive","interactive":{"type":"list","body":{"text":"Pick"},"action":{"button":"Options","sections":[{"rows":[{"id":"a","title":"A title of 22 letters!"}]}]}}}`}},
		{"eleven choices as a text menu", connectors.Outbound{Text: "Pick one", Choices: choices(11, "Option")},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"` +
				strings.ReplaceAll(connectors.MenuText("Pick one", choices(11, "Option")), "\n", `\n`) + `"}}`}},
		{"a title too long for a list row as a text menu", connectors.Outbound{Text: "Pick", Menu: "Menu", Choices: []connectors.Choice{{ID: "a", Title: "A title far longer than 24"}}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"Pick\n1. A title far longer than 24"}}`}},
		{"a menu label too long as a text menu", connectors.Outbound{Text: "Pick", Menu: "Choose one of these options", Choices: choices(2, "Option")},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"Pick\n1. Option 1\n2. Option 2"}}`}},
		{"the same id twice as a text menu", connectors.Outbound{Text: "Pick", Choices: []connectors.Choice{{ID: "a", Title: "Yes"}, {ID: "a", Title: "No"}}},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"preview_url":false,"body":"Pick\n1. Yes\n2. No"}}`}},
		{"a customer known by a business-scoped user id", connectors.Outbound{To: "US.13491208655302741918", Text: "Hi"},
			[]string{`{"messaging_product":"whatsapp","recipient_type":"individual","recipient":"US.13491208655302741918","type":"text","text":{"preview_url":false,"body":"Hi"}}`}},
		{"media then buttons", connectors.Outbound{Text: "Is this your order?", Media: []string{"https://cdn.example.com/o.png"}, Choices: []connectors.Choice{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}}},
			[]string{
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"image","image":{"link":"https://cdn.example.com/o.png"}}`,
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive","interactive":{"type":"button","body":{"text":"Is this your order?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}}}`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			m.Key, m.Channel = "effect-1", "whatsapp"
			if m.To == "" {
				m.To = "+16505551234"
			}
			id, reqs := sendOne(t, &m)
			if len(reqs) != len(tt.want) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.want))
			}
			for i, r := range reqs {
				if r.Method != http.MethodPost || r.Path != messagesPath || r.Token != graphfake.Token {
					t.Errorf("request %d: %s %s token %q", i, r.Method, r.Path, r.Token)
				}
				if string(r.Body) != tt.want[i] {
					t.Errorf("request %d body\n%s\nwant\n%s", i, r.Body, tt.want[i])
				}
			}
			var last struct {
				Messages []struct{ ID string } `json:"messages"`
			}
			_ = json.Unmarshal([]byte(graphfake.WhatsAppSendJSON(m.To, graphfake.WAMID(len(reqs)))), &last)
			if id != last.Messages[0].ID {
				t.Errorf("Send returned %q, want the last part's wamid %q", id, last.Messages[0].ID)
			}
		})
	}
}

func choices(n int, title string) []connectors.Choice {
	out := make([]connectors.Choice, n)
	for i := range out {
		out[i] = connectors.Choice{ID: "c" + itoa(i+1), Title: title + " " + itoa(i+1)}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSendRefuses(t *testing.T) {
	tests := []struct {
		name string
		m    connectors.Outbound
		want string
	}{
		{"no key", connectors.Outbound{To: "+16505551234", Text: "x"}, "no key"},
		{"no recipient", connectors.Outbound{Key: "k", Text: "x"}, "no recipient"},
		{"nothing to send", connectors.Outbound{Key: "k", To: "+16505551234"}, "no text"},
		{"another channel", connectors.Outbound{Key: "k", To: "+16505551234", Channel: "sms", Text: "x"}, `channel "sms"`},
		{"template without language", connectors.Outbound{Key: "k", To: "+16505551234", Template: &connectors.Template{Name: "order_update"}}, "no language"},
		{"template variables with a gap", connectors.Outbound{Key: "k", To: "+16505551234", Template: &connectors.Template{Name: "t", Language: "en", Variables: map[string]string{"1": "a", "3": "c"}}}, "without gaps"},
		{"relative media", connectors.Outbound{Key: "k", To: "+16505551234", Media: []string{"/files/a.png"}}, "absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphfake.New(t)
			c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
			_, err := c.Send(context.Background(), &tt.m)
			if err == nil || !connectors.IsPermanent(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Send = %v, want a permanent error with %q", err, tt.want)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		header    http.Header
		permanent bool
		retry     time.Duration
		text      string
	}{
		{"24-hour window", 400, graphfake.WhatsAppErrorJSON(131047, "Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."), nil, true, 0,
			"more than 24 hours since the customer's last message: send a template"},
		{"undeliverable", 400, graphfake.WhatsAppErrorJSON(131026, "Message undeliverable", "Message Undeliverable."), nil, true, 0, "message undeliverable"},
		{"429 with Retry-After", 429, graphfake.ErrorJSON(130429, 0, "Rate limit hit", ""), http.Header{"Retry-After": {"30"}}, false, 30 * time.Second, "throughput limit"},
		{"503", 503, "upstream unavailable", nil, false, 0, "HTTP 503"},
		{"pair rate limit", 400, graphfake.WhatsAppErrorJSON(131056, "(Business Account, Consumer Account) pair rate limit hit", ""), nil, false, 0, "too many messages to this customer"},
		{"bad template", 404, graphfake.WhatsAppErrorJSON(132001, "Template name does not exist in the translation", "template name (order_updat) does not exist in en_US"), nil, true, 0, "no such template"},
		{"expired token", 401, graphfake.ErrorJSON(190, 463, "Error validating access token: Session has expired", ""), nil, true, 0, "access token is invalid or expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphfake.New(t)
			f.Respond(messagesPath, tt.status, tt.body, tt.header)
			c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
			m := &connectors.Outbound{Key: "effect-9", Channel: "whatsapp", To: "16505551234", Text: "Hello"}
			_, err := c.Send(context.Background(), m)
			if err == nil || connectors.IsPermanent(err) != tt.permanent || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Send = %v (permanent %v), want permanent=%v with %q", err, connectors.IsPermanent(err), tt.permanent, tt.text)
			}
			if d, _ := connectors.RetryDelay(err); d != tt.retry {
				t.Errorf("RetryDelay %v, want %v", d, tt.retry)
			}
			var ge *graph.Error
			if !errors.As(err, &ge) || ge.Status != tt.status {
				t.Errorf("no *graph.Error with status %d in %v", tt.status, err)
			}
			if tt.permanent {
				return
			}
			id, err := c.Send(context.Background(), m)
			if err != nil || !strings.HasPrefix(id, "wamid.") {
				t.Fatalf("the outbox's retry: %q %v", id, err)
			}
		})
	}
}

// TestSendRetryKeepsAcceptedParts: when the second part of a long text
// fails, the outbox's retry of the message sends only that part.
func TestSendRetryKeepsAcceptedParts(t *testing.T) {
	f := graphfake.New(t)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	f.Respond(messagesPath, 200, "", nil)
	f.Respond(messagesPath, 503, "busy", nil)
	m := &connectors.Outbound{Key: "effect-7", Channel: "whatsapp", To: "+16505551234", Text: strings.Repeat("word ", 1000)}
	if _, err := c.Send(context.Background(), m); err == nil || connectors.IsPermanent(err) || !strings.Contains(err.Error(), "part 2 of 2") {
		t.Fatalf("first Send = %v, want a temporary error on part 2", err)
	}
	id, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	bodies := f.Bodies(messagesPath)
	if len(bodies) != 3 || string(bodies[1]) != string(bodies[2]) || string(bodies[0]) == string(bodies[1]) {
		t.Fatalf("%d bodies; want part 1, part 2, part 2 again", len(bodies))
	}
	if id != graphfake.WAMID(3) {
		t.Errorf("id %q, want the last part's %q", id, graphfake.WAMID(3))
	}
}

func TestRendersChoices(t *testing.T) {
	c := newConnector(t, config(t, "http://127.0.0.1:1", nil), connectors.Resources{})
	cr, ok := c.(connectors.ChoiceRenderer)
	if !ok || !cr.RendersChoices("whatsapp") || cr.RendersChoices("sms") {
		t.Fatal("want choices rendered on whatsapp only")
	}
	if dr, ok := c.(connectors.DeliveryReporter); !ok || !dr.ReportsDelivery() {
		t.Fatal("want delivery reports")
	}
}
