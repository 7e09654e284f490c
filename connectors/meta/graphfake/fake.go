// Package graphfake is a fake of Meta's Graph API on loopback, for tests:
// it answers the calls the Meta connectors make in the Graph API's JSON
// shapes (a WhatsApp or Messenger send, a media id's lookup and the media's
// download), records every request so a test can assert exactly what was
// sent (method, path with the version, bearer token, JSON body), and lets a
// test script the next answers of a path (a 429 with Retry-After, a 503,
// Meta's error JSON). It also builds webhook requests signed the way Meta
// signs them, so a test can play Meta's side of a webhook.
//
//	f := graphfake.New(t)
//	f.RespondError("/v23.0/106540352242922/messages", 400, 131047, "Re-engagement message")
//	c := graph.New(f.Config(), f.Client())
//	err := c.Post(ctx, "106540352242922/messages", msg, &out) // the scripted 131047
//	err = c.Post(ctx, "106540352242922/messages", msg, &out)  // the default: a wamid
//	reqs := f.Requests()
//
// It sits beside connectors/meta/graph, which it uses to sign; only tests
// import it.
package graphfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
)

// Token is the access token the fake accepts unless a test sets another.
const Token = "EAAJB3ZBtestToken0123456789"

// MediaPath is where the fake serves media bytes, as Meta serves them
// from lookaside.fbsbx.com: MediaPath?mid={media-id}.
const MediaPath = "/whatsapp_business/attachments/"

// Fake is a running fake of the Graph API. Its methods are safe for
// concurrent use.
type Fake struct {
	// URL is the fake's base URL (http://127.0.0.1:port), for
	// graph.Config.BaseURL or a connector's graph_url.
	URL string
	// Token is the bearer token the fake accepts (others get Meta's 190
	// error). Set it before the first request.
	Token string

	srv     *httptest.Server
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at each request
	reqs    []Request
	script  map[string][]Answer
	media   map[string]Media
	seq     int
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string // with the version, without the query: /v23.0/106540352242922/messages
	Query  url.Values
	Token  string          // the bearer token, "" without one
	Body   json.RawMessage // the JSON body as sent (nil for a GET)
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

// Media is a media file the fake holds, as WhatsApp keeps what a customer
// sent.
type Media struct {
	MimeType string
	Data     []byte
}

// New starts a fake for the test's duration, accepting Token.
func New(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{Token: Token, changed: make(chan struct{}),
		script: map[string][]Answer{}, media: map[string]Media{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.URL = f.srv.URL
	return f
}

// Client returns an HTTP client for the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

// Config returns a graph.Config for the fake, with Token and the default
// version.
func (f *Fake) Config() graph.Config {
	return graph.Config{BaseURL: f.URL, Version: graph.DefaultVersion, Token: f.Token}
}

// Close stops the fake: later requests fail to connect, as when Meta
// cannot be reached.
func (f *Fake) Close() { f.srv.Close() }

// Path is the path of a Graph API call under the default version:
// Path("106540352242922/messages") is "/v23.0/106540352242922/messages".
func Path(p string) string { return "/" + graph.DefaultVersion + "/" + strings.TrimLeft(p, "/") }

// AddMedia makes the fake hold a media file under id: GET /{version}/{id}
// answers its URL and type, and the URL serves data.
func (f *Fake) AddMedia(id, mimeType string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.media[id] = Media{MimeType: mimeType, Data: slices.Clone(data)}
}

// Respond queues one answer for the next request to path (with its
// version: Path helps) that has no earlier answer queued: call it twice
// for the next two requests. Once a path's queue is used up, the default
// answers return.
func (f *Fake) Respond(path string, status int, body string, header http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[path] = append(f.script[path], Answer{Status: status, Body: body, Header: header})
}

// RespondError queues Meta's JSON error answer with code and message, as
// Respond does.
func (f *Fake) RespondError(path string, status, code int, message string) {
	f.Respond(path, status, ErrorJSON(code, 0, message, ""), nil)
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
			return reqs, fmt.Errorf("graphfake: %d requests, waited for %d: %w", len(reqs), n, ctx.Err())
		}
	}
}

// Bodies returns the JSON bodies of the POSTs to path, in order.
func (f *Fake) Bodies(path string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost && r.Path == path {
			out = append(out, r.Body)
		}
	}
	return out
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Token: token, Header: r.Header.Clone()}
	if len(raw) > 0 {
		req.Body = json.RawMessage(raw)
	}
	f.mu.Lock()
	f.seq++
	seq := f.seq
	answer, scripted := f.next(r.URL.Path)
	def := f.defaultAnswer(req, token == f.Token, seq)
	f.mu.Unlock()
	if !scripted {
		answer = def
	} else if answer.Status/100 == 2 && answer.Body == "" {
		answer.Body, answer.Header = def.Body, def.Header
	}
	for k, vs := range answer.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(answer.Status)
	_, _ = io.WriteString(w, answer.Body)

	f.mu.Lock()
	req.Answer = answer.Status
	f.reqs = append(f.reqs, req)
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *Fake) next(path string) (Answer, bool) {
	q := f.script[path]
	if len(q) == 0 {
		return Answer{}, false
	}
	f.script[path] = q[1:]
	return q[0], true
}

// defaultAnswer is what the Graph API answers r, in its shapes; f.mu is
// held.
func (f *Fake) defaultAnswer(r Request, authorized bool, seq int) Answer {
	if !authorized {
		return Answer{Status: http.StatusUnauthorized,
			Body: ErrorJSON(190, 0, "Invalid OAuth access token - Cannot parse access token", "OAuthException")}
	}
	if r.Method == http.MethodGet && r.Path == MediaPath {
		m, ok := f.media[r.Query.Get("mid")]
		if !ok {
			return Answer{Status: http.StatusNotFound, Body: "Not Found", Header: http.Header{"Content-Type": {"text/plain"}}}
		}
		return Answer{Status: http.StatusOK, Body: string(m.Data), Header: http.Header{"Content-Type": {m.MimeType}}}
	}
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		m, ok := f.media[parts[1]]
		if !ok {
			break
		}
		return Answer{Status: http.StatusOK, Body: MediaJSON(f.URL, parts[1], m)}
	case len(parts) == 3 && parts[2] == "messages" && r.Method == http.MethodPost:
		var body struct {
			Product   string          `json:"messaging_product"`
			To        string          `json:"to"`
			Recipient json.RawMessage `json:"recipient"` // WhatsApp: a BSUID string; Messenger: {"id": PSID}
		}
		if json.Unmarshal(r.Body, &body) != nil {
			return Answer{Status: http.StatusBadRequest, Body: ErrorJSON(100, 0, "(#100) Invalid parameter", "OAuthException")}
		}
		if body.Product == "whatsapp" {
			var bsuid string
			if body.To == "" && json.Unmarshal(body.Recipient, &bsuid) == nil {
				return Answer{Status: http.StatusOK, Body: WhatsAppSendUserJSON(bsuid, WAMID(seq))}
			}
			return Answer{Status: http.StatusOK, Body: WhatsAppSendJSON(body.To, WAMID(seq))}
		}
		var psid struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(body.Recipient, &psid)
		return Answer{Status: http.StatusOK, Body: MessengerSendJSON(psid.ID, MID(seq))}
	}
	return Answer{Status: http.StatusBadRequest, Body: ErrorJSON(100, 33,
		"Unsupported "+strings.ToLower(r.Method)+" request. Object with ID '"+parts[len(parts)-1]+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
		"GraphMethodException")}
}

// WAMID is the fake's n-th WhatsApp message id, shaped like Meta's
// (wamid. and base64).
func WAMID(n int) string {
	return "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI" + fmt.Sprintf("%020X", n) + "AA=="
}

// MID is the fake's n-th Messenger message id, shaped like Meta's.
func MID(n int) string { return fmt.Sprintf("m_fake%026d", n) }

// ErrorJSON is the Graph API's error body.
func ErrorJSON(code, subcode int, message, typ string) string {
	if typ == "" {
		typ = "OAuthException"
	}
	e := map[string]any{"message": message, "type": typ, "code": code, "fbtrace_id": "AbCdEfGhIjKlMnOp"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

// WhatsAppErrorJSON is the Cloud API's error body, with error_data's
// details as WhatsApp adds them.
func WhatsAppErrorJSON(code int, message, details string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": message, "type": "OAuthException", "code": code,
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": details},
		"fbtrace_id": "AbCdEfGhIjKlMnOp"}})
	return string(b)
}

// WhatsAppSendJSON is the Cloud API's answer to a send to `to`.
func WhatsAppSendJSON(to, wamid string) string {
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []any{map[string]string{"input": to, "wa_id": strings.TrimPrefix(to, "+")}},
		"messages":          []any{map[string]string{"id": wamid}},
	})
	return string(b)
}

// WhatsAppSendUserJSON is the Cloud API's answer to a send to a
// business-scoped user id (the "recipient" field): the contact carries
// user_id, not wa_id.
func WhatsAppSendUserJSON(bsuid, wamid string) string {
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []any{map[string]string{"input": bsuid, "user_id": bsuid}},
		"messages":          []any{map[string]string{"id": wamid}},
	})
	return string(b)
}

// MessengerSendJSON is the Send API's answer to a send to a PSID or IGSID.
func MessengerSendJSON(recipient, mid string) string {
	b, _ := json.Marshal(map[string]string{"recipient_id": recipient, "message_id": mid})
	return string(b)
}

// MediaJSON is the Cloud API's answer to GET /{media-id}: where to
// download it (a URL on the fake) and what it is.
func MediaJSON(base, id string, m Media) string {
	sum := sha256.Sum256(m.Data)
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp",
		"url":               base + MediaPath + "?mid=" + url.QueryEscape(id) + "&ext=" + strconv.Itoa(len(m.Data)),
		"mime_type":         m.MimeType,
		"sha256":            hex.EncodeToString(sum[:]),
		"file_size":         len(m.Data),
		"id":                id,
	})
	return string(b)
}

// Webhook returns a webhook POST as Meta makes it: body, JSON, to fullURL,
// signed with appSecret in X-Hub-Signature-256.
func Webhook(appSecret, fullURL string, body []byte) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "facebookexternalua")
	h.Set(graph.HeaderSignature, graph.Signature(appSecret, body))
	path := fullURL
	q := url.Values{}
	if u, err := url.Parse(fullURL); err == nil {
		path, q = u.Path, u.Query()
	}
	return &connectors.Request{Method: http.MethodPost, URL: fullURL, Path: path, Header: h, Query: q,
		Body: slices.Clone(body), RemoteAddr: "173.252.88.1:43210"}
}

// Verification returns Meta's webhook verification GET to fullURL:
// hub.mode=subscribe, hub.verify_token and hub.challenge.
func Verification(fullURL, verifyToken, challenge string) *connectors.Request {
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {challenge}}
	path := fullURL
	if u, err := url.Parse(fullURL); err == nil {
		path = u.Path
	}
	return &connectors.Request{Method: http.MethodGet, URL: fullURL + "?" + q.Encode(), Path: path,
		Header: http.Header{"User-Agent": {"facebookplatform/1.0 (+http://developers.facebook.com)"}},
		Query:  q, RemoteAddr: "173.252.88.1:43210"}
}
