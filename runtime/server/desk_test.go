package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// mediaPlatform records what the custom connector sends, media included.
type mediaPlatform struct {
	mu  sync.Mutex
	got []custom.Outbound
}

func (p *mediaPlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m, ok := readOutbound(w, r)
	if !ok {
		return
	}
	p.mu.Lock()
	p.got = append(p.got, m)
	p.mu.Unlock()
}

// waitMedia waits for a message to `to` with media and returns it.
func (p *mediaPlatform) waitMedia(t *testing.T, to string) custom.Outbound {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p.mu.Lock()
		for _, m := range p.got {
			if m.To == to && len(m.Media) > 0 {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
	}
	t.Fatalf("no media sent to %s", to)
	return custom.Outbound{}
}

// TestDeskAPI covers the desktop's endpoints against the real runtime:
// notes, wrap-up with a disposition (on the task and in the event log),
// canned responses, a contact's history and who may read it, the
// worker's recent conversations, the tasks waiting in its queues and
// attachments sent to the customer's channel; each with its bad inputs.
func TestDeskAPI(t *testing.T) {
	platform := &mediaPlatform{}
	psrv := httptest.NewServer(platform)
	defer psrv.Close()
	sb := start(t, setup{flow: agentFlow, outboundURL: psrv.URL, running: true})
	base := sb.base
	adminH := bearer(admin)
	customer := customerOn(t, base)
	r := call(t, "POST", base+"/v1/workers", []byte(`{"id":"ana","name":"Ana","attributes":{"languages":["en"]},"activity":"available","capacity":{"chat":1}}`), adminH)
	if r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	ana := bearer(r.body["token"].(string))
	r = call(t, "POST", base+"/v1/workers", []byte(`{"id":"budi","attributes":{"languages":["id"]},"activity":"available"}`), adminH)
	budi := bearer(r.body["token"].(string))

	stream := openStream(t, base, "ana", strings.TrimPrefix(ana.Get("Authorization"), "Bearer "))
	customer("m1", "alice", "I want a live agent")
	offer := stream.event("reservation.created")
	taskID := offer["task_id"].(string)
	if r := call(t, "POST", base+"/v1/reservations/"+offer["reservation_id"].(string)+"/accept", nil, ana); r.status != 200 {
		t.Fatalf("accept: %d %v", r.status, r.body)
	}
	// Ana is full (chat capacity 1): the next customer waits in english.
	customer("m2", "bob", "live agent please")

	type req struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		contains                 string // in the JSON error, for 4xx
	}
	check := func(cases []req) {
		t.Helper()
		for _, c := range cases {
			got := call(t, c.method, base+c.path, []byte(c.body), c.header)
			if got.status != c.status {
				t.Errorf("%s: %s %s = %d %v, want %d", c.name, c.method, c.path, got.status, got.body, c.status)
				continue
			}
			if c.status >= 400 {
				msg, _ := got.body["error"].(string)
				if msg == "" || !strings.Contains(msg, c.contains) {
					t.Errorf("%s: error %q, want one with %q", c.name, msg, c.contains)
				}
			}
		}
	}
	task := "/v1/tasks/" + taskID
	check([]req{
		{"a note without text", "POST", task + "/notes", `{"text":"  "}`, ana, 400, "needs a text"},
		{"a note with an unknown field", "POST", task + "/notes", `{"txt":"x"}`, ana, 400, "unknown field"},
		{"a note that is not JSON", "POST", task + "/notes", `note`, ana, 400, "the body must be a JSON object with \"text\""},
		{"a note too long", "POST", task + "/notes", `{"text":"` + strings.Repeat("x", 4001) + `"}`, ana, 400, "at most 4000"},
		{"a note on another's task", "POST", task + "/notes", `{"text":"x"}`, budi, 403, "never offered"},
		{"the notes of another's task", "GET", task + "/notes", ``, budi, 403, "never offered"},
		{"a note on no task", "POST", "/v1/tasks/nope/notes", `{"text":"x"}`, ana, 404, ""},
		{"a note", "POST", task + "/notes", `{"text":"Customer asked twice already"}`, ana, 201, ""},
	})
	r = call(t, "GET", base+task, nil, ana)
	if notes, _ := r.body["notes"].([]any); len(notes) != 1 || notes[0].(map[string]any)["text"] != "Customer asked twice already" ||
		notes[0].(map[string]any)["kind"] != "note" || notes[0].(map[string]any)["worker_id"] != "ana" {
		t.Fatalf("task with its notes: %v", r.body)
	}

	// Waiting: bob's task in english, which Ana is a member of and Budi not.
	var waiting map[string]any
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		waiting = call(t, "GET", base+"/v1/workers/ana/waiting", nil, ana).body
		if ts, _ := waiting["tasks"].([]any); len(ts) == 1 {
			break
		}
	}
	ts, _ := waiting["tasks"].([]any)
	if len(ts) != 1 || waiting["total"] != 1.0 || fmt.Sprint(waiting["queues"]) != "[english]" {
		t.Fatalf("ana's waiting tasks: %v", waiting)
	}
	w0 := ts[0].(map[string]any)
	if w0["queue"] != "english" || w0["contact"].(map[string]any)["address"] != "bob" || w0["wait_ms"].(float64) < 0 || w0["attributes"].(map[string]any)["language"] != "en" {
		t.Fatalf("waiting task: %v", w0)
	}
	if r := call(t, "GET", base+"/v1/workers/budi/waiting", nil, budi); r.status != 200 || len(r.body["tasks"].([]any)) != 0 {
		t.Fatalf("budi's waiting tasks: %d %v", r.status, r.body)
	}
	check([]req{
		{"another's waiting tasks", "GET", "/v1/workers/ana/waiting", ``, budi, 403, "belongs to worker"},
		{"an unknown worker's", "GET", "/v1/workers/zed/waiting", ``, adminH, 404, "no worker"},
	})

	// Transfer targets: the colleagues' free capacity, the queues' available members.
	r = call(t, "GET", base+"/v1/workers", nil, budi)
	for _, w := range r.body["workers"].([]any) {
		if w := w.(map[string]any); w["id"] == "ana" && (w["free"].(map[string]any)["chat"] != 0.0 || w["activity"] != "available" || w["attributes"] != nil) {
			t.Fatalf("ana as budi sees her: %v", w)
		}
	}
	r = call(t, "GET", base+"/v1/queues", nil, budi)
	if q := r.body["queues"].([]any)[0].(map[string]any); q["name"] != "english" || q["available"] != 1.0 || q["waiting"] != 1.0 || q["members"] != 1.0 {
		t.Fatalf("queues: %v", r.body)
	}

	// The contact: Ana served Alice; Budi did not.
	contactID := call(t, "GET", base+task, nil, ana).body["contact_id"].(string)
	r = call(t, "GET", base+"/v1/contacts/"+contactID+"/history", nil, ana)
	if r.status != 200 || r.body["contact"].(map[string]any)["addresses"].([]any)[0].(map[string]any)["address"] != "alice" {
		t.Fatalf("alice's history for ana: %d %v", r.status, r.body)
	}
	convs := r.body["conversations"].([]any)
	last := convs[len(convs)-1].(map[string]any)
	if len(last["messages"].([]any)) == 0 || len(last["notes"].([]any)) != 1 {
		t.Fatalf("alice's conversation: %v", last)
	}
	check([]req{
		{"a contact the worker never served", "GET", "/v1/contacts/" + contactID + "/history", ``, budi, 403, "has served no task"},
		{"an admin reads any", "GET", "/v1/contacts/" + contactID + "/history", ``, adminH, 200, ""},
		{"an unknown contact", "GET", "/v1/contacts/nope/history", ``, ana, 404, "no contact"},
		{"without a token", "GET", "/v1/contacts/" + contactID + "/history", ``, nil, 401, "bearer"},
	})

	// Recent conversations.
	r = call(t, "GET", base+"/v1/workers/ana/conversations", nil, ana)
	if cs := r.body["conversations"].([]any); r.status != 200 || len(cs) != 1 || cs[0].(map[string]any)["id"] != taskID ||
		cs[0].(map[string]any)["contact"].(map[string]any)["address"] != "alice" || cs[0].(map[string]any)["conversation_channel"] != "custom" {
		t.Fatalf("ana's conversations: %d %v", r.status, r.body)
	}
	check([]req{
		{"another's conversations", "GET", "/v1/workers/ana/conversations", ``, budi, 403, "belongs to worker"},
		{"a bad limit", "GET", "/v1/workers/ana/conversations?limit=0", ``, ana, 400, "limit"},
		{"a limit too high", "GET", "/v1/workers/ana/conversations?limit=201", ``, ana, 400, "from 1 to 200"},
	})

	// Canned responses: admins write them, workers read them.
	check([]req{
		{"a worker cannot write one", "POST", "/v1/canned-responses", `{"title":"Hi","text":"Hello"}`, ana, 403, "admin"},
		{"without a text", "POST", "/v1/canned-responses", `{"title":"Hi"}`, adminH, 400, "a title and a text"},
		{"with an unknown field", "POST", "/v1/canned-responses", `{"title":"Hi","body":"x"}`, adminH, 400, "unknown field"},
		{"a title too long", "POST", "/v1/canned-responses", `{"title":"` + strings.Repeat("t", 121) + `","text":"x"}`, adminH, 400, "at most 120"},
		{"an unknown one", "GET", "/v1/canned-responses/nope", ``, ana, 404, "no canned response"},
		{"replacing an unknown one", "PUT", "/v1/canned-responses/nope", `{"title":"a","text":"b"}`, adminH, 404, "no canned response"},
	})
	r = call(t, "POST", base+"/v1/canned-responses", []byte(`{"title":"Greeting","text":"Hi {{contact.name}}, I am {{worker.name}}."}`), adminH)
	if r.status != 201 || r.body["id"] == nil {
		t.Fatalf("create canned: %d %v", r.status, r.body)
	}
	cannedID := r.body["id"].(string)
	if r := call(t, "PUT", base+"/v1/canned-responses/"+cannedID, []byte(`{"title":"Greeting","text":"Hello {{contact.first_name}}!"}`), adminH); r.status != 200 || r.body["text"] != "Hello {{contact.first_name}}!" {
		t.Fatalf("replace canned: %d %v", r.status, r.body)
	}
	if r := call(t, "GET", base+"/v1/canned-responses", nil, ana); r.status != 200 || len(r.body["canned_responses"].([]any)) != 1 {
		t.Fatalf("list canned: %d %v", r.status, r.body)
	}
	check([]req{
		{"a worker cannot delete one", "DELETE", "/v1/canned-responses/" + cannedID, ``, ana, 403, "admin"},
		{"an admin deletes it", "DELETE", "/v1/canned-responses/" + cannedID, ``, adminH, 204, ""},
		{"then it is gone", "GET", "/v1/canned-responses/" + cannedID, ``, ana, 404, "no canned response"},
	})

	// Attachments: the file is kept and sent to the customer as media.
	png := []byte("\x89PNG\r\n\x1a\nnot really an image")
	file := func(ct string) http.Header {
		h := http.Header{"Authorization": ana["Authorization"]}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		return h
	}
	check([]req{
		{"a file without a type", "POST", task + "/attachments", `x`, file(""), 415, "Content-Type"},
		{"an empty file", "POST", task + "/attachments", ``, file("image/png"), 400, "empty"},
		{"on another's task", "POST", task + "/attachments", `x`, http.Header{"Authorization": budi["Authorization"], "Content-Type": {"image/png"}}, 403, ""},
	})
	r = call(t, "POST", base+task+"/attachments?filename=receipt.png&text=Your+receipt", png, file("image/png"))
	if r.status != 202 || r.body["attachment"] == nil {
		t.Fatalf("attachment: %d %v", r.status, r.body)
	}
	sent := platform.waitMedia(t, "alice")
	if sent.Text != "Your receipt" || len(sent.Media) != 1 || sent.Media[0] != r.body["attachment"].(map[string]any)["url"] {
		t.Fatalf("sent %+v, answered %v", sent, r.body)
	}
	status, h, body := roundTrip(t, "GET", sent.Media[0], nil, nil)
	if status != 200 || !bytes.Equal(body, png) || h.Get("Content-Type") != "image/png" || !strings.Contains(h.Get("Content-Disposition"), "receipt.png") {
		t.Fatalf("the platform fetching the file: %d %v %q", status, h, body)
	}
	if status, h, body := roundTrip(t, "HEAD", sent.Media[0], nil, nil); status != 200 || h.Get("Content-Length") != fmt.Sprint(len(png)) || len(body) != 0 {
		t.Fatalf("HEAD of the file: %d %v", status, h)
	}
	if status, _, _ := roundTrip(t, "GET", strings.Replace(sent.Media[0], "sig=", "sig=0", 1), nil, nil); status != 404 {
		t.Fatalf("a forged link: %d", status)
	}

	// Wrap-up with a disposition: on the task and in the event log.
	check([]req{
		{"a disposition on two lines", "POST", task + "/wrapup", `{"disposition":"a\nb"}`, ana, 400, "single code"},
		{"a disposition too long", "POST", task + "/wrapup", `{"disposition":"` + strings.Repeat("d", 65) + `"}`, ana, 400, "at most 64"},
		{"an unknown field", "POST", task + "/wrapup", `{"code":"x"}`, ana, 400, "unknown field"},
		{"another's task", "POST", task + "/wrapup", `{"disposition":"resolved"}`, budi, 403, ""},
	})
	r = call(t, "POST", base+task+"/wrapup", []byte(`{"disposition":"resolved","notes":"Refund sent"}`), ana)
	if r.status != 200 || r.body["wrapup"].(map[string]any)["disposition"] != "resolved" || r.body["events"] == nil {
		t.Fatalf("wrapup: %d %v", r.status, r.body)
	}
	r = call(t, "GET", base+task, nil, ana)
	if w, _ := r.body["wrapup"].(map[string]any); r.body["status"] != "wrapping" || w["disposition"] != "resolved" || w["text"] != "Refund sent" {
		t.Fatalf("task after wrap-up: %v", r.body)
	}
	// A wrapping task takes a corrected disposition without a state change.
	if r := call(t, "POST", base+task+"/wrapup", []byte(`{"disposition":"follow-up"}`), ana); r.status != 200 || r.body["events"] != nil {
		t.Fatalf("second disposition: %d %v", r.status, r.body)
	}
	if r := call(t, "GET", base+task, nil, ana); r.body["wrapup"].(map[string]any)["disposition"] != "follow-up" {
		t.Fatalf("the latest disposition: %v", r.body["wrapup"])
	}
	r = call(t, "GET", base+task+"/events", nil, ana)
	var dispositions []string
	for _, e := range r.body["events"].([]any) {
		if e := e.(map[string]any); e["type"] == "task.disposition" && e["worker_id"] == "ana" {
			dispositions = append(dispositions, e["data"].(map[string]any)["disposition"].(string))
		}
	}
	if strings.Join(dispositions, ",") != "resolved,follow-up" {
		t.Fatalf("dispositions in the event log: %v", r.body)
	}
}
