package twiliofake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twiliofake"
)

func TestDefaultsAndRecording(t *testing.T) {
	f := twiliofake.New(t)
	c := twilioapi.New(f.Config(), f.Client())
	form := url.Values{"To": {"+14155550100"}, "From": {"+14155550199"}, "Body": {"Hi"}, "MediaUrl": {"https://e.com/1.jpg", "https://e.com/2.jpg"}}
	sid, err := c.CreateMessage(context.Background(), form)
	if err != nil {
		t.Fatal(err)
	}
	if len(sid) != 34 || sid[:2] != "SM" {
		t.Errorf("sid = %q, want SM and 32 hex digits", sid)
	}
	if err := c.UpdateCall(context.Background(), "CA00000000000000000000000000000007", url.Values{"Status": {"completed"}}); err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != f.MessagesPath() || r.User != twiliofake.AccountSID || r.Pass != twiliofake.AuthToken ||
		r.Form.Encode() != form.Encode() || len(r.Form["MediaUrl"]) != 2 || r.Answer != 201 ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request = %+v", r)
	}
	if reqs[1].Path != f.CallPath("CA00000000000000000000000000000007") || reqs[1].Form.Get("Status") != "completed" || reqs[1].Answer != 200 {
		t.Errorf("request = %+v", reqs[1])
	}
}

func TestMessageJSONShape(t *testing.T) {
	var m map[string]any
	body := twiliofake.MessageJSON(twiliofake.AccountSID, twiliofake.SID("SM", 1), url.Values{"To": {"+14155550100"}, "MessagingServiceSid": {"MG0123"}, "Body": {"x"}})
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"sid": "SM00000000000000000000000000000001", "status": "accepted", "to": "+14155550100",
		"from": nil, "messaging_service_sid": "MG0123", "direction": "outbound-api", "num_media": "0", "api_version": "2010-04-01"} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
}

func TestScriptAndErrors(t *testing.T) {
	f := twiliofake.New(t)
	f.Respond(f.MessagesPath(), 429, "", http.Header{"Retry-After": {"1"}})
	f.RespondError(f.MessagesPath(), 400, 21610, "Attempt to send to unsubscribed recipient")
	c := twilioapi.New(f.Config(), f.Client())
	ctx := context.Background()

	_, err := c.CreateMessage(ctx, url.Values{"To": {"+14155550100"}})
	if d, ok := connectors.RetryDelay(err); !ok || d != time.Second || connectors.IsPermanent(err) {
		t.Errorf("first: err = %v, delay %v %v; want a temporary error after 1s", err, d, ok)
	}
	_, err = c.CreateMessage(ctx, url.Values{"To": {"+14155550100"}})
	var ae *twilioapi.APIError
	if !errors.As(err, &ae) || ae.Code != 21610 || !connectors.IsPermanent(err) {
		t.Errorf("second: err = %v, want the scripted 21610", err)
	}
	if _, err := c.CreateMessage(ctx, url.Values{"To": {"+14155550100"}}); err != nil {
		t.Errorf("third: the default answer returns, got %v", err)
	}

	bad := f.Config()
	bad.AuthToken = "wrong"
	_, err = twilioapi.New(bad, f.Client()).CreateMessage(ctx, nil)
	if !errors.As(err, &ae) || ae.Code != 20003 || ae.Status != 401 {
		t.Errorf("wrong token: err = %v, want 20003", err)
	}
	key := f.Config()
	key.APIKeySID, key.APIKeySecret = "SK00000000000000000000000000000001", "keysecret"
	if _, err := twilioapi.New(key, f.Client()).CreateMessage(ctx, nil); err == nil {
		t.Error("an unknown API key was accepted")
	}
	f.AddAPIKey(key.APIKeySID, key.APIKeySecret)
	if _, err := twilioapi.New(key, f.Client()).CreateMessage(ctx, nil); err != nil {
		t.Errorf("API key: %v", err)
	}
	err = c.Post(ctx, "/2010-04-01/Accounts/"+twiliofake.AccountSID+"/Queues.json", nil, nil)
	if !errors.As(err, &ae) || ae.Code != 20404 {
		t.Errorf("unknown resource: err = %v, want 20404", err)
	}
}

func TestWait(t *testing.T) {
	f := twiliofake.New(t)
	c := twilioapi.New(f.Config(), f.Client())
	go c.CreateMessage(context.Background(), url.Values{"To": {"+14155550100"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reqs, err := f.Wait(ctx, 1)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("Wait: %v, %d requests", err, len(reqs))
	}
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if _, err := f.Wait(short, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait for a request that never comes: %v", err)
	}
}

func TestWebhook(t *testing.T) {
	params := url.Values{"MessageSid": {"SM0123"}, "Body": {"hi"}, "MediaUrl0": {"https://api.twilio.com/x"}}
	r := twiliofake.Webhook("tok", "https://example.com/v1/webhooks/twilio/default?x=1", params)
	got, err := twilioapi.Verify(r, "", "tok")
	if err != nil {
		t.Fatal(err)
	}
	if got.Encode() != params.Encode() || r.Path != "/v1/webhooks/twilio/default" || r.Query.Get("x") != "1" {
		t.Errorf("params %v, path %q, query %v", got, r.Path, r.Query)
	}
	g := twiliofake.WebhookGET("tok", "https://example.com/hook", params)
	got, err = twilioapi.Verify(g, "https://example.com/hook", "tok")
	if err != nil {
		t.Fatal(err)
	}
	if got.Encode() != params.Encode() || g.Method != "GET" {
		t.Errorf("GET params %v", got)
	}
}
