package server_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCommandAnswersCarrySeq: the router events in a command's answer are
// the event log's, seq included, so a client can resume the log or its
// stream from the answer (?after=SEQ) without reading an event twice.
func TestCommandAnswersCarrySeq(t *testing.T) {
	sb := start(t, setup{flow: agentFlow, running: true})
	adminH := bearer(admin)
	if r := call(t, "POST", sb.base+"/v1/workers", []byte(`{"id":"ana","attributes":{"languages":["en"]},"activity":"available"}`), adminH); r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	body := `{"id":"m1","from":"alice","text":"live agent please"}`
	postWebhook(t, sb.base, body)
	res := offerTo(t, sb.base, "ana")
	r := call(t, "POST", sb.base+"/v1/reservations/"+res["id"].(string)+"/accept", nil, adminH)
	answered, _ := r.body["events"].([]any)
	if r.status != 200 || len(answered) == 0 {
		t.Fatalf("accept: %d %v", r.status, r.body)
	}
	logged := map[string]string{} // seq → type, as the task's event log has them
	for _, e := range call(t, "GET", sb.base+"/v1/tasks/"+res["task_id"].(string)+"/events", nil, adminH).body["events"].([]any) {
		e := e.(map[string]any)
		logged[fmt.Sprint(e["seq"])] = e["type"].(string)
	}
	for _, e := range answered {
		e := e.(map[string]any)
		if seq := fmt.Sprint(e["seq"]); seq == "0" || logged[seq] != e["type"] {
			t.Errorf("answered %v with seq %s; the log has %q there (%v)", e["type"], seq, logged[seq], logged)
		}
	}
}

// offerTo waits for worker's one pending reservation and returns it.
func offerTo(t *testing.T, base, worker string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rs, _ := call(t, "GET", base+"/v1/workers/"+worker+"/reservations?status=pending", nil, bearer(admin)).body["reservations"].([]any); len(rs) == 1 {
			return rs[0].(map[string]any)
		}
	}
	t.Fatalf("no offer reached %s", worker)
	return nil
}

// TestTaskShowsLastWorker: the task's attributes show task.last_worker, the
// worker who last completed a task for the contact, as the router routed
// on it (null for a first contact).
func TestTaskShowsLastWorker(t *testing.T) {
	out := &deliveries{byTo: map[string][]string{}}
	platform := httptest.NewServer(out)
	defer platform.Close()
	sb := start(t, setup{flow: agentFlow, running: true, outboundURL: platform.URL})
	adminH := bearer(admin)
	if r := call(t, "POST", sb.base+"/v1/workers", []byte(`{"id":"ana","attributes":{"languages":["en"]},"activity":"available"}`), adminH); r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	lastWorker := func(taskID string) (any, bool) {
		t.Helper()
		attrs, _ := call(t, "GET", sb.base+"/v1/tasks/"+taskID, nil, adminH).body["attributes"].(map[string]any)
		v, ok := attrs["last_worker"]
		return v, ok
	}
	for i, want := range []any{nil, "ana"} {
		body := fmt.Sprintf(`{"id":"m%d","from":"alice","text":"live agent please"}`, i)
		postWebhook(t, sb.base, body)
		res := offerTo(t, sb.base, "ana")
		task := res["task_id"].(string)
		if got, ok := lastWorker(task); !ok || got != want {
			t.Errorf("task %d: last_worker %v (set: %v), want %v", i+1, got, ok, want)
		}
		for _, step := range []string{"/v1/reservations/" + res["id"].(string) + "/accept", "/v1/tasks/" + task + "/complete"} {
			if r := call(t, "POST", sb.base+step, nil, adminH); r.status != 200 {
				t.Fatalf("%s: %d %v", step, r.status, r.body)
			}
		}
		out.waitFor(t, "alice", "Thanks for talking to us, ana") // the flow has ended
	}
}
