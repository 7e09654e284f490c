package rcs_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/rcs"
	"github.com/switchboard-dev/switchboard/connectors/rcs/rbmfake"
)

const customer = "+14155550123"

var languages = []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}

// TestSendExact checks the exact requests of sends: the token fetched
// once with the service account's JWT, the capability check once per
// number, then each part POSTed with the bearer token, the agentId and a
// messageId derived from the key and the part.
func TestSendExact(t *testing.T) {
	long := strings.Repeat("a", 3000) + " " + strings.Repeat("b", 100)
	for _, tc := range []struct {
		name  string
		m     connectors.Outbound
		parts []string // the JSON bodies, in order
	}{
		{"text", connectors.Outbound{Text: "Hi, Ana here. How can I help?"},
			[]string{`{"contentMessage":{"text":"Hi, Ana here. How can I help?"}}`}},
		{"suggested replies", connectors.Outbound{Text: "Which language do you prefer?", Choices: languages},
			[]string{`{"contentMessage":{"text":"Which language do you prefer?","suggestions":[{"reply":{"text":"English","postbackData":"en"}},{"reply":{"text":"Bahasa Indonesia","postbackData":"id"}}]}}`}},
		{"a title too long for a suggestion", connectors.Outbound{Text: "Pick one", Choices: []connectors.Choice{{ID: "a", Title: "A title longer than twenty-five"}, {ID: "b", Title: "B"}}},
			[]string{`{"contentMessage":{"text":"Pick one\n1. A title longer than twenty-five\n2. B"}}`}},
		{"twelve choices", connectors.Outbound{Text: "Pick", Choices: numbered(12)},
			[]string{`{"contentMessage":{"text":"Pick\n1. c1\n2. c2\n3. c3\n4. c4\n5. c5\n6. c6\n7. c7\n8. c8\n9. c9\n10. c10\n11. c11\n12. c12"}}`}},
		{"eleven choices", connectors.Outbound{Text: "Pick", Choices: numbered(11)},
			[]string{`{"contentMessage":{"text":"Pick","suggestions":[` + suggestions(11) + `]}}`}},
		{"choices without text", connectors.Outbound{Choices: languages},
			[]string{`{"contentMessage":{"text":"1. English\n2. Bahasa Indonesia"}}`}},
		{"media and choices", connectors.Outbound{Text: "Your receipt", Media: []string{"https://example.com/r.pdf"}, Choices: languages[:1]},
			[]string{`{"contentMessage":{"text":"Your receipt"}}`,
				`{"contentMessage":{"contentInfo":{"fileUrl":"https://example.com/r.pdf"},"suggestions":[{"reply":{"text":"English","postbackData":"en"}}]}}`}},
		{"split at 3072", connectors.Outbound{Text: long, Choices: languages[:1]},
			[]string{`{"contentMessage":{"text":"` + strings.Repeat("a", 3000) + `"}}`,
				`{"contentMessage":{"text":"` + strings.Repeat("b", 100) + `","suggestions":[{"reply":{"text":"English","postbackData":"en"}}]}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := rbmfake.New(t, agent)
			c := newConnector(t, config(t, fake, map[string]string{"token_url": fake.TokenURL()}), connectors.Resources{})
			m := tc.m
			m.Key, m.Channel, m.To = "effect-42", "rcs", customer
			id, err := c.Send(context.Background(), &m)
			if err != nil {
				t.Fatal(err)
			}
			if want := rcs.MessageID("effect-42#" + itoa(len(tc.parts)-1)); id != want {
				t.Errorf("Send's id %q, want the last part's messageId %q", id, want)
			}
			reqs := fake.Requests()
			if len(reqs) != 2+len(tc.parts) {
				t.Fatalf("%d requests, want a token, a capability check and %d parts: %+v", len(reqs), len(tc.parts), reqs)
			}
			if reqs[0].Path != "/token" || !strings.Contains(string(reqs[0].Body), "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
				t.Errorf("first request %s %s, want the token fetch", reqs[0].Method, reqs[0].Path)
			}
			capReq := reqs[1]
			if capReq.Method != http.MethodGet || capReq.Path != "/v1/phones/"+customer+"/capabilities" || capReq.Query.Get("agentId") != agent ||
				capReq.Query.Get("requestId") != rcs.MessageID("effect-42#capabilities") || capReq.Header.Get("Authorization") != "Bearer "+rbmfake.Token(1) {
				t.Errorf("capability check: %s %s %v %v", capReq.Method, capReq.Path, capReq.Query, capReq.Header)
			}
			for i, want := range tc.parts {
				r := reqs[2+i]
				if r.Method != http.MethodPost || r.Path != "/v1/phones/"+customer+"/agentMessages" {
					t.Errorf("part %d: %s %s", i, r.Method, r.Path)
				}
				if got := r.Query.Get("messageId"); got != rcs.MessageID("effect-42#"+itoa(i)) || r.Query.Get("agentId") != agent {
					t.Errorf("part %d: query %v", i, r.Query)
				}
				if r.Header.Get("Authorization") != "Bearer "+rbmfake.Token(1) || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
					t.Errorf("part %d: headers %v", i, r.Header)
				}
				if string(r.Body) != want {
					t.Errorf("part %d body:\n%s\nwant:\n%s", i, r.Body, want)
				}
			}
		})
	}
}

func numbered(n int) []connectors.Choice {
	var out []connectors.Choice
	for i := 1; i <= n; i++ {
		out = append(out, connectors.Choice{ID: "c" + itoa(i), Title: "c" + itoa(i)})
	}
	return out
}

func suggestions(n int) string {
	var s []string
	for i := 1; i <= n; i++ {
		s = append(s, `{"reply":{"text":"c`+itoa(i)+`","postbackData":"c`+itoa(i)+`"}}`)
	}
	return strings.Join(s, ",")
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestSendCaches: the token and the capability are fetched once for
// several sends to the same number.
func TestSendCaches(t *testing.T) {
	fake := rbmfake.New(t, agent)
	c := newConnector(t, config(t, fake, map[string]string{"token_url": fake.TokenURL()}), connectors.Resources{})
	for i := range 3 {
		if _, err := c.Send(context.Background(), &connectors.Outbound{Key: "k" + itoa(i), To: customer, Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	var caps int
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/capabilities") {
			caps++
		}
	}
	if fake.Tokens() != 1 || caps != 1 || len(fake.Sent(customer)) != 3 {
		t.Errorf("%d tokens, %d capability checks, %d messages; want 1, 1, 3", fake.Tokens(), caps, len(fake.Sent(customer)))
	}
}

// TestSendRetryIsIdempotent: a message whose second part failed is sent
// again whole; RBM answers 409 for the part it has, which counts as sent.
func TestSendRetryIsIdempotent(t *testing.T) {
	fake := rbmfake.New(t, agent)
	c := newConnector(t, config(t, fake, map[string]string{"token_url": fake.TokenURL()}), connectors.Resources{})
	m := &connectors.Outbound{Key: "effect-7", To: customer, Text: "Your receipt", Media: []string{"https://example.com/r.pdf"}}
	fake.Script(rbmfake.Reply{Status: http.StatusOK}, rbmfake.Reply{Status: http.StatusServiceUnavailable, Message: "The service is currently unavailable."})
	_, err := c.Send(context.Background(), m)
	if err == nil || connectors.IsPermanent(err) || !strings.Contains(err.Error(), "part 2 of 2") || !strings.Contains(err.Error(), "UNAVAILABLE") {
		t.Fatalf("Send with part 2 failing: %v, want a temporary error naming the part and Google's status", err)
	}
	id, err := c.Send(context.Background(), m)
	if err != nil || id != rcs.MessageID("effect-7#1") {
		t.Fatalf("the retry: %q %v", id, err)
	}
	if sent := fake.Sent(customer); len(sent) != 4 {
		t.Fatalf("%d agent messages posted, want 4 (two, then both again)", len(sent))
	}
}

// TestSendErrors: how RBM's answers classify, and what the errors say.
func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		extra     map[string]string
		noRCS     bool
		reply     *rbmfake.Reply
		permanent bool
		noRCSErr  bool
		delay     time.Duration
		want      string
	}{
		{"429 with Retry-After", nil, false, &rbmfake.Reply{Status: 429, Message: "Quota exceeded", Header: http.Header{"Retry-After": {"7"}}}, false, false, 7 * time.Second, "429 RESOURCE_EXHAUSTED: Quota exceeded"},
		{"500", nil, false, &rbmfake.Reply{Status: 500, Message: "Internal error"}, false, false, 0, "500 INTERNAL"},
		{"503", nil, false, &rbmfake.Reply{Status: 503, Message: "Unavailable"}, false, false, 0, "503 UNAVAILABLE"},
		{"400", nil, false, &rbmfake.Reply{Status: 400, Message: "Invalid suggestion"}, true, false, 0, "400 INVALID_ARGUMENT: Invalid suggestion"},
		{"404 on send", nil, false, &rbmfake.Reply{Status: 404, Message: "Requested entity was not found."}, true, true, 0, "cannot receive RCS"},
		{"no RCS", nil, true, nil, true, true, 0, "not launched"},
		{"no RCS, SMS fallback", map[string]string{"sms_fallback": "default"}, true, nil, true, true, 0,
			`falling back to sms through twilio/default`},
		{"bad recipient", nil, false, nil, true, false, 0, "E.164"},
		{"token refused", map[string]string{"token_url": "wrong"}, false, nil, true, false, 0, "refused the service account's key: 400 invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := rbmfake.New(t, agent)
			extra := map[string]string{"token_url": fake.TokenURL()}
			for k, v := range tc.extra {
				extra[k] = v
			}
			if extra["token_url"] == "wrong" {
				extra["token_url"] = fake.URL + "/token?aud=other" // the JWT's aud no longer matches
			}
			c := newConnector(t, config(t, fake, extra), connectors.Resources{})
			if tc.noRCS {
				fake.NoRCS(customer)
			}
			if tc.reply != nil {
				fake.Script(*tc.reply)
			}
			to := customer
			if tc.name == "bad recipient" {
				to = "14155550123"
			}
			_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", To: to, Text: "hello"})
			var fb *connectors.FallbackError
			if wantFB := tc.extra["sms_fallback"] != ""; errors.As(err, &fb) != wantFB ||
				(wantFB && (fb.Connector != "twilio" || fb.Instance != "default" || fb.Channel != "sms")) {
				t.Fatalf("Send: %v: a fallback %+v, want one: %v", err, fb, wantFB)
			}
			if err == nil || connectors.IsPermanent(err) != tc.permanent || errors.Is(err, rcs.ErrNoRCS) != tc.noRCSErr || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Send: %v (permanent %v, no RCS %v); want permanent %v, no RCS %v, mentioning %q",
					err, connectors.IsPermanent(err), errors.Is(err, rcs.ErrNoRCS), tc.permanent, tc.noRCSErr, tc.want)
			}
			if d, ok := connectors.RetryDelay(err); d != tc.delay || ok != (tc.delay > 0) {
				t.Errorf("RetryDelay = %v %v, want %v", d, ok, tc.delay)
			}
			if tc.noRCS && len(fake.Sent(customer)) != 0 {
				t.Errorf("a message was posted to a number without RCS")
			}
		})
	}
}

// TestNoRCSIsRemembered: once a number is known to lack RCS, the next
// send fails without asking RBM again.
func TestNoRCSIsRemembered(t *testing.T) {
	fake := rbmfake.New(t, agent)
	c := newConnector(t, config(t, fake, map[string]string{"token_url": fake.TokenURL()}), connectors.Resources{})
	fake.NoRCS(customer)
	for i := range 2 {
		if _, err := c.Send(context.Background(), &connectors.Outbound{Key: "k" + itoa(i), To: customer, Text: "hello"}); !errors.Is(err, rcs.ErrNoRCS) {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("%d requests, want a token and one capability check", n)
	}
}
