// Package rbmfake is a fake of Google's RCS Business Messaging API and of
// the OAuth token endpoint its service accounts use, on loopback, for the
// rcs connector's tests and the end-to-end tests of serve. It checks what
// the real API checks of a request (the service account's signed JWT, the
// bearer token, the agentId, the messageId) and records every request
// exactly; it also builds the signed webhooks RBM posts.
package rbmfake

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
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
)

// Scope is the OAuth scope the RBM API requires.
const Scope = "https://www.googleapis.com/auth/rcsbusinessmessaging"

// ClientEmail is the fake service account's address.
const ClientEmail = "rbm-agent@switchboard-test.iam.gserviceaccount.com"

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string // unescaped: /v1/phones/+14155550100/agentMessages
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Reply scripts the answer to one agent message: Status and, unless it is
// 200, Google's error body with Message; Header is added.
type Reply struct {
	Status  int
	Message string
	Header  http.Header
}

// Fake is the fake API. Every field is fixed once New returns.
type Fake struct {
	URL   string // base URL, the connector's api_url
	Agent string // the agent id every call must name

	t     testing.TB
	srv   *httptest.Server
	key   *rsa.PrivateKey
	mu    sync.Mutex
	reqs  []Request
	ids   map[string]bool // messageIds created
	noRCS map[string]bool
	tok   int // tokens issued
	repl  []Reply
}

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// New starts a fake for agent, closed when the test ends.
func New(t testing.TB, agent string) *Fake {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	f := &Fake{Agent: agent, t: t, key: testKey, ids: map[string]bool{}, noRCS: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.URL = f.srv.URL
	return f
}

// TokenURL is the fake's OAuth token endpoint.
func (f *Fake) TokenURL() string { return f.URL + "/token" }

// ServiceAccountJSON is the fake service account's JSON key, as the
// console downloads it, with token_uri pointing at the fake.
func (f *Fake) ServiceAccountJSON() string {
	der, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		f.t.Fatal(err)
	}
	key := map[string]string{
		"type": "service_account", "project_id": "switchboard-test", "private_key_id": "4f1c0e6a5b2d",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": ClientEmail, "client_id": "104928375610293847561",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": f.TokenURL(),
	}
	b, _ := json.Marshal(key)
	return string(b)
}

// Token is the access token the fake issues for the n-th fetch (from 1).
func Token(n int) string { return "ya29.fake-rbm-token-" + strconv.Itoa(n) }

// NoRCS makes the numbers unreachable by RCS: the capability check and
// the send answer 404 for them.
func (f *Fake) NoRCS(numbers ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range numbers {
		f.noRCS[n] = true
	}
}

// Script queues the answers to the next agent messages.
func (f *Fake) Script(replies ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repl = append(f.repl, replies...)
}

// Requests returns what the fake received so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// Tokens returns how many tokens the fake issued.
func (f *Fake) Tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tok
}

// Sent returns the bodies of the agent messages sent to number.
func (f *Fake) Sent(number string) [][]byte {
	var out [][]byte
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/phones/"+number+"/agentMessages" {
			out = append(out, r.Body)
		}
	}
	return out
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	f.mu.Unlock()
	if r.URL.Path == "/token" {
		f.token(w, r, body)
		return
	}
	number, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/phones/"), "/")
	if !ok || !strings.HasPrefix(r.URL.Path, "/v1/phones/+") {
		GoogleError(w, http.StatusNotFound, "NOT_FOUND", "no such method: "+r.URL.Path)
		return
	}
	if !f.authorized(w, r) {
		return
	}
	switch {
	case r.Method == http.MethodGet && rest == "capabilities":
		f.capabilities(w, r, number)
	case r.Method == http.MethodPost && rest == "agentMessages":
		f.agentMessage(w, r, number, body)
	default:
		GoogleError(w, http.StatusNotFound, "NOT_FOUND", "no such method: "+r.Method+" "+r.URL.Path)
	}
}

// authorized checks the bearer token and the agentId as the API does.
func (f *Fake) authorized(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	issued := f.tok
	f.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	valid := false
	for n := 1; n <= issued; n++ {
		valid = valid || tok == Token(n)
	}
	if !ok || !valid {
		GoogleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return false
	}
	if r.URL.Query().Get("agentId") != f.Agent {
		GoogleError(w, http.StatusForbidden, "PERMISSION_DENIED", "The caller does not have permission for agent "+r.URL.Query().Get("agentId"))
		return false
	}
	return true
}

func (f *Fake) capabilities(w http.ResponseWriter, r *http.Request, number string) {
	if !isUUID(r.URL.Query().Get("requestId")) {
		GoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "requestId must be a UUID")
		return
	}
	f.mu.Lock()
	no := f.noRCS[number]
	f.mu.Unlock()
	if no {
		GoogleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	io.WriteString(w, `{"features":["RICHCARD_STANDALONE","RICHCARD_CAROUSEL","ACTION_CREATE_CALENDAR_EVENT","ACTION_DIAL","ACTION_OPEN_URL","ACTION_SHARE_LOCATION","ACTION_VIEW_LOCATION"]}`)
}

func (f *Fake) agentMessage(w http.ResponseWriter, r *http.Request, number string, body []byte) {
	id := r.URL.Query().Get("messageId")
	var msg struct {
		ContentMessage map[string]json.RawMessage `json:"contentMessage"`
	}
	switch {
	case !isUUID(id):
		GoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "messageId must be a UUID")
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		GoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Content-Type must be application/json")
		return
	case json.Unmarshal(body, &msg) != nil || len(msg.ContentMessage) == 0:
		GoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload: contentMessage is required")
		return
	}
	f.mu.Lock()
	no, dup := f.noRCS[number], f.ids[id]
	var reply *Reply
	if !no && !dup && len(f.repl) > 0 {
		reply = &f.repl[0]
		f.repl = f.repl[1:]
	}
	if !no && !dup && (reply == nil || reply.Status == http.StatusOK) {
		f.ids[id] = true
	}
	f.mu.Unlock()
	switch {
	case no:
		GoogleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
		return
	case dup:
		GoogleError(w, http.StatusConflict, "ALREADY_EXISTS", "Requested entity already exists")
		return
	case reply != nil:
		for k, vs := range reply.Header {
			w.Header()[k] = vs
		}
		if reply.Status != http.StatusOK {
			GoogleError(w, reply.Status, statusName(reply.Status), reply.Message)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	ans, _ := json.Marshal(map[string]any{"name": "phones/" + number + "/agentMessages/" + id,
		"sendTime": time.Now().UTC().Format(time.RFC3339Nano), "contentMessage": msg.ContentMessage})
	w.Write(ans)
}

// GoogleError writes Google's error body.
func GoogleError(w http.ResponseWriter, status int, name, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": message, "status": name}})
	w.Write(b)
}

func statusName(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// token checks a JWT bearer grant as Google's token endpoint does: the
// assertion signed RS256 with the service account's key, issued by its
// client_email for the RBM scope, for this endpoint, not expired.
func (f *Fake) token(w http.ResponseWriter, r *http.Request, body []byte) {
	form, _ := url.ParseQuery(string(body))
	if problem := f.checkAssertion(r, form); problem != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		b, _ := json.Marshal(map[string]string{"error": "invalid_grant", "error_description": problem})
		w.Write(b)
		return
	}
	f.mu.Lock()
	f.tok++
	n := f.tok
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, Token(n))
}

func (f *Fake) checkAssertion(r *http.Request, form url.Values) string {
	if r.Method != http.MethodPost || form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		return "want a POST of grant_type urn:ietf:params:oauth:grant-type:jwt-bearer"
	}
	parts := strings.Split(form.Get("assertion"), ".")
	if len(parts) != 3 {
		return "the assertion is not a JWT"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "the assertion's signature is not base64url"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return "Invalid JWT Signature."
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss, Scope, Aud string
		Exp             int64
	}
	if json.Unmarshal(raw, &claims) != nil {
		return "the assertion's claims are not JSON"
	}
	switch {
	case claims.Iss != ClientEmail:
		return "iss is " + claims.Iss
	case claims.Scope != Scope:
		return "scope is " + claims.Scope
	case claims.Aud != f.TokenURL():
		return "aud is " + claims.Aud
	case claims.Exp < time.Now().Unix():
		return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe."
	}
	return ""
}

// Webhook is the request RBM posts for one event (the event's JSON): a
// Pub/Sub push envelope with the event base64-encoded in message.data,
// signed with clientToken.
func Webhook(clientToken, url string, event []byte) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Goog-Signature", Signature(clientToken, event))
	return &connectors.Request{Method: http.MethodPost, URL: url, Header: h, Body: Envelope(event)}
}

// Envelope wraps an event as the Pub/Sub push message RBM posts.
func Envelope(event []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"message": map[string]any{
			"data":        base64.StdEncoding.EncodeToString(event),
			"messageId":   "2070443601311540",
			"publishTime": "2026-12-07T14:02:11.123Z",
		},
		"subscription": "projects/rbm-switchboard-test/subscriptions/rbm-agent-subscription",
	})
	return b
}

// Signature is X-Goog-Signature for an event: base64(HMAC-SHA512(client
// token, the event's JSON)), computed apart from the connector's own.
func Signature(clientToken string, event []byte) string {
	mac := hmac.New(sha512.New, []byte(clientToken))
	mac.Write(event)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
