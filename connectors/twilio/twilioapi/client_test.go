package twilioapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

const accountSID = "AC0123456789abcdef0123456789abcdef"

// seen is one request the test server received.
type seen struct {
	method, path, user, pass, contentType string
	form                                  url.Values
}

// server answers every request with status, header and body, and records
// the requests.
func server(t *testing.T, status int, header http.Header, body string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, user, pass, r.Header.Get("Content-Type"), form})
		mu.Unlock()
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), got...) }
}

const messageJSON = `{"account_sid": "AC0123456789abcdef0123456789abcdef", "api_version": "2010-04-01", "body": "Hello",
 "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "direction": "outbound-api", "error_code": null, "error_message": null,
 "from": "+14155550199", "messaging_service_sid": null, "num_media": "0", "num_segments": "1", "price": null,
 "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued", "to": "+14155550100",
 "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"}`

func TestCreateMessage(t *testing.T) {
	srv, requests := server(t, http.StatusCreated, nil, messageJSON)
	for _, c := range []struct {
		name       string
		cfg        twilioapi.Config
		user, pass string
	}{
		{"auth token", twilioapi.Config{AccountSID: accountSID, AuthToken: "token"}, accountSID, "token"},
		{"API key", twilioapi.Config{AccountSID: accountSID, AuthToken: "token", APIKeySID: "SK0123", APIKeySecret: "keysecret"}, "SK0123", "keysecret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.BaseURL = srv.URL + "/"
			cl := twilioapi.New(c.cfg, srv.Client())
			form := url.Values{"To": {"+14155550100"}, "From": {"+14155550199"}, "Body": {"Hello"},
				"MediaUrl": {"https://example.com/a.jpg", "https://example.com/b.jpg"}}
			sid, err := cl.CreateMessage(context.Background(), form)
			if err != nil {
				t.Fatal(err)
			}
			if sid != "SM1f0e8ae6ade43cb3c0ce4525424e404f" {
				t.Errorf("sid = %q", sid)
			}
			all := requests()
			r := all[len(all)-1]
			if r.method != "POST" || r.path != "/2010-04-01/Accounts/"+accountSID+"/Messages.json" ||
				r.user != c.user || r.pass != c.pass || r.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("request = %+v", r)
			}
			if r.form.Encode() != form.Encode() {
				t.Errorf("form = %v, want %v", r.form, form)
			}
		})
	}
}

func TestUpdateCall(t *testing.T) {
	srv, requests := server(t, http.StatusOK, nil, `{"sid": "CA0123456789abcdef0123456789abcdef", "status": "in-progress"}`)
	cl := twilioapi.New(twilioapi.Config{AccountSID: accountSID, AuthToken: "token", BaseURL: srv.URL}, srv.Client())
	form := url.Values{"Twiml": {"<Response><Say>Connecting you now</Say></Response>"}}
	if err := cl.UpdateCall(context.Background(), "CA0123456789abcdef0123456789abcdef", form); err != nil {
		t.Fatal(err)
	}
	r := requests()[0]
	if r.path != "/2010-04-01/Accounts/"+accountSID+"/Calls/CA0123456789abcdef0123456789abcdef.json" || r.form.Get("Twiml") != form.Get("Twiml") {
		t.Errorf("request = %+v", r)
	}
	if err := cl.UpdateCall(context.Background(), "", form); !connectors.IsPermanent(err) {
		t.Errorf("empty call sid: err = %v, want permanent", err)
	}
}

func TestClientErrors(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		permanent bool
		retry     time.Duration // 0: no Retry-After
		code      int
		text      string
	}{
		{"opted out", 400, nil, `{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}`,
			true, 0, 21610, "twilio 21610: Attempt to send to unsubscribed recipient"},
		{"bad number", 400, nil, `{"code": 21211, "message": "Invalid 'To' Phone Number: +1415555", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`,
			true, 0, 21211, "twilio 21211: Invalid 'To' Phone Number"},
		{"bad credentials", 401, nil, `{"code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.", "message": "Authentication Error - invalid username", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`,
			true, 0, 20003, "twilio 20003: Authentication Error"},
		{"too many requests", 429, http.Header{"Retry-After": {"3"}}, `{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}`,
			false, 3 * time.Second, 20429, "twilio 20429: Too Many Requests"},
		{"server error", 500, nil, `{"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500", "status": 500}`,
			false, 0, 20500, "twilio 20500"},
		{"gateway, not JSON", 502, nil, "<html><body>Bad   Gateway</body></html>", false, 0, 0, "twilio: HTTP 502: <html><body>Bad Gateway</body></html>"},
		{"unavailable, date", 503, http.Header{"Retry-After": {"Wed, 21 Oct 2099 07:28:00 GMT"}}, "", false, twilioapi.MaxRetryAfter, 0, "twilio: HTTP 503: Service Unavailable"},
		{"redirect not followed", 302, http.Header{"Location": {"/elsewhere"}}, "", true, 0, 0, "twilio: HTTP 302"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := server(t, c.status, c.header, c.body)
			cl := twilioapi.New(twilioapi.Config{AccountSID: accountSID, AuthToken: "token", BaseURL: srv.URL}, srv.Client())
			_, err := cl.CreateMessage(context.Background(), url.Values{"To": {"+14155550100"}})
			if err == nil {
				t.Fatal("no error")
			}
			if connectors.IsPermanent(err) != c.permanent {
				t.Errorf("permanent = %v, want %v: %v", !c.permanent, c.permanent, err)
			}
			d, ok := connectors.RetryDelay(err)
			if ok != (c.retry != 0) || d != c.retry {
				t.Errorf("retry delay = %v, %v; want %v", d, ok, c.retry)
			}
			var ae *twilioapi.APIError
			if !errors.As(err, &ae) || ae.Code != c.code || ae.Status != c.status {
				t.Fatalf("APIError = %+v, want code %d status %d", ae, c.code, c.status)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q does not contain %q", err, c.text)
			}
		})
	}
}

func TestClientNetworkAndContext(t *testing.T) {
	srv, _ := server(t, http.StatusCreated, nil, messageJSON)
	url0 := srv.URL
	srv.Close()
	cl := twilioapi.New(twilioapi.Config{AccountSID: accountSID, AuthToken: "token", BaseURL: url0}, nil)
	if _, err := cl.CreateMessage(context.Background(), nil); err == nil || connectors.IsPermanent(err) {
		t.Errorf("closed server: err = %v, want a temporary error", err)
	}

	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	cl = twilioapi.New(twilioapi.Config{AccountSID: accountSID, AuthToken: "token", BaseURL: slow.URL}, slow.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := cl.CreateMessage(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) || connectors.IsPermanent(err) {
		t.Errorf("err = %v, want the context's deadline, temporary", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("CreateMessage did not honour the context")
	}
}
