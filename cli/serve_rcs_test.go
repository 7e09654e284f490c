package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/rcs/rbmfake"
)

// The rcs connector end to end: `switchboard serve` runs the shipped
// flows with an RBM agent pointed at a fake of the RBM API and of
// Google's token endpoint. The webhook's registration is answered, the
// support flow's language question goes out as suggested replies, the
// customer's tap comes back signed as RBM signs it, the task is created
// with the chosen language, and the agent's reply reaches the fake.

const (
	rbmAgent    = "switchboard-support"
	rbmToken    = "SJENCPGJESMGUFPY"
	rbmCustomer = "+14155550123"
)

// rbmEvent posts one RBM event (the JSON of message.data), signed.
func rbmEvent(r *shipped, event string) {
	r.t.Helper()
	url := r.base + "/v1/webhooks/rcs/default"
	req := rbmfake.Webhook(rbmToken, url, []byte(event))
	if status, _, answer := r.post(url, req.Header, req.Body); status != http.StatusOK {
		r.t.Fatalf("rcs: %d %s", status, answer)
	}
}

// rbmSent waits for the first agent message to the customer whose JSON
// mentions want.
func rbmSent(t *testing.T, fake *rbmfake.Fake, want string) (body string, messageID string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, req := range fake.Requests() {
			if req.Method == http.MethodPost && req.Path == "/v1/phones/"+rbmCustomer+"/agentMessages" && strings.Contains(string(req.Body), want) {
				return string(req.Body), req.Query.Get("messageId")
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the fake never got an agent message with %s: %+v", want, fake.Requests())
	return "", ""
}

func TestRCSChoicesToATaskAndBack(t *testing.T) {
	fake := rbmfake.New(t, rbmAgent)
	t.Setenv("RBM_KEY", fake.ServiceAccountJSON())
	t.Setenv("RBM_CLIENT_TOKEN", rbmToken)
	r := serveShipped(t, "--connector", "rcs/default,agent_id="+rbmAgent+",service_account_json=env:RBM_KEY,client_token=env:RBM_CLIENT_TOKEN,api_url="+fake.URL)
	agent := r.worker("ana", map[string]any{"languages": []string{"id", "en"}, "department": "support"}, map[string]int{"chat": 5})
	hook := r.base + "/v1/webhooks/rcs/default"

	// RBM's registration of the webhook: the secret comes back as the body.
	status, _, answer := r.post(hook, http.Header{"Content-Type": {"application/json"}}, []byte(`{"clientToken":"`+rbmToken+`","secret":"1234567890"}`))
	if status != http.StatusOK || string(answer) != "1234567890" {
		t.Fatalf("the registration answered %d %q", status, answer)
	}

	event := func(n int, content string) string {
		return fmt.Sprintf(`{"senderPhoneNumber":"%s","messageId":"MxE2e%04d","sendTime":"%s",%s,"agentId":"%s@rbm.goog"}`,
			rbmCustomer, n, time.Now().UTC().Format(time.RFC3339Nano), content, rbmAgent)
	}
	rbmEvent(r, event(1, `"text":"I want a live agent"`))
	question, _ := rbmSent(t, fake, "Which language do you prefer?")
	for _, want := range []string{`"suggestions":[`, `{"reply":{"text":"English","postbackData":"en"}}`, `{"reply":{"text":"Bahasa Indonesia","postbackData":"id"}}`} {
		if !strings.Contains(question, want) {
			t.Fatalf("the question as sent lacks %s: %s", want, question)
		}
	}
	rbmEvent(r, event(2, `"suggestionResponse":{"postbackData":"id","text":"Bahasa Indonesia","type":"REPLY"}`))
	task := r.accept("ana", agent)
	got := r.taskStatus(task, "assigned")
	attrs, _ := json.Marshal(got["attributes"])
	if !strings.Contains(string(attrs), `"language":"id"`) {
		t.Fatalf("the task's attributes %s", attrs)
	}

	r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Halo, saya Ana. Ada yang bisa dibantu?"}, http.StatusAccepted)
	reply, id := rbmSent(t, fake, "Halo, saya Ana")
	if reply != `{"contentMessage":{"text":"Halo, saya Ana. Ada yang bisa dibantu?"}}` {
		t.Fatalf("the agent's reply as sent: %s", reply)
	}
	r.waitEvent(task, "agent.reply.delivered", "Halo, saya Ana")
	// RBM reports the reply delivered: acknowledged like any event.
	rbmEvent(r, fmt.Sprintf(`{"senderPhoneNumber":"%s","eventType":"DELIVERED","eventId":"MxEv0001","messageId":"%s","sendTime":"%s","agentId":"%s@rbm.goog"}`,
		rbmCustomer, id, time.Now().UTC().Format(time.RFC3339Nano), rbmAgent))
	if fake.Tokens() != 1 {
		t.Errorf("%d OAuth tokens fetched, want 1 reused for every call", fake.Tokens())
	}
	r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
}
