package cli

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/twilio/twiliofake"
)

// The Twilio connectors end to end: `switchboard serve` runs the shipped
// flows (flows/) with the twilio and twilio_voice connectors pointed at a
// fake of Twilio's REST API. A phone call goes through the IVR to a live
// agent, and the support flow answers over SMS and WhatsApp; every webhook
// is signed as Twilio signs it, at the public URL serve was given.

// twilioRig is a running serve with the two Twilio connectors.
type twilioRig struct {
	*shipped
	fake *twiliofake.Fake
	sms  int // messages sent to the twilio connector so far
}

func startTwilio(t *testing.T) *twilioRig {
	t.Helper()
	fake := twiliofake.New(t)
	t.Setenv("TWILIO_TEST_TOKEN", fake.AuthToken)
	account := "account_sid=" + fake.AccountSID + ",auth_token=env:TWILIO_TEST_TOKEN,api_base_url=" + fake.URL
	sh := serveShipped(t,
		"--connector", "twilio/default,from=+15550100000,whatsapp_from=whatsapp:+15550100000,"+account,
		"--connector", "twilio_voice/default,"+account)
	return &twilioRig{shipped: sh, fake: fake}
}

// webhook posts params to fullURL signed as Twilio signs them and returns
// the answer's body (TwiML).
func (r *twilioRig) webhook(fullURL string, params url.Values) string {
	r.t.Helper()
	req := twiliofake.Webhook(r.fake.AuthToken, fullURL, params)
	status, header, body := r.post(fullURL, req.Header, req.Body)
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/xml") {
		r.t.Fatalf("%s answered %d %s: %s", fullURL, status, header.Get("Content-Type"), body)
	}
	return string(body)
}

// request waits for the fake's first request to path after skip of them.
func (r *twilioRig) request(path string, skip int) twiliofake.Request {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, q := range r.fake.Requests() {
			if q.Path == path {
				if n == skip {
					return q
				}
				n++
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("the fake never got request %d to %s: %+v", skip+1, path, r.fake.Requests())
	return twiliofake.Request{}
}

var (
	actionAttr = regexp.MustCompile(`action="([^"]+)"`)
	redirectEl = regexp.MustCompile(`<Redirect[^>]*>([^<]+)</Redirect>`)
)

// action is the last action URL of a TwiML answer: where Twilio posts
// the outcome of its waiting verb.
func action(t *testing.T, twiml string, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindAllStringSubmatch(twiml, -1)
	if m == nil {
		t.Fatalf("no %v in %s", re, twiml)
	}
	return html.UnescapeString(m[len(m)-1][1])
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestTwilioCallToAnAgent(t *testing.T) {
	r := startTwilio(t)
	hook := r.base + "/v1/webhooks/twilio_voice/default"
	call := func(extra url.Values) url.Values {
		v := url.Values{"CallSid": {"CA" + strings.Repeat("1", 32)}, "AccountSid": {r.fake.AccountSID}, "From": {"+15551230001"},
			"To": {"+15550100000"}, "CallStatus": {"in-progress"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}

	// The call comes in: the chime and the menu.
	twiml := r.webhook(hook, call(url.Values{"CallStatus": {"ringing"}}))
	contains(t, "the call's answer", twiml, "<Play>https://assets.test/chime.mp3</Play>", "<Gather", `numDigits="1"`, "For support, press 2")
	// Support, then an account number: the caller is queued and holds.
	twiml = r.webhook(action(t, twiml, actionAttr), call(url.Values{"Digits": {"2"}}))
	contains(t, "the account prompt", twiml, "<Gather", `finishOnKey="#"`, "account number")
	twiml = r.webhook(action(t, twiml, actionAttr), call(url.Values{"Digits": {"12345"}, "FinishedOnKey": {"#"}}))
	contains(t, "the hold", twiml, "<Play>", "<Redirect")
	hold := action(t, twiml, redirectEl)
	contains(t, "the hold's next loop", r.webhook(hold, call(nil)), "<Play>", "<Redirect")

	// Ana accepts over the agent API: the caller's call is updated to ring her phone.
	ana := r.worker("ana", map[string]any{"phone": true, "languages": []string{"en"}, "contact_uri": "+15559990001"}, map[string]int{"voice": 1})
	task := r.accept("ana", ana)
	callPath := r.fake.CallPath("CA" + strings.Repeat("1", 32))
	update := r.request(callPath, 0)
	if update.Method != http.MethodPost || update.User != r.fake.AccountSID || update.Pass != r.fake.AuthToken {
		t.Fatalf("the call update %+v", update)
	}
	dial := update.Form.Get("Twiml")
	contains(t, "the call update", dial, "<Dial", `answerOnBridge="true"`, ">+15559990001</Number>", "on=answered", "on=agent", "task="+task)

	// They talk; Ana hangs up: the call ends, the task wraps up.
	twiml = r.webhook(action(t, dial, actionAttr), call(url.Values{"DialCallStatus": {"completed"}, "DialCallSid": {"CA" + strings.Repeat("2", 32)},
		"DialCallDuration": {"184"}}))
	contains(t, "the answer after the talk", twiml, "<Hangup")
	r.taskStatus(task, "wrapping")
	r.webhook(hook+"?on=status", call(url.Values{"CallStatus": {"completed"}, "CallDuration": {"230"}}))
	r.api("POST", "/v1/tasks/"+task+"/complete", ana, nil, http.StatusOK)
	got := r.taskStatus(task, "completed")

	// The flow's completed outcome ended it.
	conv := r.api("GET", "/v1/conversations?contact="+got["contact_id"].(string), r.admin, nil, http.StatusOK)
	list, _ := conv["conversations"].([]any)
	if len(list) != 1 {
		t.Fatalf("conversations %v", conv)
	}
	msgs := r.api("GET", "/v1/conversations/"+list[0].(map[string]any)["id"].(string)+"/messages", r.admin, nil, http.StatusOK)
	raw, _ := json.Marshal(msgs)
	contains(t, "the call's transcript", string(raw), "For support, press 2", `"12345"`)
	// The caller's number names one contact on every channel.
	r.smsConversation(url.Values{"From": {"+15551230001"}}, "hello")
	c := r.api("GET", "/v1/contacts/"+got["contact_id"].(string), r.admin, nil, http.StatusOK)
	raw, _ = json.Marshal(c)
	contains(t, "the caller's contact", string(raw), `"voice"`, `"sms"`)
}

// smsConversation posts one inbound message to the twilio connector and
// returns the TwiML answer.
func (r *twilioRig) smsConversation(extra url.Values, body string) string {
	r.t.Helper()
	r.sms++
	v := url.Values{"MessageSid": {fmt.Sprintf("SM%032d", r.sms)}, "AccountSid": {r.fake.AccountSID},
		"To": {"+15550100000"}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
	for k, vs := range extra {
		v[k] = vs
	}
	return r.webhook(r.base+"/v1/webhooks/twilio/default", v)
}

// TestTwilioMessagingToAnAgent: the support flow over SMS and over
// WhatsApp through Twilio: the language question answered in TwiML, the
// hand-off to an agent, the agent's reply sent through the Messages API,
// and a failed delivery reported to the agent.
func TestTwilioMessagingToAnAgent(t *testing.T) {
	r := startTwilio(t)
	agent := r.worker("ana", map[string]any{"languages": []string{"en"}, "department": "support"}, map[string]int{"chat": 2})
	for i, tc := range []struct{ from, to string }{
		{"+15551230002", "+15551230002"},
		{"whatsapp:+15551230003", "whatsapp:+15551230003"},
	} {
		extra := url.Values{"From": {tc.from}}
		if strings.HasPrefix(tc.from, "whatsapp:") {
			extra["To"] = []string{"whatsapp:+15550100000"}
			extra["ProfileName"] = []string{"Budi"}
			extra["WaId"] = []string{strings.TrimPrefix(tc.from, "whatsapp:+")}
		}
		twiml := r.smsConversation(extra, "I want a live agent")
		// Twilio's messages have no buttons: the choices arrive as a numbered menu.
		contains(t, "the language question", twiml, "<Message>Which language do you prefer?\n1. English\n2. Bahasa Indonesia</Message>")
		twiml = r.smsConversation(extra, "1")
		if strings.Contains(twiml, "<Message>") {
			t.Fatalf("the hand-off answered %s", twiml)
		}
		task := r.accept("ana", agent)
		reply := r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Hi, Ana here. How can I help?"}, http.StatusAccepted)
		// Each conversation ends with the support flow's survey, sent the
		// same way: the reply is found by what it says.
		sent, nth := r.sentMessage(tc.to, "Hi, Ana here. How can I help?")
		if sent.User != r.fake.AccountSID || sent.Form.Get("To") != tc.to || sent.Form.Get("Body") != "Hi, Ana here. How can I help?" ||
			sent.Form.Get("StatusCallback") != r.base+"/v1/webhooks/twilio/default" {
			t.Fatalf("the agent's reply through the Messages API: %+v (reply %v)", sent, reply)
		}
		if wantFrom := map[bool]string{false: "+15550100000", true: "whatsapp:+15550100000"}[i == 1]; sent.Form.Get("From") != wantFrom {
			t.Fatalf("sent from %q, want %q", sent.Form.Get("From"), wantFrom)
		}
		// Twilio reports the reply undelivered: the agent's task hears it.
		sid := twiliofake.SID("SM", nth)
		r.webhook(r.base+"/v1/webhooks/twilio/default", url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"},
			"AccountSid": {r.fake.AccountSID}, "From": {sent.Form.Get("From")}, "To": {tc.to}, "ApiVersion": {"2010-04-01"}})
		r.waitEvent(task, "agent.reply.failed", "30003")
		r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
		r.taskStatus(task, "completed")
		// The flow goes on with its survey, a numbered menu here.
		r.sentMessage(tc.to, "How did we do?\n1. 👍 Good\n2. 👎 Not good")
	}
	// STOP: Twilio opts the customer out and answers itself; the flow stays silent.
	before := len(r.fake.Requests())
	if twiml := r.smsConversation(url.Values{"From": {"+15551230009"}, "OptOutType": {"STOP"}}, "STOP"); strings.Contains(twiml, "<Message>") {
		t.Fatalf("a STOP was answered: %s", twiml)
	}
	time.Sleep(300 * time.Millisecond)
	if got := r.fake.Requests()[before:]; len(got) != 0 {
		t.Fatalf("a STOP made requests to Twilio: %+v", got)
	}
}

// sentSID is the number in the sid the fake gave the i-th message sent.
// sentMessage waits for the message the fake's Messages API took for to
// with body, and returns it with its place among the messages sent (1
// first, the number in the fake's SID).
func (r *twilioRig) sentMessage(to, body string) (twiliofake.Request, int) {
	r.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n := 0
		for _, q := range r.fake.Requests() {
			if q.Path != r.fake.MessagesPath() {
				continue
			}
			n++
			if q.Form.Get("To") == to && q.Form.Get("Body") == body {
				return q, n
			}
		}
	}
	r.t.Fatalf("the fake never sent %q to %s: %+v", body, to, r.fake.Requests())
	return twiliofake.Request{}, 0
}
