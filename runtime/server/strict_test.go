package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/server"
)

// TestBodiesAreStrict sends each route that takes a JSON body a field it
// does not know, a value of the wrong type, or something that is not one
// JSON object: every one is a 400 (415 for a body declared as another
// type) whose JSON reason names the problem, and nothing changes.
func TestBodiesAreStrict(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	adminH := bearer(admin)
	if r := call(t, "POST", sb.base+"/v1/workers", []byte(`{"id":"ana","attributes":{"languages":["en"]}}`), adminH); r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	deploy, _ := json.Marshal(map[string]any{"files": map[string]string{"a.flow": agentFlow}, "activate": true})
	cases := []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		field                    string // the field the answer names; "" when none
		reason                   string // a part of the answer's error
	}{
		{"a worker's attributes sent as skills", "POST", "/v1/workers", `{"id":"bob","skills":{"languages":["en"]}}`, adminH, 400, "skills",
			`unknown field "skills" (this body takes "id", "name", "attributes", "activity", "capacity")`},
		{"a number for a worker's id", "POST", "/v1/workers", `{"id":5}`, adminH, 400, "id", `field "id": want a string, found a JSON number`},
		{"a capacity that is not a map of numbers", "POST", "/v1/workers", `{"id":"bob","capacity":{"chat":"3"}}`, adminH, 400, "capacity", "want a whole number"},
		{"two objects", "POST", "/v1/workers", `{"id":"bob"} {"id":"carl"}`, adminH, 400, "", "more than one JSON value"},
		{"an empty body", "POST", "/v1/workers", ``, adminH, 400, "", "empty body"},
		{"a list instead of an object", "POST", "/v1/workers", `[{"id":"bob"}]`, adminH, 400, "", "a JSON array"},
		{"broken JSON", "POST", "/v1/workers", `{"id":`, adminH, 400, "", "invalid JSON"},
		{"a body declared as XML", "POST", "/v1/workers", `{"id":"bob"}`,
			http.Header{"Authorization": {"Bearer " + admin}, "Content-Type": {"application/xml"}}, 415, "", "the body must be JSON"},
		{"a worker change with a misspelt field", "PATCH", "/v1/workers/ana", `{"attributs":{"languages":["id"]}}`, adminH, 400, "attributs", "unknown field"},
		{"a worker change of id", "PATCH", "/v1/workers/ana", `{"id":"zed"}`, adminH, 400, "", `id "zed" differs from the path's "ana"`},
		{"an activity with a field more", "PUT", "/v1/workers/ana/activity", `{"activity":"available","mood":"good"}`, adminH, 400, "mood", "unknown field"},
		{"an unknown activity", "PUT", "/v1/workers/ana/activity", `{"activity":"lunch"}`, adminH, 400, "", `unknown activity "lunch"`},
		{"a token with a field more", "POST", "/v1/tokens", `{"worker":"ana","expires":"1h"}`, adminH, 400, "expires", "unknown field"},
		{"a contact link with a field more", "POST", "/v1/contacts/c1/link", `{"contact":"c2","force":true}`, adminH, 400, "force", "unknown field"},
		{"a deploy with a field more", "POST", "/v1/programs", string(deploy), adminH, 400, "activate", "unknown field"},
		{"a reply with a misspelt field", "POST", "/v1/tasks/t1/messages", `{"txt":"hello"}`, adminH, 400, "txt", "unknown field"},
		{"a transfer with a field more", "POST", "/v1/tasks/t1/transfer", `{"queue":"english","warm":true}`, adminH, 400, "warm", "unknown field"},
		{"a transfer's timeout as a number", "POST", "/v1/tasks/t1/transfer", `{"queue":"english","timeout":90}`, adminH, 400, "timeout", "want a string"},
		{"a completion with a body", "POST", "/v1/tasks/t1/complete", `{"reason":"done"}`, adminH, 400, "reason", "this body takes no fields"},
		{"an acceptance with a body", "POST", "/v1/reservations/r1/accept", `{"now":true}`, adminH, 400, "now", "unknown field"},
		// The routes whose body may be empty take none, or {}.
		{"an acceptance without a body", "POST", "/v1/reservations/r1/accept", ``, adminH, 404, "", "no pending reservation"},
		{"an acceptance with {}", "POST", "/v1/reservations/r1/accept", `{}`, adminH, 404, "", "no pending reservation"},
		// curl -d sends JSON as a form unless told otherwise.
		{"JSON sent as curl's default type", "POST", "/v1/workers", `{"id":"carl"}`,
			http.Header{"Authorization": {"Bearer " + admin}, "Content-Type": {"application/x-www-form-urlencoded"}}, 201, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, c.method, sb.base+c.path, []byte(c.body), c.header)
			if r.status != c.status {
				t.Fatalf("%s %s %s: %d %v, want %d", c.method, c.path, c.body, r.status, r.body, c.status)
			}
			if c.status < 400 {
				return
			}
			if reason, _ := r.body["error"].(string); !strings.Contains(reason, c.reason) {
				t.Errorf("error %q, want it to contain %q", reason, c.reason)
			}
			if field, _ := r.body["field"].(string); field != c.field {
				t.Errorf("field %q, want %q", field, c.field)
			}
		})
	}
	// Nothing the refused bodies named was created.
	if r := call(t, "GET", sb.base+"/v1/workers/bob", nil, adminH); r.status != 404 {
		t.Errorf("worker bob: %d %v", r.status, r.body)
	}
}

// TestQueryValuesAreChecked: a filter value the API does not know, a
// cursor that is not one and a limit that is not a number are 400s naming
// the parameter, on every route that takes them.
func TestQueryValuesAreChecked(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	adminH := bearer(admin)
	if r := call(t, "POST", sb.base+"/v1/workers", []byte(`{"id":"ana"}`), adminH); r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	cases := []struct {
		path      string
		status    int
		parameter string
	}{
		{"/v1/tasks?status=open", 400, "status"},
		{"/v1/tasks?status=completed", 200, ""},
		{"/v1/workers/ana/reservations?status=done", 400, "status"},
		{"/v1/workers/ana/reservations?status=pending", 200, ""},
		{"/v1/tasks?after=abc", 400, "after"},
		{"/v1/tasks?after=12", 200, ""},
		{"/v1/conversations?after=abc", 400, "after"},
		{"/v1/conversations/c1/messages?after=abc", 400, "after"},
		{"/v1/dead-letters?after=abc", 400, "after"},
		{"/v1/router/events?after=abc", 400, "after"},
		{"/v1/router/events?after=99999999999999999999", 400, "after"},
		{"/v1/tasks/t1/events?after=abc", 400, "after"},
		{"/v1/tasks?limit=ten", 400, "limit"},
		{"/v1/tasks?limit=0", 400, "limit"},
		{"/v1/tasks?limit=-1", 400, "limit"},
		{"/v1/tasks?limit=5000", 200, ""}, // capped at the most a page holds
	}
	for _, c := range cases {
		r := call(t, "GET", sb.base+c.path, nil, adminH)
		if r.status != c.status {
			t.Errorf("%s: %d %v, want %d", c.path, r.status, r.body, c.status)
			continue
		}
		if p, _ := r.body["parameter"].(string); p != c.parameter {
			t.Errorf("%s: parameter %q, want %q (%v)", c.path, p, c.parameter, r.body)
		}
	}
	// Without a token the answer is still 401, whatever the query.
	if r := call(t, "GET", sb.base+"/v1/tasks?after=abc", nil, nil); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
}

// TestListsAreNeverNull walks every GET route of the route table on an
// empty store (one worker, so the worker's lists answer) and checks that
// no answer holds a null where a list would be: an empty list is [].
func TestListsAreNeverNull(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	adminH := bearer(admin)
	if r := call(t, "POST", sb.base+"/v1/workers", []byte(`{"id":"ana"}`), adminH); r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	ready := call(t, "GET", sb.base+"/readyz", nil, nil)
	version, _ := ready.body["program"].(string)
	// What a path parameter stands for, by the segment before it.
	values := map[string]string{"workers": "ana", "programs": version, "flows": "route"}
	lists := 0
	for _, rt := range server.New(server.Config{DemoBot: true}).Routes() {
		method, pattern, _ := strings.Cut(rt, " ")
		if method != "GET" || !strings.HasPrefix(pattern, "/v1/") || strings.HasPrefix(pattern, "/v1/webhooks/") || strings.HasSuffix(pattern, "/stream") {
			continue
		}
		segs := strings.Split(pattern, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				v, ok := values[segs[i-1]]
				if !ok {
					v = "none"
				}
				segs[i] = url.PathEscape(v)
			}
		}
		path := strings.Join(segs, "/")
		status, _, b := roundTrip(t, "GET", sb.base+path, nil, adminH)
		if status != 200 {
			continue // nothing to list: a 404 for an id the empty store lacks
		}
		var body map[string]json.RawMessage
		if json.Unmarshal(b, &body) != nil {
			continue // not a JSON object: a file, the metrics
		}
		isList := false
		for k, v := range body {
			switch {
			case string(v) == "null":
				t.Errorf("GET %s: %q is null, want [] (%s)", path, k, b)
			case strings.HasPrefix(string(v), "["):
				isList = true
			}
		}
		if isList {
			lists++
		}
	}
	if lists < 10 {
		t.Errorf("only %d list routes answered: has the table changed?", lists)
	}
}
