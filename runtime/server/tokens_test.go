package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/runtime/server"
)

// createWorker creates a worker through the API and returns its token.
func createWorker(t *testing.T, base, id string) string {
	t.Helper()
	r := call(t, "POST", base+"/v1/workers", []byte(fmt.Sprintf(`{"id":%q,"attributes":{"languages":["en"]}}`, id)), bearer(admin))
	if r.status != 201 || r.body["token"] == nil || r.body["token_id"] == nil {
		t.Fatalf("create %s: %d %v", id, r.status, r.body)
	}
	return r.body["token"].(string)
}

// listTokens returns GET /v1/tokens as token's holder sees it, by id.
func listTokens(t *testing.T, base, token string) map[string]map[string]any {
	t.Helper()
	r := call(t, "GET", base+"/v1/tokens", nil, bearer(token))
	if r.status != 200 {
		t.Fatalf("list tokens: %d %v", r.status, r.body)
	}
	out := map[string]map[string]any{}
	for _, v := range r.body["tokens"].([]any) {
		tok := v.(map[string]any)
		for _, secretish := range []string{"token", "hash", "secret"} {
			if _, ok := tok[secretish]; ok {
				t.Fatalf("token list shows %q: %v", secretish, tok)
			}
		}
		out[tok["id"].(string)] = tok
	}
	return out
}

func TestDeletedWorkerTokenDies(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	base := sb.base
	old := createWorker(t, base, "bob")
	if r := call(t, "GET", base+"/v1/workers/bob", nil, bearer(old)); r.status != 200 {
		t.Fatalf("bob reads itself: %d %v", r.status, r.body)
	}
	if r := call(t, "DELETE", base+"/v1/workers/bob", nil, bearer(admin)); r.status != 204 {
		t.Fatalf("delete bob: %d %v", r.status, r.body)
	}
	// The old token reads nothing once bob is gone …
	for _, path := range []string{"/v1/workers", "/v1/queues", "/v1/workers/bob", "/v1/tokens"} {
		if r := call(t, "GET", base+path, nil, bearer(old)); r.status != 401 || r.body["error"] == nil {
			t.Errorf("deleted bob's token: GET %s = %d %v, want 401", path, r.status, r.body)
		}
	}
	// … nor when a new worker takes the id.
	fresh := createWorker(t, base, "bob")
	for _, c := range []struct {
		name, token string
		status      int
	}{
		{"old token", old, 401},
		{"new token", fresh, 200},
	} {
		if r := call(t, "GET", base+"/v1/workers/bob", nil, bearer(c.token)); r.status != c.status {
			t.Errorf("%s after bob was created again: %d %v, want %d", c.name, r.status, r.body, c.status)
		}
	}
	if r := call(t, "PUT", base+"/v1/workers/bob/activity", []byte(`{"activity":"available"}`), bearer(old)); r.status != 401 {
		t.Errorf("old token sets the new bob's activity: %d %v", r.status, r.body)
	}
	// Only the new bob's token is listed.
	bobs := 0
	for _, tok := range listTokens(t, base, admin) {
		if tok["worker"] == "bob" {
			bobs++
		}
	}
	if bobs != 1 {
		t.Errorf("bob has %d tokens listed, want 1", bobs)
	}
}

func TestTokenAPI(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	base := sb.base
	bob := createWorker(t, base, "bob")
	ann := createWorker(t, base, "ann")

	for _, c := range []struct {
		name, body, token string
		status            int
	}{
		{"admin token naming a worker", `{"role":"admin","worker":"bob"}`, admin, 400},
		{"worker token naming none", `{"role":"worker"}`, admin, 400},
		{"no role", `{}`, admin, 400},
		{"unknown role", `{"role":"root"}`, admin, 400},
		{"unknown field", `{"role":"admin","expires":"1h"}`, admin, 400},
		{"both expiries", `{"role":"admin","expires_in":"1h","expires_at":"2099-01-01T00:00:00Z"}`, admin, 400},
		{"expiry passed", `{"role":"admin","expires_at":"2001-01-01T00:00:00Z"}`, admin, 400},
		{"bad duration", `{"role":"admin","expires_in":"soon"}`, admin, 400},
		{"negative duration", `{"role":"admin","expires_in":"-1h"}`, admin, 400},
		{"days beyond a century", `{"role":"admin","expires_in":"99999999d"}`, admin, 400},
		{"bad worker id", `{"worker":"a/b"}`, admin, 400},
		{"unknown worker", `{"worker":"zed"}`, admin, 404},
		{"a worker cannot issue", `{"worker":"bob"}`, bob, 403},
		{"admin token", `{"role":"admin"}`, admin, 201},
		{"worker token, role implied, in days", `{"worker":"bob","expires_in":"30d"}`, admin, 201},
	} {
		r := call(t, "POST", base+"/v1/tokens", []byte(c.body), bearer(c.token))
		if r.status != c.status || r.body["error"] == nil && c.status >= 400 {
			t.Errorf("%s: POST /v1/tokens %s = %d %v, want %d", c.name, c.body, r.status, r.body, c.status)
		}
	}

	r := call(t, "POST", base+"/v1/tokens", []byte(`{"role":"worker","worker":"bob","expires_in":"720h"}`), bearer(admin))
	if r.status != 201 || r.body["id"] == nil || r.body["worker"] != "bob" || r.body["role"] != "worker" || r.body["expires_at"] == nil {
		t.Fatalf("issue bob a token: %d %v", r.status, r.body)
	}
	bob2, bob2ID := r.body["token"].(string), r.body["id"].(string)
	if exp, _ := time.Parse(time.RFC3339, r.body["expires_at"].(string)); exp.Sub(time.Now()) < 719*time.Hour {
		t.Errorf("expires_at %v, want in 720h", r.body["expires_at"])
	}
	if r := call(t, "GET", base+"/v1/workers/bob", nil, bearer(bob2)); r.status != 200 {
		t.Fatalf("bob's second token: %d %v", r.status, r.body)
	}

	// An admin lists every token; a worker its own.
	all := listTokens(t, base, admin)
	if len(all) != 6 || all[bob2ID]["worker"] != "bob" || all[bob2ID]["created_at"] == nil {
		t.Fatalf("admin's list: %v", all)
	}
	own := listTokens(t, base, bob)
	if len(own) != 3 || own[bob2ID] == nil {
		t.Fatalf("bob's list: %v", own)
	}
	if r := call(t, "GET", base+"/v1/tokens?worker=ann", nil, bearer(admin)); len(r.body["tokens"].([]any)) != 1 {
		t.Fatalf("ann's tokens: %v", r.body)
	}
	var annID string
	for id, tok := range all {
		if tok["worker"] == "ann" {
			annID = id
		}
	}

	// Revocation, one token at a time.
	for _, c := range []struct {
		name, id, token string
		status          int
	}{
		{"a worker cannot revoke another's", annID, bob, 404},
		{"unknown id", "tok_nope", admin, 404},
		{"an admin revokes bob's second", bob2ID, admin, 204},
		{"twice", bob2ID, admin, 404},
	} {
		if r := call(t, "DELETE", base+"/v1/tokens/"+c.id, nil, bearer(c.token)); r.status != c.status {
			t.Errorf("%s: DELETE %s = %d %v, want %d", c.name, c.id, r.status, r.body, c.status)
		}
	}
	if r := call(t, "GET", base+"/v1/workers/bob", nil, bearer(bob2)); r.status != 401 {
		t.Errorf("revoked token: %d %v, want 401", r.status, r.body)
	}
	if r := call(t, "GET", base+"/v1/workers/bob", nil, bearer(bob)); r.status != 200 {
		t.Errorf("bob's first token after the second was revoked: %d %v", r.status, r.body)
	}
	// A worker revokes its own.
	var bobFirst string
	for id := range listTokens(t, base, bob) {
		if id != bob2ID {
			bobFirst = id // bob's first or the one issued in days: either is its own
		}
	}
	if r := call(t, "DELETE", base+"/v1/tokens/"+bobFirst, nil, bearer(bob)); r.status != 204 {
		t.Errorf("bob revokes its own: %d %v", r.status, r.body)
	}
	if r := call(t, "GET", base+"/v1/workers/ann", nil, bearer(ann)); r.status != 200 {
		t.Errorf("ann's token: %d %v", r.status, r.body)
	}
}

func TestTokenExpiry(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	createWorker(t, sb.base, "bob")
	for _, c := range []struct {
		name    string
		worker  string
		expires time.Time
		status  int
	}{
		{"expired worker token", "bob", time.Now().Add(-time.Second), 401},
		{"expired admin token", "", time.Now().Add(-time.Hour), 401},
		{"worker token expiring later", "bob", time.Now().Add(time.Hour), 200},
		{"admin token expiring later", "", time.Now().Add(time.Hour), 200},
	} {
		secret, _, err := server.IssueToken(context.Background(), sb.store, c.worker, c.expires)
		if err != nil {
			t.Fatal(err)
		}
		r := call(t, "GET", sb.base+"/v1/workers/bob", nil, bearer(secret))
		if r.status != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, r.status, r.body, c.status)
		}
		if c.status == 401 && (r.body["reason"] != "expired" || !strings.Contains(fmt.Sprint(r.body["error"]), "expired")) {
			t.Errorf("%s: %v, want the reason: expired", c.name, r.body)
		}
	}
}

func TestTokenLastUsed(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	r := call(t, "POST", sb.base+"/v1/tokens", []byte(`{"role":"admin"}`), bearer(admin))
	if r.status != 201 || r.body["last_used_at"] != nil {
		t.Fatalf("issue: %d %v", r.status, r.body)
	}
	tok, id := r.body["token"].(string), r.body["id"].(string)
	lastUsed := func() any { return listTokens(t, sb.base, admin)[id]["last_used_at"] }
	if r := call(t, "GET", sb.base+"/v1/workers", nil, bearer(tok)); r.status != 200 {
		t.Fatalf("use: %d %v", r.status, r.body)
	}
	// Written in the background, soon.
	deadline := time.Now().Add(5 * time.Second)
	for lastUsed() == nil {
		if time.Now().After(deadline) {
			t.Fatal("last_used_at never set")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := lastUsed()
	at, err := time.Parse(time.RFC3339Nano, first.(string))
	if err != nil || time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Fatalf("last_used_at %v: %v", first, err)
	}
	// Not a write per request: uses within the minute leave it.
	for range 5 {
		call(t, "GET", sb.base+"/v1/workers", nil, bearer(tok))
	}
	time.Sleep(200 * time.Millisecond)
	if got := lastUsed(); got != first {
		t.Errorf("last_used_at %v after more uses within a minute, want %v kept", got, first)
	}
}

func TestWorkerIDs(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	for _, c := range []struct {
		name, id string
		status   int
	}{
		{"plain", "bob", 201},
		{"email", "ana.maria@example.com", 201},
		{"punctuation inside", "a_b-c.d", 201},
		{"longest", strings.Repeat("x", 128), 201},
		{"digit first", "7seven", 201},
		{"slash", "a/b", 400},
		{"too long", strings.Repeat("x", 129), 400},
		{"10 KB", strings.Repeat("x", 10<<10), 400},
		{"NUL", "a\x00b", 400},
		{"space", "a b", 400},
		{"leading dot", ".x", 400},
		{"leading dash", "-x", 400},
		{"percent", "a%2Fb", 400},
		{"non-ASCII", "zoë", 400},
		{"question mark", "a?b", 400},
	} {
		body := fmt.Sprintf(`{"id":%q}`, c.id)
		r := call(t, "POST", sb.base+"/v1/workers", []byte(body), bearer(admin))
		if r.status != c.status || (c.status == 400 && r.body["error"] == nil) {
			t.Errorf("%s: %d %v, want %d", c.name, r.status, r.body, c.status)
			continue
		}
		if c.status == 201 {
			// Created means addressable.
			if r := call(t, "GET", sb.base+"/v1/workers/"+url.PathEscape(c.id), nil, bearer(admin)); r.status != 200 {
				t.Errorf("%s: GET it back: %d %v", c.name, r.status, r.body)
			}
		}
	}
	// A worker id in a transfer's body is checked too.
	if r := call(t, "POST", sb.base+"/v1/tasks/T1/transfer", []byte(`{"worker":"a/b"}`), bearer(admin)); r.status != 400 {
		t.Errorf("transfer to a/b: %d %v, want 400", r.status, r.body)
	}
}

func TestAccessTokenOnlyOnStream(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	bob := createWorker(t, sb.base, "bob")
	for _, c := range []struct {
		method, path, token string
	}{
		{"GET", "/v1/workers", admin},
		{"GET", "/v1/workers/bob", bob},
		{"GET", "/v1/tokens", admin},
		{"GET", "/v1/programs", admin},
		{"PUT", "/v1/workers/bob/activity", bob},
		{"DELETE", "/v1/workers/bob", admin},
	} {
		r := call(t, c.method, sb.base+c.path+"?access_token="+url.QueryEscape(c.token), []byte(`{"activity":"available"}`), http.Header{"Content-Type": {"application/json"}})
		if r.status != 401 || !strings.Contains(fmt.Sprint(r.body["error"]), "stream") {
			t.Errorf("%s %s?access_token=: %d %v, want 401 pointing at the stream", c.method, c.path, r.status, r.body)
		}
	}
	// The stream takes it: browsers open WebSockets without headers.
	openStream(t, sb.base, "bob", bob)
	if r := call(t, "GET", sb.base+"/v1/workers/bob", nil, bearer(admin)); r.status != 200 {
		t.Errorf("bob survived: %d %v", r.status, r.body)
	}
}

// TestStreamEndsWithToken checks that an open stream stops when its token
// no longer authenticates: it outlives the request that checked the token.
func TestStreamEndsWithToken(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	base := sb.base
	// closed reads the stream until it ends and fails on any event.
	closed := func(name string, s *agentStream) {
		t.Helper()
		_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, b, err := s.conn.ReadMessage()
			if err == nil {
				t.Fatalf("%s: the stream sent %s", name, b)
			}
			if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
				t.Fatalf("%s: %v, want a close with policy violation", name, err)
			}
			return
		}
	}
	activity := func(worker, act string) {
		t.Helper()
		if r := call(t, "PUT", base+"/v1/workers/"+worker+"/activity", []byte(`{"activity":"`+act+`"}`), bearer(admin)); r.status != 200 {
			t.Fatalf("activity: %d %v", r.status, r.body)
		}
	}

	// A deleted worker's stream ends before the new worker of that id
	// has an event.
	old := createWorker(t, base, "bob")
	stream := openStream(t, base, "bob", old)
	if r := call(t, "DELETE", base+"/v1/workers/bob", nil, bearer(admin)); r.status != 204 {
		t.Fatalf("delete bob: %d %v", r.status, r.body)
	}
	createWorker(t, base, "bob")
	activity("bob", "available")
	closed("deleted worker", stream)

	// A revoked token's stream ends at the next event.
	r := call(t, "POST", base+"/v1/tokens", []byte(`{"worker":"bob"}`), bearer(admin))
	if r.status != 201 {
		t.Fatalf("issue: %d %v", r.status, r.body)
	}
	stream = openStream(t, base, "bob", r.body["token"].(string))
	if r := call(t, "DELETE", base+"/v1/tokens/"+r.body["id"].(string), nil, bearer(admin)); r.status != 204 {
		t.Fatalf("revoke: %d %v", r.status, r.body)
	}
	activity("bob", "break")
	closed("revoked token", stream)
}
