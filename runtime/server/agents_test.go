package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// routeFlow hands customers who ask for a live agent to the english queue;
// its workflows are the tests' own.
const routeFlow = `
flow route {
  start: switch {
    message.text matches "(?i)live agent" -> handoff
    default -> answer
  }
  answer: send "Thanks, a bot will help you" -> done
  handoff: enqueue chat_routing {
    attributes {language: "en"}
    canceled -> goodbye
  } -> thanks
  thanks: send "Thanks for talking to us, ${handoff.task.worker}" -> done
  goodbye: send "Sorry, nobody could take your request" -> done
}
queue english { workers "en" in worker.languages }
`

const agentFlow = routeFlow + `workflow chat_routing { default english }
`

// deliveries collects what the custom connector sends, as the platform would.
type deliveries struct {
	mu   sync.Mutex
	byTo map[string][]string
}

func (d *deliveries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m, ok := readOutbound(w, r)
	if !ok {
		return
	}
	d.mu.Lock()
	d.byTo[m.To] = append(d.byTo[m.To], m.Text)
	d.mu.Unlock()
}

// readOutbound is what the custom connector sent in r; a body that is not
// one is refused, as the platform would.
func readOutbound(w http.ResponseWriter, r *http.Request) (custom.Outbound, bool) {
	var m custom.Outbound
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return m, false
	}
	return m, true
}

// waitFor waits until to has received text (the outbox works in the background).
func (d *deliveries) waitFor(t *testing.T, to, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		got := append([]string(nil), d.byTo[to]...)
		d.mu.Unlock()
		for _, g := range got {
			if g == text {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t.Fatalf("%s never received %q; got %q", to, text, d.byTo[to])
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
}

// agentStream is a worker's WebSocket.
type agentStream struct {
	t    testing.TB
	conn *websocket.Conn
}

func openStream(t testing.TB, base, worker, token string) *agentStream {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/v1/workers/" + worker + "/stream?access_token=" + token
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("stream of %s: %v (status %d)", worker, err, status)
	}
	t.Cleanup(func() { conn.Close() })
	s := &agentStream{t: t, conn: conn}
	if hello := s.next(); hello["type"] != "hello" {
		t.Fatalf("first frame %v, want hello", hello)
	}
	return s
}

func (s *agentStream) next() map[string]any {
	s.t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := s.conn.ReadMessage()
	if err != nil {
		s.t.Fatalf("stream: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		s.t.Fatalf("stream frame %s: %v", b, err)
	}
	return m
}

// event reads until an event of that type arrives and returns it.
func (s *agentStream) event(typ string) map[string]any {
	s.t.Helper()
	var seen []string
	for i := 0; i < 50; i++ {
		f := s.next()
		if f["type"] != "event" {
			continue
		}
		e := f["event"].(map[string]any)
		if e["type"] == typ {
			return e
		}
		seen = append(seen, e["type"].(string))
	}
	s.t.Fatalf("no %s event; saw %v", typ, seen)
	return nil
}

func TestAgentLifecycle(t *testing.T) {
	out := &deliveries{byTo: map[string][]string{}}
	platform := httptest.NewServer(out)
	defer platform.Close()
	hook := &eventHook{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	sb := start(t, setup{flow: agentFlow, outboundURL: platform.URL, running: true, eventHook: hookSrv.URL})
	base := sb.base
	adminH := bearer(admin)
	customer := func(id, from, text string) response {
		t.Helper()
		body := fmt.Sprintf(`{"id":%q,"from":%q,"text":%q}`, id, from, text)
		r := call(t, "POST", base+"/v1/webhooks/custom/default", []byte(body), signed(body, time.Now()))
		if r.status != 200 {
			t.Fatalf("webhook: %d %v", r.status, r.body)
		}
		return r
	}

	// Admins create workers; each gets its token once.
	r := call(t, "POST", base+"/v1/workers", []byte(`{"id":"ana","name":"Ana","attributes":{"languages":["en","id"]},"activity":"available","capacity":{"chat":2}}`), adminH)
	if r.status != 201 || r.body["token"] == nil || r.body["worker"].(map[string]any)["activity"] != "available" {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	ana := r.body["token"].(string)
	r = call(t, "POST", base+"/v1/workers", []byte(`{"id":"budi","attributes":{"languages":["id"]}}`), adminH)
	if r.status != 201 || r.body["worker"].(map[string]any)["activity"] != "offline" {
		t.Fatalf("create budi: %d %v", r.status, r.body)
	}
	budi := r.body["token"].(string)
	for _, c := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
	}{
		{"duplicate worker", "POST", "/v1/workers", `{"id":"ana"}`, adminH, 409},
		{"worker without id", "POST", "/v1/workers", `{"name":"x"}`, adminH, 400},
		{"unknown activity", "POST", "/v1/workers", `{"id":"x","activity":"dancing"}`, adminH, 400},
		{"a worker lists its colleagues", "GET", "/v1/workers", "", bearer(ana), 200},
		{"and the queues", "GET", "/v1/queues", "", bearer(ana), 200},
		{"a worker cannot create workers", "POST", "/v1/workers", `{"id":"y"}`, bearer(ana), 403},
		{"a worker reads itself", "GET", "/v1/workers/ana", "", bearer(ana), 200},
		{"but not another", "GET", "/v1/workers/ana", "", bearer(budi), 403},
		{"nor sets another's activity", "PUT", "/v1/workers/ana/activity", `{"activity":"break"}`, bearer(budi), 403},
		{"no token", "GET", "/v1/workers/ana", "", nil, 401},
		{"bad token", "GET", "/v1/workers/ana", "", bearer("sbw_nope"), 401},
		{"a worker cannot deploy", "GET", "/v1/programs", "", bearer(ana), 403},
		{"unknown worker", "GET", "/v1/workers/zed", "", adminH, 404},
	} {
		if got := call(t, c.method, base+c.path, []byte(c.body), c.header); got.status != c.status {
			t.Errorf("%s: %s %s = %d %v, want %d", c.name, c.method, c.path, got.status, got.body, c.status)
		}
	}

	// Transfer targets: a worker sees who its colleagues are and whether
	// they are there, not their attributes; and the program's queues.
	r = call(t, "GET", base+"/v1/workers", nil, bearer(budi))
	if ws := r.body["workers"].([]any); len(ws) != 2 || ws[0].(map[string]any)["attributes"] != nil || ws[0].(map[string]any)["activity"] != "available" {
		t.Fatalf("colleagues: %v", r.body)
	}
	if r = call(t, "GET", base+"/v1/queues", nil, bearer(budi)); len(r.body["queues"].([]any)) != 1 || r.body["queues"].([]any)[0].(map[string]any)["name"] != "english" {
		t.Fatalf("queues: %v", r.body)
	}

	// A customer asks for an agent: the offer reaches Ana's stream.
	stream := openStream(t, base, "ana", ana)
	customer("m1", "alice", "I want a live agent")
	offer := stream.event("reservation.created")
	resID, taskID := offer["reservation_id"].(string), offer["task_id"].(string)
	if offer["queue"] != "english" {
		t.Fatalf("offer %v", offer)
	}
	if r := call(t, "POST", base+"/v1/reservations/"+resID+"/accept", nil, bearer(budi)); r.status != 403 {
		t.Fatalf("budi accepting ana's reservation: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/reservations/nope/accept", nil, bearer(ana)); r.status != 404 {
		t.Fatalf("unknown reservation: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/reservations/"+resID+"/accept", nil, bearer(ana)); r.status != 200 {
		t.Fatalf("accept: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/reservations/"+resID+"/accept", nil, bearer(ana)); r.status != 409 {
		t.Fatalf("accepting twice: %d %v", r.status, r.body)
	}
	r = call(t, "GET", base+"/v1/tasks/"+taskID, nil, bearer(ana))
	if r.status != 200 || r.body["status"] != "assigned" || r.body["worker_id"] != "ana" || r.body["queue"] != "english" {
		t.Fatalf("task after accept: %d %v", r.status, r.body)
	}
	if r := call(t, "GET", base+"/v1/tasks/"+taskID, nil, bearer(budi)); r.status != 403 {
		t.Fatalf("budi reading ana's task: %d", r.status)
	}

	// While assigned, the customer's messages go to the agent, not the flow.
	customer("m2", "alice", "my order is late")
	msg := stream.event("conversation.message")
	if data := msg["data"].(map[string]any); data["text"] != "my order is late" || msg["task_id"] != taskID {
		t.Fatalf("customer message on the stream: %v", msg)
	}
	if r := call(t, "POST", base+"/v1/tasks/"+taskID+"/messages", []byte(`{"text":"Let me check, Alice."}`), bearer(budi)); r.status != 403 {
		t.Fatalf("budi replying on ana's task: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/tasks/"+taskID+"/messages", []byte(`{"text":"Let me check, Alice."}`), bearer(ana)); r.status != 202 {
		t.Fatalf("reply: %d %v", r.status, r.body)
	}
	out.waitFor(t, "alice", "Let me check, Alice.")
	if d := stream.event("agent.reply.delivered"); d["task_id"] != taskID || d["data"].(map[string]any)["message_id"] == nil {
		t.Fatalf("delivery on the stream: %v", d)
	}
	// The delivered reply is stored once the platform took it: the history
	// has it, after the customer's messages, across channels.
	var texts []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		r = call(t, "GET", base+"/v1/tasks/"+taskID+"/history", nil, bearer(ana))
		if r.status != 200 {
			t.Fatalf("history: %d %v", r.status, r.body)
		}
		texts = texts[:0]
		for _, m := range r.body["conversations"].([]any)[0].(map[string]any)["messages"].([]any) {
			texts = append(texts, m.(map[string]any)["text"].(string))
		}
		if len(texts) == 3 {
			break
		}
	}
	if strings.Join(texts, "|") != "I want a live agent|my order is late|Let me check, Alice." {
		t.Fatalf("history texts %q", texts)
	}
	msgs := r.body["conversations"].([]any)[0].(map[string]any)["messages"].([]any)
	if payload, _ := msgs[2].(map[string]any)["payload"].(map[string]any); payload["agent"] != "ana" {
		t.Fatalf("the agent's reply does not name its agent: %v", msgs[2])
	}

	// Wrap-up, then complete: the flow continues at its completed outcome.
	if r := call(t, "POST", base+"/v1/tasks/"+taskID+"/wrapup", nil, bearer(ana)); r.status != 200 {
		t.Fatalf("wrapup: %d %v", r.status, r.body)
	}
	if r := call(t, "GET", base+"/v1/tasks/"+taskID, nil, bearer(ana)); r.body["status"] != "wrapping" {
		t.Fatalf("task after wrapup: %v", r.body)
	}
	if r := call(t, "POST", base+"/v1/tasks/"+taskID+"/complete", nil, bearer(ana)); r.status != 200 {
		t.Fatalf("complete: %d %v", r.status, r.body)
	}
	out.waitFor(t, "alice", "Thanks for talking to us, ana")
	if r := call(t, "GET", base+"/v1/tasks/"+taskID, nil, adminH); r.body["status"] != "completed" {
		t.Fatalf("task after complete: %v", r.body)
	}
	if r := call(t, "POST", base+"/v1/tasks/"+taskID+"/complete", nil, bearer(ana)); r.status != 404 {
		t.Fatalf("completing twice: %d %v", r.status, r.body)
	}

	// A rejected offer goes to the next eligible worker, never back.
	customer("m3", "bob", "live agent please")
	offer = stream.event("reservation.created")
	if r := call(t, "POST", base+"/v1/reservations/"+offer["reservation_id"].(string)+"/reject", nil, bearer(ana)); r.status != 200 {
		t.Fatalf("reject: %d %v", r.status, r.body)
	}
	task2 := offer["task_id"].(string)
	if r := call(t, "GET", base+"/v1/tasks/"+task2, nil, adminH); r.body["status"] != "waiting" {
		t.Fatalf("task after the only worker rejected it: %v", r.body)
	}
	budiStream := openStream(t, base, "budi", budi)
	// Budi learns English and becomes available: membership is recomputed
	// and the waiting task is offered to him at once.
	if r := call(t, "PATCH", base+"/v1/workers/budi", []byte(`{"attributes":{"languages":["id","en"]}}`), adminH); r.status != 200 {
		t.Fatalf("patch budi: %d %v", r.status, r.body)
	}
	if r := call(t, "PUT", base+"/v1/workers/budi/activity", []byte(`{"activity":"available"}`), bearer(budi)); r.status != 200 {
		t.Fatalf("budi available: %d %v", r.status, r.body)
	}
	if offer = budiStream.event("reservation.created"); offer["task_id"] != task2 {
		t.Fatalf("budi's offer %v, want task %s", offer, task2)
	}

	// An admin cancels it: the offer is withdrawn and the flow goes on at canceled.
	if r := call(t, "POST", base+"/v1/tasks/"+task2+"/cancel", nil, bearer(budi)); r.status != 403 {
		t.Fatalf("a worker canceling: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/tasks/"+task2+"/cancel", nil, adminH); r.status != 200 {
		t.Fatalf("cancel: %d %v", r.status, r.body)
	}
	budiStream.event("reservation.canceled")
	out.waitFor(t, "bob", "Sorry, nobody could take your request")

	// A customer who leaves (the conversation is closed) withdraws the task:
	// the agent's offer is canceled, the flow ends without an outcome.
	customer("m4", "carol", "live agent")
	offer = stream.event("reservation.created")
	r = call(t, "GET", base+"/v1/tasks/"+offer["task_id"].(string), nil, adminH)
	convID := r.body["conversation_id"].(string)
	if r := call(t, "POST", base+"/v1/conversations/"+convID+"/close", nil, bearer(budi)); r.status != 403 {
		t.Fatalf("a worker without the task closing the conversation: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/conversations/"+convID+"/close", nil, adminH); r.status != 200 || r.body["status"] != "closed" {
		t.Fatalf("close: %d %v", r.status, r.body)
	}
	if e := stream.event("reservation.canceled"); e["task_id"] != offer["task_id"] {
		t.Fatalf("canceled %v, want task %v", e, offer["task_id"])
	}
	if r := call(t, "GET", base+"/v1/tasks/"+offer["task_id"].(string), nil, adminH); r.body["status"] != "canceled" {
		t.Fatalf("task of a closed conversation: %v", r.body)
	}

	// The event log tells the whole story, in order.
	r = call(t, "GET", base+"/v1/tasks/"+taskID+"/events", nil, adminH)
	var types []string
	for _, e := range r.body["events"].([]any) {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	want := "task.queued reservation.created reservation.accepted conversation.message agent.reply.delivered task.wrapping reservation.completed task.completed"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("task events:\n got %s\nwant %s", got, want)
	}

	// Statistics: real time per queue, and over the window.
	r = call(t, "GET", base+"/v1/router/stats", nil, adminH)
	if r.status != 200 {
		t.Fatalf("stats: %d %v", r.status, r.body)
	}
	q := r.body["queues"].([]any)[0].(map[string]any)
	if q["queue"] != "english" || q["members"] != 2.0 || q["waiting"] != 0.0 || q["available"] != 2.0 {
		t.Fatalf("queue stats %v", q)
	}
	cum := r.body["cumulative"].(map[string]any)["queues"].(map[string]any)["english"].(map[string]any)
	if cum["entered"] != 3.0 || cum["accepted"] != 1.0 || cum["completed"] != 1.0 || cum["rejected"] != 1.0 || cum["abandoned"] != 2.0 {
		t.Fatalf("cumulative english %v", cum)
	}
	if sl := cum["service_level"].([]any); len(sl) != 3 || sl[0] != 1.0 {
		t.Fatalf("service level %v", sl)
	}
	if r := call(t, "GET", base+"/v1/router/stats", nil, bearer(ana)); r.status != 403 {
		t.Fatalf("a worker reading stats: %d", r.status)
	}

	// Prometheus sees the leader and its events.
	metricsText := call(t, "GET", base+"/metrics", nil, nil).body["raw"].(string)
	for _, want := range []string{`switchboard_router_leader{owner=`, `switchboard_router_events_total{type="reservation.accepted"} 1`} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The event webhook got the router's changes, signed.
	hook.waitFor(t, "task.completed")
}

// eventHook receives the router's event webhook.
type eventHook struct {
	mu    sync.Mutex
	types []string
	bad   int
}

func (h *eventHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if custom.Verify(r.Header, body, secret, time.Now(), 5*time.Minute) != nil || json.Unmarshal(body, &b) != nil || r.Header.Get("Idempotency-Key") == "" {
		h.bad++
		http.Error(w, "bad delivery", http.StatusBadRequest)
		return
	}
	for _, e := range b.Events {
		h.types = append(h.types, e.Type)
	}
}

func (h *eventHook) waitFor(t *testing.T, typ string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, got := range h.types {
			if got == typ {
				h.mu.Unlock()
				return
			}
		}
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Fatalf("the event webhook never got %s (got %v, %d bad deliveries)", typ, h.types, h.bad)
}
