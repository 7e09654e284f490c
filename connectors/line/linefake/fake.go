// Package linefake is a fake of the LINE Messaging API on loopback, for
// the line connector's tests and the end-to-end tests of serve: it
// answers the reply and push endpoints as LINE does (sentMessages, the
// single use of a reply token, a push's retry key accepted once and
// answered 409 after), serves message content as the data host does, and
// records every request exactly. Webhook signs a body as LINE signs
// webhooks.
package linefake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Token is the channel access token the fake accepts.
const Token = "fake-line-channel-access-token"

// Paths of the endpoints the fake serves.
const (
	ReplyPath   = "/v2/bot/message/reply"
	PushPath    = "/v2/bot/message/push"
	contentPath = "/v2/bot/message/"
)

// Request is one request the fake received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Answer is a scripted answer to the next request on a path.
type Answer struct {
	Status int
	Body   string
	Header http.Header
}

// Fake is the fake API. Its URL serves both the API host's and the data
// host's endpoints.
type Fake struct {
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	requests  []Request
	script    map[string][]Answer
	used      map[string]bool // reply tokens used, and push retry keys accepted
	content   map[string]content
	sentCount int
}

type content struct {
	mimeType string
	data     []byte
}

// New starts a fake, closed at the test's end.
func New(t testing.TB) *Fake {
	f := &Fake{script: map[string][]Answer{}, used: map[string]bool{}, content: map[string]content{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// Client returns a client for the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

// AddContent makes GET /v2/bot/message/{id}/content serve data.
func (f *Fake) AddContent(id, mimeType string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.content[id] = content{mimeType, data}
}

// Respond scripts the answer to the next request on path.
func (f *Fake) Respond(path string, a Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[path] = append(f.script[path], a)
}

// Requests returns what the fake received, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Bodies returns the bodies of the requests on path, in order.
func (f *Fake) Bodies(path string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range f.Requests() {
		if r.Path == path {
			out = append(out, r.Body)
		}
	}
	return out
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	a, scripted := f.next(r.URL.Path)
	if !scripted {
		a = f.answer(r, body)
	}
	f.mu.Unlock()
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.Status)
	io.WriteString(w, a.Body)
}

func (f *Fake) next(path string) (Answer, bool) {
	s := f.script[path]
	if len(s) == 0 {
		return Answer{}, false
	}
	f.script[path] = s[1:]
	return s[0], true
}

// answer is LINE's own answer to a request, with the fake's state held.
func (f *Fake) answer(r *http.Request, body []byte) Answer {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		return Answer{Status: http.StatusUnauthorized, Body: ErrorJSON("Authentication failed. Confirm that the access token in the authorization header is valid.")}
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, contentPath) && strings.HasSuffix(r.URL.Path, "/content"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, contentPath), "/content")
		c, ok := f.content[id]
		if !ok {
			return Answer{Status: http.StatusNotFound, Body: ErrorJSON("Not found")}
		}
		return Answer{Status: http.StatusOK, Body: string(c.data), Header: http.Header{"Content-Type": {c.mimeType}}}
	case r.Method != http.MethodPost:
		return Answer{Status: http.StatusNotFound, Body: ErrorJSON("Not found")}
	case r.URL.Path == ReplyPath:
		var req struct {
			ReplyToken string            `json:"replyToken"`
			Messages   []json.RawMessage `json:"messages"`
		}
		if json.Unmarshal(body, &req) != nil || req.ReplyToken == "" || f.used["reply:"+req.ReplyToken] {
			return Answer{Status: http.StatusBadRequest, Body: ErrorJSON("Invalid reply token")}
		}
		f.used["reply:"+req.ReplyToken] = true
		return f.sent(len(req.Messages))
	case r.URL.Path == PushPath:
		var req struct {
			To       string            `json:"to"`
			Messages []json.RawMessage `json:"messages"`
		}
		if json.Unmarshal(body, &req) != nil || req.To == "" {
			return Answer{Status: http.StatusBadRequest, Body: ErrorJSON("The request body has 1 error(s)")}
		}
		if key := r.Header.Get("X-Line-Retry-Key"); key != "" {
			if f.used["push:"+key] {
				return Answer{Status: http.StatusConflict, Body: ErrorJSON("The retry key is already accepted"),
					Header: http.Header{"X-Line-Accepted-Request-Id": {"accepted-" + key}}}
			}
			f.used["push:"+key] = true
		}
		return f.sent(len(req.Messages))
	}
	return Answer{Status: http.StatusNotFound, Body: ErrorJSON("Not found")}
}

// sent is the answer to n messages sent: their ids and quote tokens.
func (f *Fake) sent(n int) Answer {
	type sent struct {
		ID         string `json:"id"`
		QuoteToken string `json:"quoteToken"`
	}
	var out struct {
		SentMessages []sent `json:"sentMessages"`
	}
	for range n {
		f.sentCount++
		out.SentMessages = append(out.SentMessages, sent{ID: MessageID(f.sentCount), QuoteToken: fmt.Sprintf("qt-%d", f.sentCount)})
	}
	b, _ := json.Marshal(out)
	return Answer{Status: http.StatusOK, Body: string(b)}
}

// MessageID is the id the fake gives the n-th message it sends (1-based).
func MessageID(n int) string { return fmt.Sprintf("5%017d", n) }

// SentJSON is LINE's answer to a send of messages with these ids.
func SentJSON(ids ...string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = `{"id":"` + id + `"}`
	}
	return `{"sentMessages":[` + strings.Join(parts, ",") + `]}`
}

// ErrorJSON is LINE's error body.
func ErrorJSON(message string, details ...string) string {
	type detail struct {
		Message  string `json:"message"`
		Property string `json:"property"`
	}
	out := struct {
		Message string   `json:"message"`
		Details []detail `json:"details,omitempty"`
	}{Message: message}
	for i := 0; i+1 < len(details); i += 2 {
		out.Details = append(out.Details, detail{details[i], details[i+1]})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// Signature is the X-Line-Signature of body: base64(HMAC-SHA256(channel
// secret, body)).
func Signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Webhook is a webhook request to fullURL as LINE makes it, signed.
func Webhook(secret, fullURL string, body []byte) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Line-Signature", Signature(secret, body))
	h.Set("User-Agent", "LineBotWebhook/2.0")
	return &connectors.Request{Method: http.MethodPost, URL: fullURL, Path: pathOf(fullURL), Header: h, Body: body}
}

func pathOf(fullURL string) string {
	if i := strings.Index(fullURL, "://"); i >= 0 {
		rest := fullURL[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return "/"
	}
	return fullURL
}
