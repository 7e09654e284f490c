package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/server"
)

// voiceFlow queues every call for a phone agent, with the caller's number
// among the task's attributes, as flows/ivr.flow does.
const voiceFlow = `
flow phone {
  trigger call
  support: enqueue voice_routing {
    attributes {caller: message.from, department: "support"}
  }
}
queue phones { workers worker.phone == true }
workflow voice_routing { default phones }
`

// phone is a fake telephony platform on the voice channel: calls come in
// as the connectortest fake's JSON (a message whose attributes hold
// "call_event" is a callback of the call), and the scripts the runtime
// has it perform on calls are recorded.
type phone struct {
	connectortest.InlineFake
	mu      sync.Mutex
	scripts []connectors.CallAction
}

func newPhone() *phone {
	p := &phone{}
	p.Channel = connectors.ChannelVoice
	return p
}

// Receive reads the fake's JSON: the message's id is the call's, and the
// attributes call_event, task, worker and status make it a CallEvent.
func (p *phone) Receive(ctx context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	in, err := p.InlineFake.Receive(ctx, r)
	for i := range in {
		a := in[i].Attributes
		call, _ := a["call"].(string)
		if call == "" {
			call = in[i].PlatformID
		}
		in[i].Thread, in[i].Phone = call, in[i].From
		if kind, _ := a["call_event"].(string); kind != "" {
			str := func(k string) string { s, _ := a[k].(string); return s }
			in[i].Call = &connectors.CallEvent{Kind: connectors.CallEventKind(kind), Task: str("task"), Worker: str("worker"), Status: str("status")}
		}
	}
	return in, err
}

// PerformCall records the script; its outcome comes later, if ever.
func (p *phone) PerformCall(_ context.Context, a *connectors.CallAction) (connectors.CallResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scripts = append(p.scripts, *a)
	return connectors.CallResult{Pending: true}, nil
}

// waitVerb waits until a script performed on call holds verb, and returns it.
func (p *phone) waitVerb(t testing.TB, call, verb string) connectors.CallAction {
	t.Helper()
	var seen []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p.mu.Lock()
		scripts := slices.Clone(p.scripts)
		p.mu.Unlock()
		seen = seen[:0]
		for _, s := range scripts {
			for _, v := range s.Verbs {
				if s.Call == call && v.Verb == verb {
					return s
				}
				seen = append(seen, s.Call+":"+v.Verb)
			}
		}
	}
	t.Fatalf("no %s was performed on call %s; performed %v", verb, call, seen)
	return connectors.CallAction{}
}

// count is how many verbs of that kind were performed on call.
func (p *phone) count(call, verb string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.scripts {
		for _, v := range s.Verbs {
			if s.Call == call && v.Verb == verb {
				n++
			}
		}
	}
	return n
}

// voiceRig is a runtime that takes calls (phone/default) and chats
// (custom/default), with two phone agents: ana, available, and budi,
// offline.
type voiceRig struct {
	running
	phone     *phone
	out       *deliveries
	ana, budi string // tokens
	anaPhone  string // ana's contact_uri
}

func startVoice(t *testing.T) *voiceRig {
	t.Helper()
	out := &deliveries{byTo: map[string][]string{}}
	platform := httptest.NewServer(out)
	t.Cleanup(platform.Close)
	p := newPhone()
	sb := start(t, setup{flow: agentFlow + voiceFlow, outboundURL: platform.URL, running: true,
		instances: []server.Instance{{Connector: "phone", Name: "default", Conn: p}}})
	rig := &voiceRig{running: sb, phone: p, out: out, anaPhone: "+15550100001"}
	worker := func(body string) string {
		t.Helper()
		r := call(t, "POST", sb.base+"/v1/workers", []byte(body), bearer(admin))
		if r.status != 201 {
			t.Fatalf("create worker %s: %d %v", body, r.status, r.body)
		}
		return r.body["token"].(string)
	}
	rig.ana = worker(`{"id":"ana","name":"Ana","activity":"available","capacity":{"chat":1,"voice":1},
		"attributes":{"languages":["en"],"phone":true,"contact_uri":"` + rig.anaPhone + `"}}`)
	rig.budi = worker(`{"id":"budi","name":"Budi","capacity":{"chat":1,"voice":1},
		"attributes":{"languages":["en"],"phone":true,"contact_uri":"sip:budi@pbx.example.com"}}`)
	return rig
}

// ring is a call from the caller's number to the business's; its webhook
// is answered with the reaction, and the call holds for the task.
func (rig *voiceRig) ring(t testing.TB, callID, from string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"from":%q,"to":"+15550009999"}`, callID, from)
	r := call(t, "POST", rig.base+"/v1/webhooks/phone/default", []byte(body), http.Header{"Content-Type": {"application/json"}})
	if r.status != 200 || len(r.body["enqueued"].([]any)) != 1 {
		t.Fatalf("call %s: %d %v", callID, r.status, r.body)
	}
}

// agentLeg reports the end of an agent's leg of a call, as the platform
// calls back: answered (the talk is over) or no_answer.
func (rig *voiceRig) agentLeg(t testing.TB, callID, from, taskID, worker, status string) {
	t.Helper()
	rig.callEvent(t, callID, from, "agent", taskID, worker, status)
}

// answered is the agent's phone picking up the call put through to it.
func (rig *voiceRig) answered(t testing.TB, callID, from, taskID, worker string) {
	t.Helper()
	rig.callEvent(t, callID, from, string(connectors.CallAnsweredEvent), taskID, worker, "")
}

func (rig *voiceRig) callEvent(t testing.TB, callID, from, kind, taskID, worker, status string) {
	t.Helper()
	body, _ := json.Marshal(connectortest.FakeMessage{ID: callID + "-" + kind + "-" + status, From: from,
		Attributes: map[string]any{"call": callID, "call_event": kind, "task": taskID, "worker": worker, "status": status}})
	if r := call(t, "POST", rig.base+"/v1/webhooks/phone/default", body, http.Header{"Content-Type": {"application/json"}}); r.status != 200 {
		t.Fatalf("agent leg of %s: %d %v", callID, r.status, r.body)
	}
}

// TestHangup: a worker hangs up the call of its own voice task (the call's
// connector is told to hang up), not another worker's (403), not a chat
// (409), not a task that does not exist (404); an admin may hang up any
// call, and the agent's leg ending then wraps the task up.
func TestHangup(t *testing.T) {
	rig := startVoice(t)
	base := rig.base
	stream := openStream(t, base, "ana", rig.ana)

	rig.ring(t, "CA100", "+15551230000")
	offer := stream.event("reservation.created")
	voiceTask, voiceRes := offer["task_id"].(string), offer["reservation_id"].(string)
	if d := offer["data"].(map[string]any); d["channel"] != "voice" {
		t.Fatalf("the offer of a call: %v", offer)
	}
	// Before it is accepted the call has no agent to hang up on.
	if r := call(t, "POST", base+"/v1/tasks/"+voiceTask+"/hangup", nil, bearer(admin)); r.status != 409 {
		t.Fatalf("hanging up a waiting call: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/reservations/"+voiceRes+"/accept", nil, bearer(rig.ana)); r.status != 200 {
		t.Fatalf("accept the call: %d %v", r.status, r.body)
	}
	connect := rig.phone.waitVerb(t, "CA100", connectors.VerbConnect)
	if v := connect.Verbs[0]; v.Number != rig.anaPhone || v.Task != voiceTask || v.Worker != "ana" {
		t.Fatalf("the call was put through with %+v, want ana's phone %s", v, rig.anaPhone)
	}

	// A chat Ana holds too.
	body := `{"id":"m1","from":"alice","text":"I want a live agent"}`
	postWebhook(t, base, body)
	chat := stream.event("reservation.created")
	if r := call(t, "POST", base+"/v1/reservations/"+chat["reservation_id"].(string)+"/accept", nil, bearer(rig.ana)); r.status != 200 {
		t.Fatalf("accept the chat: %d %v", r.status, r.body)
	}
	chatTask := chat["task_id"].(string)

	for _, c := range []struct {
		name, task, token string
		status            int
		reason            string
	}{
		{"another worker's call", voiceTask, rig.budi, 403, "is not yours"},
		{"a chat", chatTask, rig.ana, 409, "is a chat task"},
		{"an unknown task", "nope", rig.ana, 404, "not found"},
		{"no token", voiceTask, "", 401, "missing bearer token"},
	} {
		h := bearer(c.token)
		if c.token == "" {
			h = nil
		}
		r := call(t, "POST", base+"/v1/tasks/"+c.task+"/hangup", nil, h)
		if msg, _ := r.body["error"].(string); r.status != c.status || !strings.Contains(msg, c.reason) {
			t.Errorf("%s: %d %v, want %d with %q", c.name, r.status, r.body, c.status, c.reason)
		}
	}
	if n := rig.phone.count("CA100", "hangup"); n != 0 {
		t.Fatalf("refused hang-ups reached the call %d times", n)
	}

	// Ana hangs up her own call: the platform is told to end it.
	r := call(t, "POST", base+"/v1/tasks/"+voiceTask+"/hangup", nil, bearer(rig.ana))
	if r.status != 202 || r.body["task_id"] != voiceTask {
		t.Fatalf("hang up: %d %v", r.status, r.body)
	}
	if h := rig.phone.waitVerb(t, "CA100", "hangup"); h.To != "+15551230000" || len(h.Verbs) != 1 {
		t.Fatalf("the hang-up script %+v", h)
	}
	// The platform reports the agent's leg over: the task wraps up.
	rig.agentLeg(t, "CA100", "+15551230000", voiceTask, "ana", "answered")
	if e := stream.event("task.wrapping"); e["task_id"] != voiceTask {
		t.Fatalf("wrapping %v, want task %s", e, voiceTask)
	}
	// An admin may end any call the runtime follows; a wrapping one too.
	if r := call(t, "POST", base+"/v1/tasks/"+voiceTask+"/hangup", nil, bearer(admin)); r.status != 202 {
		t.Fatalf("an admin hanging up: %d %v", r.status, r.body)
	}
	for deadline := time.Now().Add(10 * time.Second); rig.phone.count("CA100", "hangup") < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the admin's hang-up never reached the call")
		}
	}
	if r := call(t, "POST", base+"/v1/tasks/"+voiceTask+"/complete", nil, bearer(rig.ana)); r.status != 200 {
		t.Fatalf("complete: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/tasks/"+voiceTask+"/hangup", nil, bearer(rig.ana)); r.status != 409 {
		t.Fatalf("hanging up a completed call: %d %v", r.status, r.body)
	}
}
