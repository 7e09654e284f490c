package voice_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twiliofake"
	"github.com/switchboard-dev/switchboard/connectors/twilio/voice"
)

// performer builds an instance calling the fake's account.
func performer(t *testing.T, fake *twiliofake.Fake, extra ...string) connectors.CallPerformer {
	t.Helper()
	cfg := connectors.Config{"account_sid": fake.AccountSID, "auth_token": fake.AuthToken, "api_base_url": fake.URL}
	for i := 0; i+1 < len(extra); i += 2 {
		cfg[extra[i]] = extra[i+1]
	}
	c, err := registry(t).New(voice.Name, cfg, connectors.Resources{HTTPClient: fake.Client(), PublicURL: publicURL,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return c.(connectors.CallPerformer)
}

func TestPerformCall(t *testing.T) {
	at := "mjx08adk" // connectortest.Now in milliseconds, base 36
	for _, tc := range []struct {
		name    string
		verbs   []connectors.CallVerb
		form    map[string]string
		pending bool
	}{
		{"connect", []connectors.CallVerb{{Verb: connectors.VerbConnect, Number: "+14155550111", Task: "WT1", Worker: "ana"}},
			map[string]string{"Twiml": `<?xml version="1.0" encoding="UTF-8"?><Response><Dial action="` + webhook +
				`?at=` + at + `&amp;on=agent&amp;task=WT1&amp;worker=ana" answerOnBridge="true" method="POST" timeout="20"><Number method="POST" url="` + webhook +
				`?on=answered&amp;task=WT1&amp;worker=ana">+14155550111</Number></Dial></Response>`},
			true},
		{"timeout on hold", []connectors.CallVerb{{Verb: "say", Text: "Sorry, nobody is free."}, {Verb: "record", WaitID: "W9", MaxLength: time.Minute}},
			map[string]string{"Twiml": `<?xml version="1.0" encoding="UTF-8"?><Response><Say>Sorry, nobody is free.</Say><Record action="` + webhook +
				`?on=result&amp;wait=W9" maxLength="60" method="POST" playBeep="true"/></Response>`},
			true},
		{"back on hold", []connectors.CallVerb{{Verb: connectors.VerbHold, Task: "WT1"}},
			map[string]string{"Twiml": `<?xml version="1.0" encoding="UTF-8"?><Response><Say>` + "Please stay on the line. An agent will be with you shortly." +
				`</Say><Play>http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3</Play><Redirect method="POST">` + webhook +
				`?at=` + at + `&amp;on=hold&amp;task=WT1</Redirect></Response>`},
			false},
		{"say then hang up", []connectors.CallVerb{{Verb: "say", Text: "Goodbye."}, {Verb: "hangup"}},
			map[string]string{"Twiml": `<?xml version="1.0" encoding="UTF-8"?><Response><Say>Goodbye.</Say><Hangup/></Response>`},
			false},
		{"hang up", []connectors.CallVerb{{Verb: "hangup"}}, map[string]string{"Status": "completed"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliofake.New(t)
			res, err := performer(t, fake).PerformCall(context.Background(), &connectors.CallAction{Key: "eff-1", Call: callSID, Verbs: tc.verbs})
			if err != nil {
				t.Fatalf("PerformCall: %v", err)
			}
			if res.Pending != tc.pending {
				t.Errorf("Pending = %v, want %v", res.Pending, tc.pending)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("the fake received %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/"+fake.AccountSID+"/Calls/"+callSID+".json" {
				t.Errorf("request %s %s", r.Method, r.Path)
			}
			if r.User != fake.AccountSID || r.Pass != fake.AuthToken {
				t.Errorf("basic auth %q:%q, want the account's sid and token", r.User, r.Pass)
			}
			if len(r.Form) != len(tc.form) {
				t.Errorf("form %v, want exactly %v", r.Form, tc.form)
			}
			for k, want := range tc.form {
				if got := r.Form[k]; len(got) != 1 || got[0] != want {
					t.Errorf("form %s =\n%q\nwant\n%q", k, got, want)
				}
			}
		})
	}
}

func TestPerformCallAPIKey(t *testing.T) {
	fake := twiliofake.New(t)
	fake.AddAPIKey("SK0a1b2c3d4e5f60718293a4b5c6d7e8f9", "key-secret")
	p := performer(t, fake, "api_key_sid", "SK0a1b2c3d4e5f60718293a4b5c6d7e8f9", "api_key_secret", "key-secret")
	if _, err := p.PerformCall(context.Background(), &connectors.CallAction{Key: "k", Call: callSID, Verbs: []connectors.CallVerb{{Verb: "hangup"}}}); err != nil {
		t.Fatal(err)
	}
	if r := fake.Requests()[0]; r.User != "SK0a1b2c3d4e5f60718293a4b5c6d7e8f9" || r.Pass != "key-secret" {
		t.Errorf("basic auth %q:%q, want the API key", r.User, r.Pass)
	}
}

func TestPerformCallErrors(t *testing.T) {
	say := []connectors.CallVerb{{Verb: "say", Text: "An agent is about to answer."}, {Verb: connectors.VerbHold, Task: "WT1"}}
	for _, tc := range []struct {
		name      string
		script    func(f *twiliofake.Fake)
		verbs     []connectors.CallVerb
		permanent bool
		code      int    // Twilio's code the error carries; 0 for none
		mention   string // in the error's text
		requests  int
	}{
		{"429", func(f *twiliofake.Fake) {
			f.Respond(f.CallPath(callSID), 429, twiliofake.ErrorJSON(429, 20429, "Too Many Requests"), http.Header{"Retry-After": {"2"}})
		}, say, false, 20429, "20429", 1},
		{"503", func(f *twiliofake.Fake) { f.Respond(f.CallPath(callSID), 503, "upstream unavailable", nil) }, say, false, 0, "503", 1},
		{"call over", func(f *twiliofake.Fake) {
			f.RespondError(f.CallPath(callSID), 400, 21220, "Call is not in-progress. Cannot redirect.")
		}, say, true, 21220, "no longer in progress", 1},
		{"unknown call", func(f *twiliofake.Fake) {
			f.RespondError(f.CallPath(callSID), 404, 20404, "The requested resource was not found")
		}, say, true, 20404, "no longer in progress", 1},
		{"bad credentials", func(f *twiliofake.Fake) { f.AuthToken = "rotated" }, say, true, 20003, "20003", 1},
		{"unreachable", func(f *twiliofake.Fake) { f.Close() }, say, false, 0, callSID, 0},
		{"unknown verb", nil, []connectors.CallVerb{{Verb: "pause"}}, true, 0, `verb 1 (pause): unknown verb "pause"`, 0},
		{"bad agent address", nil, []connectors.CallVerb{{Verb: connectors.VerbConnect, Number: "ana", Task: "WT1", Worker: "ana"}},
			true, 0, `agent "ana": contact_uri`, 0},
		{"too long for Twilio", nil, []connectors.CallVerb{{Verb: "say", Text: strings.Repeat("Please hold. ", 320)}}, true, 0, "at most 4000", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliofake.New(t)
			p := performer(t, fake)
			if tc.script != nil {
				tc.script(fake)
			}
			res, err := p.PerformCall(context.Background(), &connectors.CallAction{Key: "eff-2", Call: callSID, Verbs: tc.verbs})
			if err == nil {
				t.Fatalf("PerformCall = %+v, want an error", res)
			}
			if connectors.IsPermanent(err) != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, !tc.permanent, tc.permanent)
			}
			var apiErr *twilioapi.APIError
			if tc.code != 0 && (!errors.As(err, &apiErr) || apiErr.Code != tc.code) {
				t.Errorf("%v: want Twilio's code %d in an APIError", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("%v: want it to mention %q", err, tc.mention)
			}
			if ended := tc.code == 21220 || tc.code == 20404; errors.Is(err, connectors.ErrCallEnded) != ended {
				t.Errorf("errors.Is(%v, ErrCallEnded) = %v, want %v", err, !ended, ended)
			}
			if res.Pending {
				t.Error("a failed script is not pending")
			}
			if n := len(fake.Requests()); n != tc.requests {
				t.Errorf("the fake received %d requests, want %d", n, tc.requests)
			}
		})
	}
}

// TestPerformCallRetry: a retry after a temporary failure sends the same
// script again (Twilio's call update has no idempotency key).
func TestPerformCallRetry(t *testing.T) {
	fake := twiliofake.New(t)
	p := performer(t, fake)
	fake.Respond(fake.CallPath(callSID), 503, "", nil)
	a := &connectors.CallAction{Key: "eff-3", Call: callSID, Verbs: []connectors.CallVerb{{Verb: "gather", WaitID: "W1", Text: "Press 1.", Digits: 1}}}
	if _, err := p.PerformCall(context.Background(), a); err == nil || connectors.IsPermanent(err) {
		t.Fatalf("first attempt: %v, want a temporary error", err)
	}
	res, err := p.PerformCall(context.Background(), a)
	if err != nil || !res.Pending {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	forms := fake.Forms(fake.CallPath(callSID))
	if len(forms) != 2 || forms[0].Get("Twiml") != forms[1].Get("Twiml") {
		t.Errorf("the two attempts sent %v", forms)
	}
}

func TestPerformCallCanceled(t *testing.T) {
	fake := twiliofake.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := performer(t, fake).PerformCall(ctx, &connectors.CallAction{Key: "k", Call: callSID, Verbs: []connectors.CallVerb{{Verb: "hangup"}}})
	if err == nil || connectors.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("PerformCall with a canceled context: %v, want a temporary error wrapping context.Canceled", err)
	}
}
