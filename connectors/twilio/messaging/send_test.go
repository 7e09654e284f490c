package messaging_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/messaging"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twiliofake"
)

// sleeps records the waits between retries instead of taking them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// sender is a connector on a fake Twilio, with its waits recorded.
func sender(t *testing.T, extra connectors.Config) (connectors.Connector, *twiliofake.Fake, *sleeps) {
	t.Helper()
	f := twiliofake.New(t)
	c := newConnector(t, config(f.URL, extra), connectors.Resources{HTTPClient: f.Client()})
	s := &sleeps{}
	messaging.SetSleep(c, s.sleep)
	return c, f, s
}

// form builds an expected form from key, value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// wantRequests checks the requests the fake received: each a POST to
// Messages.json with the account's basic auth and exactly the form.
func wantRequests(t *testing.T, f *twiliofake.Fake, want ...url.Values) {
	t.Helper()
	got := f.Requests()
	if len(got) != len(want) {
		t.Fatalf("the fake received %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i, r := range got {
		if r.Method != http.MethodPost || r.Path != f.MessagesPath() || r.User != twiliofake.AccountSID || r.Pass != twiliofake.AuthToken {
			t.Errorf("request %d: %s %s as %s:%s", i, r.Method, r.Path, r.User, r.Pass)
		}
		if r.Form.Encode() != want[i].Encode() {
			t.Errorf("request %d form:\n got %s\nwant %s", i, r.Form.Encode(), want[i].Encode())
		}
	}
}

func TestSendRequests(t *testing.T) {
	long := strings.Repeat("word ", 400) + "end" // 2003 characters
	cases := []struct {
		name  string
		extra connectors.Config
		m     connectors.Outbound
		want  []url.Values
	}{
		{"sms", nil, connectors.Outbound{Key: "k1", Channel: "sms", To: "+14155550100", Text: "Your order shipped"},
			[]url.Values{form("To", "+14155550100", "From", "+14155550199", "Body", "Your order shipped", "StatusCallback", webhook)}},
		{"no channel is sms", nil, connectors.Outbound{Key: "k1", To: "+14155550100", Text: "hi"},
			[]url.Values{form("To", "+14155550100", "From", "+14155550199", "Body", "hi", "StatusCallback", webhook)}},
		{"mms", nil, connectors.Outbound{Key: "k1", Channel: "sms", To: "+14155550100", Text: "Label attached",
			Media: []string{"https://cdn.example.com/label.pdf", "https://cdn.example.com/map.png"}},
			[]url.Values{form("To", "+14155550100", "From", "+14155550199", "Body", "Label attached",
				"MediaUrl", "https://cdn.example.com/label.pdf", "MediaUrl", "https://cdn.example.com/map.png", "StatusCallback", webhook)}},
		{"media only", nil, connectors.Outbound{Key: "k1", Channel: "sms", To: "+14155550100", Media: []string{"https://cdn.example.com/a.jpg"}},
			[]url.Values{form("To", "+14155550100", "From", "+14155550199", "MediaUrl", "https://cdn.example.com/a.jpg", "StatusCallback", webhook)}},
		{"whatsapp", nil, connectors.Outbound{Key: "k1", Channel: "whatsapp", To: "+14155550100", Text: "¡Hola!"},
			[]url.Values{form("To", "whatsapp:+14155550100", "From", "whatsapp:+14155238886", "Body", "¡Hola!", "StatusCallback", webhook)}},
		{"whatsapp from `from`", connectors.Config{"whatsapp_from": ""}, connectors.Outbound{Key: "k1", Channel: "whatsapp", To: "+14155550100", Text: "x"},
			[]url.Values{form("To", "whatsapp:+14155550100", "From", "whatsapp:+14155550199", "Body", "x", "StatusCallback", webhook)}},
		{"the message's own From", nil, connectors.Outbound{Key: "k1", Channel: "whatsapp", To: "+14155550100", From: "+14155230000", Text: "x"},
			[]url.Values{form("To", "whatsapp:+14155550100", "From", "whatsapp:+14155230000", "Body", "x", "StatusCallback", webhook)}},
		{"messaging service", connectors.Config{"messaging_service_sid": "MG9c2e7b4a1d8f5c3e6b0a9d2f7c4e1b8a", "from": ""},
			connectors.Outbound{Key: "k1", Channel: "sms", To: "+14155550100", Text: "x"},
			[]url.Values{form("To", "+14155550100", "MessagingServiceSid", "MG9c2e7b4a1d8f5c3e6b0a9d2f7c4e1b8a", "Body", "x", "StatusCallback", webhook)}},
		{"no status callbacks", connectors.Config{"status_callbacks": "false"}, connectors.Outbound{Key: "k1", Channel: "sms", To: "+14155550100", Text: "x"},
			[]url.Values{form("To", "+14155550100", "From", "+14155550199", "Body", "x")}},
		{"template", nil, connectors.Outbound{Key: "k1", Channel: "whatsapp", To: "+14155550100", Text: "ignored for the template",
			Attributes: map[string]any{"content_sid": "HXb5b62575e6e4ff6129ad7c8efe1f983e", "content_variables": map[string]any{"1": "Ana", "2": 3}}},
			[]url.Values{form("To", "whatsapp:+14155550100", "From", "whatsapp:+14155238886", "StatusCallback", webhook,
				"ContentSid", "HXb5b62575e6e4ff6129ad7c8efe1f983e", "ContentVariables", `{"1":"Ana","2":"3"}`)}},
		{"a flow's template", nil, connectors.Outbound{Key: "k1", Channel: "whatsapp", To: "+14155550100", Text: "the history's text",
			Template: &connectors.Template{Name: "HXb5b62575e6e4ff6129ad7c8efe1f983e", Variables: map[string]string{"1": "Ana", "2": "10:00"}}},
			[]url.Values{form("To", "whatsapp:+14155550100", "From", "whatsapp:+14155238886", "StatusCallback", webhook,
				"ContentSid", "HXb5b62575e6e4ff6129ad7c8efe1f983e", "ContentVariables", `{"1":"Ana","2":"10:00"}`)}},
		{"template, variables as JSON text", nil, connectors.Outbound{Key: "k1", Channel: "whatsapp", To: "+14155550100",
			Attributes: map[string]any{"content_sid": "HXb5b62575e6e4ff6129ad7c8efe1f983e", "content_variables": `{"1": "12/1"}`}},
			[]url.Values{form("To", "whatsapp:+14155550100", "From", "whatsapp:+14155238886", "StatusCallback", webhook,
				"ContentSid", "HXb5b62575e6e4ff6129ad7c8efe1f983e", "ContentVariables", `{"1":"12/1"}`)}},
		{"split at a word boundary, media with the first part", nil,
			connectors.Outbound{Key: "k1", Channel: "sms", To: "+14155550100", Text: long, Media: []string{"https://cdn.example.com/a.jpg"}},
			[]url.Values{
				form("To", "+14155550100", "From", "+14155550199", "Body", strings.TrimSpace(strings.Repeat("word ", 320)), "MediaUrl", "https://cdn.example.com/a.jpg", "StatusCallback", webhook),
				form("To", "+14155550100", "From", "+14155550199", "Body", strings.Repeat("word ", 80)+"end", "StatusCallback", webhook),
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, f, _ := sender(t, tc.extra)
			sid, err := c.Send(context.Background(), &tc.m)
			if err != nil {
				t.Fatal(err)
			}
			wantRequests(t, f, tc.want...)
			if last := f.Requests()[len(tc.want)-1]; !strings.HasPrefix(sid, "SM") || len(sid) != 34 || last.Answer != 201 {
				t.Errorf("sid = %q, want the last part's SM sid", sid)
			}
		})
	}
}

func TestSendAPIKey(t *testing.T) {
	c, f, _ := sender(t, connectors.Config{"api_key_sid": "SK0123456789abcdef0123456789abcdef", "api_key_secret": "keysecret"})
	f.AddAPIKey("SK0123456789abcdef0123456789abcdef", "keysecret")
	if _, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", To: "+14155550100", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if r := f.Requests()[0]; r.User != "SK0123456789abcdef0123456789abcdef" || r.Pass != "keysecret" || r.Path != f.MessagesPath() {
		t.Errorf("request = %+v", r)
	}
}

// TestSendRetries: 429 with Retry-After twice, then 201, in one Send; 500
// until the retries run out is a temporary error the outbox retries.
func TestSendRetries(t *testing.T) {
	m := connectors.Outbound{Key: "k1", Channel: "sms", To: "+14155550100", Text: "hello"}
	want := form("To", "+14155550100", "From", "+14155550199", "Body", "hello", "StatusCallback", webhook)

	t.Run("429 then success", func(t *testing.T) {
		c, f, s := sender(t, nil)
		f.Respond(f.MessagesPath(), 429, twiliofake.ErrorJSON(429, 20429, "Too Many Requests"), http.Header{"Retry-After": {"1"}})
		f.Respond(f.MessagesPath(), 429, twiliofake.ErrorJSON(429, 20429, "Too Many Requests"), http.Header{"Retry-After": {"2"}})
		sid, err := c.Send(context.Background(), &m)
		if err != nil || sid == "" {
			t.Fatalf("Send = %q, %v", sid, err)
		}
		wantRequests(t, f, want, want, want)
		if got := s.got(); len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
			t.Errorf("waits %v, want the Retry-After of each answer: [1s 2s]", got)
		}
	})
	t.Run("500 until the retries run out", func(t *testing.T) {
		c, f, s := sender(t, nil)
		for range 3 {
			f.RespondError(f.MessagesPath(), 500, 20500, "Internal Server Error")
		}
		_, err := c.Send(context.Background(), &m)
		if err == nil || connectors.IsPermanent(err) || !strings.Contains(err.Error(), "twilio 20500") {
			t.Fatalf("err = %v, want a temporary 20500", err)
		}
		wantRequests(t, f, want, want, want)
		if got := s.got(); len(got) != 2 || got[0] != 500*time.Millisecond || got[1] != time.Second {
			t.Errorf("waits %v, want a doubling backoff [500ms 1s]", got)
		}
		if _, err := c.Send(context.Background(), &m); err != nil { // the outbox's retry
			t.Fatal(err)
		}
		wantRequests(t, f, want, want, want, want)
	})
	t.Run("a long Retry-After is left to the outbox", func(t *testing.T) {
		c, f, s := sender(t, nil)
		f.Respond(f.MessagesPath(), 429, "", http.Header{"Retry-After": {"60"}})
		_, err := c.Send(context.Background(), &m)
		if d, ok := connectors.RetryDelay(err); !ok || d != time.Minute || connectors.IsPermanent(err) {
			t.Errorf("err = %v (delay %v), want temporary with Retry-After 1m", err, d)
		}
		if len(s.got()) != 0 || len(f.Requests()) != 1 {
			t.Errorf("Send waited %v and made %d requests", s.got(), len(f.Requests()))
		}
	})
	t.Run("no retries", func(t *testing.T) {
		c, f, _ := sender(t, connectors.Config{"send_retries": "0"})
		f.RespondError(f.MessagesPath(), 503, 20503, "Service Unavailable")
		if _, err := c.Send(context.Background(), &m); err == nil || connectors.IsPermanent(err) {
			t.Errorf("err = %v, want temporary", err)
		}
		if n := len(f.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("the context's deadline comes first", func(t *testing.T) {
		c, f, s := sender(t, nil)
		f.Respond(f.MessagesPath(), 429, "", http.Header{"Retry-After": {"5"}})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := c.Send(ctx, &m); err == nil || connectors.IsPermanent(err) {
			t.Errorf("err = %v, want temporary", err)
		}
		if len(s.got()) != 0 {
			t.Errorf("Send waited %v beyond its deadline", s.got())
		}
	})
}

// TestSendPartsOnce: when the second part fails, the outbox's retry of
// the message sends only the second part.
func TestSendPartsOnce(t *testing.T) {
	c, f, _ := sender(t, connectors.Config{"send_retries": "0"})
	text := strings.Repeat("a", 1600) + " " + strings.Repeat("b", 10)
	m := connectors.Outbound{Key: "k-split", Channel: "sms", To: "+14155550100", Text: text}
	f.Respond(f.MessagesPath(), 201, "", nil)
	f.RespondError(f.MessagesPath(), 503, 20503, "Service Unavailable")
	_, err := c.Send(context.Background(), &m)
	if err == nil || !strings.Contains(err.Error(), "part 2 of 2") || connectors.IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary failure of part 2 of 2", err)
	}
	sid, err := c.Send(context.Background(), &m)
	if err != nil {
		t.Fatal(err)
	}
	p1 := form("To", "+14155550100", "From", "+14155550199", "Body", strings.Repeat("a", 1600), "StatusCallback", webhook)
	p2 := form("To", "+14155550100", "From", "+14155550199", "Body", strings.Repeat("b", 10), "StatusCallback", webhook)
	wantRequests(t, f, p1, p2, p2)
	if sid != twiliofake.SID("SM", 3) {
		t.Errorf("sid = %s, want the last part's %s", sid, twiliofake.SID("SM", 3))
	}
	// Another message with the same text is not the same message.
	m.Key = "k-other"
	if _, err := c.Send(context.Background(), &m); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Requests()); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestSendPermanent(t *testing.T) {
	cases := []struct {
		name   string
		status int
		code   int
		msg    string
		text   string // in the error
	}{
		{"opted out", 400, 21610, "Attempt to send to unsubscribed recipient", "twilio 21610: Attempt to send to unsubscribed recipient: the recipient opted out with STOP"},
		{"invalid number", 400, 21211, "Invalid 'To' Phone Number: +1415555", "twilio 21211: Invalid 'To' Phone Number: +1415555: the To number is not a valid phone number"},
		{"not a mobile number", 400, 21614, "'To' number is not a valid mobile number", "not a mobile number that can receive SMS"},
		{"outside the window", 400, 63016, "Failed to send freeform message because you are outside the allowed window.", "only an approved template (content_sid) can be sent"},
		{"unknown code", 400, 21999, "Something else", "twilio 21999: Something else"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, f, s := sender(t, nil)
			f.RespondError(f.MessagesPath(), tc.status, tc.code, tc.msg)
			_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: "sms", To: "+14155550100", Text: "x"})
			var ae *twilioapi.APIError
			if !connectors.IsPermanent(err) || !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("err = %v, want permanent with code %d", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
			if len(f.Requests()) != 1 || len(s.got()) != 0 {
				t.Errorf("a permanent error was retried")
			}
		})
	}
}

func TestSendRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra connectors.Config
		m     connectors.Outbound
		text  string
	}{
		{"no key", nil, connectors.Outbound{To: "+14155550100", Text: "x"}, "no key"},
		{"no recipient", nil, connectors.Outbound{Key: "k", Text: "x"}, "no recipient"},
		{"empty", nil, connectors.Outbound{Key: "k", To: "+14155550100"}, "no text, media or template"},
		{"another channel", nil, connectors.Outbound{Key: "k", Channel: "telegram", To: "1", Text: "x"}, `channel "telegram"`},
		{"too many media", nil, connectors.Outbound{Key: "k", To: "+14155550100", Media: strings.Split(strings.Repeat("https://e.com/x,", 11), ",")[:11]}, "at most 10"},
		{"bad template variables", nil, connectors.Outbound{Key: "k", Channel: "whatsapp", To: "+14155550100",
			Attributes: map[string]any{"content_sid": "HX1", "content_variables": "not json"}}, "content_variables must be an object"},
		{"no WhatsApp sender", connectors.Config{"whatsapp_from": "", "from": "", "messaging_service_sid": ""}, connectors.Outbound{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.text == "" {
				return // a configuration without any sender is refused by New (TestConfig)
			}
			c, f, _ := sender(t, tc.extra)
			_, err := c.Send(context.Background(), &tc.m)
			if !connectors.IsPermanent(err) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v, want permanent %q", err, tc.text)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d requests for a message that cannot be sent", n)
			}
		})
	}
}
