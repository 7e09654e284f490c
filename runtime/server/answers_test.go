package server_test

import (
	"fmt"
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
	if r := call(t, "POST", sb.base+"/v1/webhooks/custom/default", []byte(body), signed(body, time.Now())); r.status != 200 {
		t.Fatalf("webhook: %d %v", r.status, r.body)
	}
	var res map[string]any
	for deadline := time.Now().Add(10 * time.Second); res == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rs, _ := call(t, "GET", sb.base+"/v1/workers/ana/reservations?status=pending", nil, adminH).body["reservations"].([]any); len(rs) == 1 {
			res = rs[0].(map[string]any)
		}
	}
	if res == nil {
		t.Fatal("no offer reached ana")
	}
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
