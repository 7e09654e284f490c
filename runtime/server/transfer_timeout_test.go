package server_test

import "testing"

// TestTransferTimeout: a warm transfer to a queue where nobody takes the
// task fails once the timeout the request gave runs out, and the worker
// keeps the task; a timeout that is not a duration is refused.
func TestTransferTimeout(t *testing.T) {
	x := newXferRig(t, 0)
	x.worker("ana", "en")
	x.worker("remy", "fr") // in no queue
	task, _ := x.handTo("ana", "m1", "alice")
	x.do("ana", "POST", "/v1/tasks/"+task+"/transfer", `{"queue":"bahasa","mode":"warm","timeout":"soon"}`, 400)
	x.do("ana", "POST", "/v1/tasks/"+task+"/transfer", `{"queue":"bahasa","mode":"warm","timeout":"-1s"}`, 400)
	x.do("ana", "POST", "/v1/tasks/"+task+"/transfer", `{"queue":"bahasa","mode":"warm","timeout":"1s"}`, 200)
	if failed := x.streams["ana"].event("task.transfer_failed"); failed["data"].(map[string]any)["reason"] != "transfer timed out" {
		t.Fatalf("ana's stream: %v", failed)
	}
	x.holds(task, "ana")
	x.converses(task, "ana", "remy", "alice", "m2")
}
