// Package slackfake is a fake of the Slack Web API on loopback, for
// tests: it answers chat.postMessage as Slack does ({"ok":true,
// "channel":…,"ts":…} or {"ok":false,"error":…}), records every request
// so a test can assert exactly what was posted (the method, the token,
// the form with its blocks), and lets a test script the next answers (a
// 429 with Retry-After, a 503, an error code). It also builds requests
// signed the way Slack signs them, so a test can play Slack's side of the
// Events API and of interactivity.
//
//	f := slackfake.New(t)
//	f.Script(slackfake.Answer{Error: "not_in_channel"})
//	// a connector configured with api_url=f.URL and bot_token=f.Token
//	posts := f.Posts()
//
// It sits beside connectors/slack, whose signature it uses; only tests
// import it.
//
// For Socket Mode it answers apps.connections.open to the app-level
// token with the URL of its own WebSocket, which greets with hello, pings,
// sends the envelopes a test gives SendEnvelope and records their
// acknowledgements (Acks).
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/slack"
)

// Token is the bot token the fake accepts unless a test sets another.
const Token = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"

// Fake is a running fake of the Web API. Its methods are safe for
// concurrent use.
type Fake struct {
	// URL is the Web API's base URL (http://127.0.0.1:port/api/), for a
	// connector's api_url.
	URL string
	// Token is the bot token the fake accepts (others get invalid_auth).
	// Set it before the first request.
	Token string

	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []Request
	script []Answer
	seq    int
	sock   socket
}

// Request is one request the fake received.
type Request struct {
	Method string      // the Web API method: chat.postMessage
	Header http.Header // as sent
	Form   url.Values  // the form, token included
	Answer int         // the HTTP status the fake answered
}

// Answer is a scripted answer: an HTTP Status other than 200 (with
// Header, and Slack's HTML error page), or Slack's error code in a 200.
type Answer struct {
	Status int
	Header http.Header
	Error  string
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{Token: Token, sock: socket{ready: make(chan struct{})}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/api/"
	t.Cleanup(f.srv.Close)
	return f
}

// Client returns an HTTP client for the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

// Script queues the answers to the next requests.
func (f *Fake) Script(answers ...Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, answers...)
}

// Requests returns what the fake received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// Posts returns the forms of the chat.postMessage calls the fake
// accepted, in order.
func (f *Fake) Posts() []url.Values {
	var out []url.Values
	for _, r := range f.Requests() {
		if r.Method == "chat.postMessage" && r.Answer == http.StatusOK && r.Form.Get("token") == f.Token {
			out = append(out, r.Form)
		}
	}
	return out
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, socketPath) {
		f.serveSocket(w, r)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	var a Answer
	if len(f.script) > 0 {
		a, f.script = f.script[0], f.script[1:]
	}
	status := http.StatusOK
	if a.Status != 0 {
		status = a.Status
	}
	f.seq++
	seq := f.seq
	f.reqs = append(f.reqs, Request{Method: method, Header: r.Header.Clone(), Form: form, Answer: status})
	token := f.Token
	f.mu.Unlock()
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	if status != http.StatusOK {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><body>%d %s</body></html>", status, http.StatusText(status))
		return
	}
	if method == "apps.connections.open" {
		f.openConnection(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case !ok || method != "chat.postMessage":
		a.Error = "unknown_method"
	case r.Method != http.MethodPost:
		a.Error = "invalid_request"
	case form.Get("token") != token:
		a.Error = "invalid_auth"
	case form.Get("channel") == "":
		a.Error = "channel_not_found"
	case form.Get("text") == "" && form.Get("blocks") == "":
		a.Error = "no_text"
	}
	if a.Error != "" {
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": a.Error})
		return
	}
	ts := TS(seq)
	msg := map[string]any{"type": "message", "subtype": "bot_message", "text": form.Get("text"), "ts": ts,
		"bot_id": "B0FAKEBOT1", "app_id": "A0FAKEAPP1"}
	if th := form.Get("thread_ts"); th != "" {
		msg["thread_ts"] = th
	}
	if b := form.Get("blocks"); b != "" {
		msg["blocks"] = json.RawMessage(b)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": form.Get("channel"), "ts": ts, "message": msg})
}

// TS is the ts the fake gives its n-th message.
func TS(n int) string { return "1767366245." + fmt.Sprintf("%06d", n) }

// Webhook is a request as Slack sends it to hook (a URL) at time at: body
// signed with secret, with the content type of an Events API request for
// a JSON object, else of a form (an interaction, a slash command).
func Webhook(secret, hook string, at time.Time, body []byte) *connectors.Request {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if !strings.HasPrefix(string(body), "{") {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	h.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	h.Set(slack.HeaderTimestamp, ts)
	h.Set(slack.HeaderSignature, slack.Sign(secret, ts, body))
	path := hook
	if u, err := url.Parse(hook); err == nil {
		path = u.Path
	}
	return &connectors.Request{Method: http.MethodPost, URL: hook, Path: path, Header: h, Body: body}
}

// Interaction is the form body Slack posts for an interaction payload.
func Interaction(payload string) []byte {
	return []byte("payload=" + url.QueryEscape(payload))
}
