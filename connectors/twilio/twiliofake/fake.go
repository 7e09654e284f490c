// Package twiliofake is a fake of Twilio's REST API on loopback, for
// tests: it answers the calls the Twilio connectors make
// (Messages.json, Calls/{sid}.json, Calls.json) in Twilio's JSON shapes,
// records every request so a test can assert exactly what was sent, and
// lets a test script the next answers of a path (a 429 with Retry-After,
// a 21610 error). It also signs webhook requests the way Twilio does, so
// a test can play Twilio's side of a webhook.
//
//	f := twiliofake.New(t)
//	f.Respond(f.MessagesPath(), 429, "", http.Header{"Retry-After": {"1"}})
//	c := twilioapi.New(f.Config(), f.Client())
//	sid, err := c.CreateMessage(ctx, url.Values{"To": {"+14155550100"}, "From": {"+14155550199"}, "Body": {"Hi"}})
//	// the first POST got the 429, a retry gets the default 201 and an SM… sid
//	reqs := f.Requests() // method, path, form, basic auth, headers of each
//
// It sits beside connectors/twilio/twilioapi, which it uses to sign; only
// tests import it.
package twiliofake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// The credentials New's fake accepts unless the test changes them.
const (
	AccountSID = "ACa1b2c3d4e5f60718293a4b5c6d7e8f90"
	AuthToken  = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
)

// Fake is a running fake of Twilio's REST API. Its methods are safe for
// concurrent use.
type Fake struct {
	// URL is the fake's base URL (http://127.0.0.1:port), for
	// twilioapi.Config.BaseURL or a connector's api_base_url.
	URL string
	// AccountSID and AuthToken are the account the fake serves, and the
	// credentials it accepts. Set them before the first request.
	AccountSID, AuthToken string

	srv     *httptest.Server
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at each request
	reqs    []Request
	script  map[string][]Answer
	keys    map[string]string // API key sid → secret
	seq     int
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string     // without the query
	Form   url.Values // the decoded form body, repeated keys kept in order
	User   string     // basic auth
	Pass   string
	Header http.Header
	Answer int // the status the fake answered
}

// Answer is a scripted answer: Status, Header and Body as written. A 2xx
// with an empty Body gets the default answer's body.
type Answer struct {
	Status int
	Body   string
	Header http.Header
}

// New starts a fake for the test's duration, serving AccountSID with
// AuthToken.
func New(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{AccountSID: AccountSID, AuthToken: AuthToken, changed: make(chan struct{}),
		script: map[string][]Answer{}, keys: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.URL = f.srv.URL
	return f
}

// Client returns an HTTP client for the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

// Config returns a twilioapi.Config for the fake's account.
func (f *Fake) Config() twilioapi.Config {
	return twilioapi.Config{AccountSID: f.AccountSID, AuthToken: f.AuthToken, BaseURL: f.URL}
}

// Close stops the fake: later requests fail to connect, as when Twilio
// cannot be reached.
func (f *Fake) Close() { f.srv.Close() }

// AddAPIKey makes the fake accept sid:secret as credentials too.
func (f *Fake) AddAPIKey(sid, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[sid] = secret
}

// MessagesPath is the path of the account's Messages resource.
func (f *Fake) MessagesPath() string {
	return "/2010-04-01/Accounts/" + f.AccountSID + "/Messages.json"
}

// CallPath is the path of one call of the account.
func (f *Fake) CallPath(callSID string) string {
	return "/2010-04-01/Accounts/" + f.AccountSID + "/Calls/" + callSID + ".json"
}

// Respond queues one answer for the next request to path that has no
// earlier answer queued: call it twice for the next two requests. Once
// a path's queue is used up, the default answers return.
func (f *Fake) Respond(path string, status int, body string, header http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[path] = append(f.script[path], Answer{Status: status, Body: body, Header: header})
}

// RespondError queues Twilio's JSON error answer with code and message,
// as Respond does.
func (f *Fake) RespondError(path string, status, code int, message string) {
	f.Respond(path, status, ErrorJSON(status, code, message), nil)
}

// Requests returns what the fake received so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// Wait waits until the fake has received at least n requests, or ctx
// ends, and returns them.
func (f *Fake) Wait(ctx context.Context, n int) ([]Request, error) {
	for {
		f.mu.Lock()
		reqs, changed := slices.Clone(f.reqs), f.changed
		f.mu.Unlock()
		if len(reqs) >= n {
			return reqs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return reqs, fmt.Errorf("twiliofake: %d requests, waited for %d: %w", len(reqs), n, ctx.Err())
		}
	}
}

// Forms returns the forms of the requests to path, in order.
func (f *Fake) Forms(path string) []url.Values {
	var out []url.Values
	for _, r := range f.Requests() {
		if r.Path == path {
			out = append(out, r.Form)
		}
	}
	return out
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	form, _ := url.ParseQuery(string(raw))
	user, pass, _ := r.BasicAuth()
	req := Request{Method: r.Method, Path: r.URL.Path, Form: form, User: user, Pass: pass, Header: r.Header.Clone()}

	f.mu.Lock()
	f.seq++
	seq := f.seq
	a, scripted := f.next(r.URL.Path)
	authorized := (user == f.AccountSID && pass == f.AuthToken) || (f.keys[user] != "" && f.keys[user] == pass)
	f.mu.Unlock()

	if !scripted {
		a = f.defaultAnswer(r.Method, r.URL.Path, form, authorized, seq)
	}
	if a.Status >= 200 && a.Status < 300 && a.Body == "" {
		a.Body = f.defaultAnswer(r.Method, r.URL.Path, form, true, seq).Body
	}
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(a.Status)
	io.WriteString(w, a.Body)

	req.Answer = a.Status
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// next pops the next scripted answer of path; f.mu is held.
func (f *Fake) next(path string) (Answer, bool) {
	q := f.script[path]
	if len(q) == 0 {
		return Answer{}, false
	}
	f.script[path] = q[1:]
	return q[0], true
}

// defaultAnswer is what Twilio answers a request it accepts, or its
// error for credentials it refuses and paths it does not serve.
func (f *Fake) defaultAnswer(method, path string, form url.Values, authorized bool, seq int) Answer {
	prefix := "/2010-04-01/Accounts/" + f.AccountSID + "/"
	switch {
	case !authorized:
		return Answer{Status: 401, Body: ErrorJSON(401, 20003, "Authentication Error - invalid username")}
	case method != http.MethodPost || !strings.HasPrefix(path, prefix):
		return notFound(path)
	}
	resource := strings.TrimPrefix(path, prefix)
	switch {
	case resource == "Messages.json":
		return Answer{Status: 201, Body: MessageJSON(f.AccountSID, SID("SM", seq), form)}
	case resource == "Calls.json":
		return Answer{Status: 201, Body: CallJSON(f.AccountSID, SID("CA", seq), form)}
	case strings.HasPrefix(resource, "Calls/") && strings.HasSuffix(resource, ".json"):
		sid := strings.TrimSuffix(strings.TrimPrefix(resource, "Calls/"), ".json")
		if strings.Contains(sid, "/") {
			return notFound(path)
		}
		return Answer{Status: 200, Body: CallJSON(f.AccountSID, sid, form)}
	}
	return notFound(path)
}

func notFound(path string) Answer {
	return Answer{Status: 404, Body: ErrorJSON(404, 20404, "The requested resource "+path+" was not found")}
}

// SID returns a resource sid as Twilio makes them: the two-letter prefix
// (SM, MM, CA, AC…) and 32 hex digits, here derived from n.
func SID(prefix string, n int) string { return fmt.Sprintf("%s%032x", prefix, n) }

// ErrorJSON is Twilio's JSON error body.
func ErrorJSON(status, code int, message string) string {
	b, _ := json.Marshal(map[string]any{"code": code, "message": message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
	return string(b)
}

// twilioTime is the date format of Twilio's resources (RFC 2822).
const twilioTime = "Mon, 02 Jan 2006 15:04:05 -0700"

// MessageJSON is the Message resource Twilio answers a created message
// with: status "queued" when sent from a number, "accepted" through a
// Messaging Service without From.
func MessageJSON(accountSID, sid string, form url.Values) string {
	status := "queued"
	if form.Get("MessagingServiceSid") != "" && form.Get("From") == "" {
		status = "accepted"
	}
	now := time.Now().UTC().Format(twilioTime)
	m := map[string]any{
		"account_sid": accountSID, "api_version": "2010-04-01", "body": form.Get("Body"),
		"date_created": now, "date_sent": nil, "date_updated": now, "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": nilIfEmpty(form.Get("From")),
		"messaging_service_sid": nilIfEmpty(form.Get("MessagingServiceSid")),
		"num_media":             fmt.Sprint(len(form["MediaUrl"])), "num_segments": "1", "price": nil, "price_unit": nil,
		"sid": sid, "status": status, "to": form.Get("To"),
		"subresource_uris": map[string]string{"media": "/2010-04-01/Accounts/" + accountSID + "/Messages/" + sid + "/Media.json"},
		"uri":              "/2010-04-01/Accounts/" + accountSID + "/Messages/" + sid + ".json",
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// CallJSON is the Call resource Twilio answers a created or updated call
// with.
func CallJSON(accountSID, sid string, form url.Values) string {
	status := "queued"
	if s := form.Get("Status"); s != "" {
		status = s
	} else if form.Get("Twiml") != "" || form.Get("Url") != "" {
		status = "in-progress"
	}
	now := time.Now().UTC().Format(twilioTime)
	m := map[string]any{
		"account_sid": accountSID, "api_version": "2010-04-01", "date_created": now, "date_updated": now,
		"direction": "inbound", "from": nilIfEmpty(form.Get("From")), "to": nilIfEmpty(form.Get("To")),
		"sid": sid, "status": status, "parent_call_sid": nil,
		"uri": "/2010-04-01/Accounts/" + accountSID + "/Calls/" + sid + ".json",
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Webhook returns a POST webhook request as Twilio makes it: params
// form-encoded to fullURL (the URL Twilio calls, query included),
// signed with authToken.
func Webhook(authToken, fullURL string, params url.Values) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("User-Agent", "TwilioProxy/1.1")
	h.Set(twilioapi.HeaderSignature, twilioapi.Signature(authToken, fullURL, params))
	path, query := fullURL, ""
	if i := strings.IndexByte(fullURL, '?'); i >= 0 {
		path, query = fullURL[:i], fullURL[i+1:]
	}
	if u, err := url.Parse(path); err == nil {
		path = u.Path
	}
	q, _ := url.ParseQuery(query)
	return &connectors.Request{Method: http.MethodPost, URL: fullURL, Path: path, Header: h, Query: q,
		Body: []byte(params.Encode()), RemoteAddr: "54.172.60.1:43210"}
}

// WebhookGET returns a GET webhook request to fullURL with params in its
// query, signed with authToken.
func WebhookGET(authToken, fullURL string, params url.Values) *connectors.Request {
	if len(params) > 0 {
		sep := "?"
		if strings.Contains(fullURL, "?") {
			sep = "&"
		}
		fullURL += sep + params.Encode()
	}
	r := Webhook(authToken, fullURL, nil)
	r.Method, r.Body = http.MethodGet, nil
	r.Header.Del("Content-Type")
	return r
}
