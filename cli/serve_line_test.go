package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/line"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
)

// The line connector end to end: `switchboard serve` runs the shipped
// flows with a line instance pointed at a fake of the LINE Messaging API.
// The support flow's language question goes out with the reply token of
// the customer's message, as quick replies; the customer's tap comes back
// as a signed postback, the task is created with the chosen language, and
// the agent's reply, later, goes out as a push with a retry key.

const (
	lineSecret   = "line-channel-secret"
	lineCustomer = "U4af4980629d2a0e2b8a1c3f5e7d9b1a3"
	lineBot      = "Uf5a1c4f3e2d1b0a9f8e7d6c5b4a39281"
)

// lineHook posts one event from the customer, signed with the channel
// secret; n numbers its webhookEventId and reply token.
func lineHook(r *shipped, n int, event string) {
	r.t.Helper()
	body := fmt.Sprintf(`{"destination":"%s","events":[{%s,"webhookEventId":"01JE2E%020d","deliveryContext":{"isRedelivery":false},`+
		`"timestamp":%d,"source":{"type":"user","userId":"%s"},"replyToken":"e2e-reply-token-%d","mode":"active"}]}`,
		lineBot, event, n, time.Now().UnixMilli(), lineCustomer, n)
	url := r.base + "/v1/webhooks/line/default"
	req := linefake.Webhook(lineSecret, url, []byte(body))
	if status, _, answer := r.post(url, req.Header, req.Body); status != http.StatusOK {
		r.t.Fatalf("line webhook: %d %s", status, answer)
	}
}

// lineSent waits for a request the fake got on path whose body mentions
// want, and returns it.
func lineSent(t *testing.T, fake *linefake.Fake, path, want string) linefake.Request {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, req := range fake.Requests() {
			if req.Path == path && strings.Contains(string(req.Body), want) {
				return req
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the fake never got a request on %s with %s: %+v", path, want, fake.Requests())
	return linefake.Request{}
}

func TestLINEChoicesToATask(t *testing.T) {
	fake := linefake.New(t)
	t.Setenv("LINE_SECRET", lineSecret)
	t.Setenv("LINE_TOKEN", linefake.Token)
	r := serveShipped(t, "--connector", "line/default,channel_secret=env:LINE_SECRET,channel_access_token=env:LINE_TOKEN,api_url="+fake.URL+",data_api_url="+fake.URL)
	agent := r.worker("ana", map[string]any{"languages": []string{"id", "en"}, "department": "support"}, map[string]int{"chat": 5})

	// LINE's Verify button: no events.
	url := r.base + "/v1/webhooks/line/default"
	verify := linefake.Webhook(lineSecret, url, []byte(`{"destination":"`+lineBot+`","events":[]}`))
	if status, _, answer := r.post(url, verify.Header, verify.Body); status != http.StatusOK {
		t.Fatalf("verify: %d %s", status, answer)
	}

	lineHook(r, 1, `"type":"message","message":{"id":"468789577898262530","type":"text","quoteToken":"q3Plxr4AgKd","text":"I want a live agent"}`)
	question := lineSent(t, fake, linefake.ReplyPath, "Which language do you prefer?")
	var sent struct {
		ReplyToken string `json:"replyToken"`
		Messages   []struct {
			Text       string `json:"text"`
			QuickReply struct {
				Items []struct {
					Type   string `json:"type"`
					Action struct {
						Type, Label, Data, DisplayText string
					} `json:"action"`
				} `json:"items"`
			} `json:"quickReply"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(question.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.ReplyToken != "e2e-reply-token-1" || len(sent.Messages) != 1 {
		t.Fatalf("the question as sent: %s", question.Body)
	}
	items := sent.Messages[0].QuickReply.Items
	if len(items) != 2 || items[1].Type != "action" || items[1].Action.Type != "postback" || items[1].Action.Data != "id" ||
		items[1].Action.Label != "Bahasa Indonesia" || items[1].Action.DisplayText != "Bahasa Indonesia" || items[0].Action.Data != "en" {
		t.Fatalf("the question's quick replies: %s", question.Body)
	}

	lineHook(r, 2, `"type":"postback","postback":{"data":"id"}`)
	task := r.accept("ana", agent)
	got := r.taskStatus(task, "assigned")
	attrs, _ := json.Marshal(got["attributes"])
	if !strings.Contains(string(attrs), `"language":"id"`) || !strings.Contains(string(attrs), `"channel":"line"`) {
		t.Fatalf("the task's attributes %s", attrs)
	}

	r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Halo, saya Ana. Ada yang bisa saya bantu?"}, http.StatusAccepted)
	push := lineSent(t, fake, linefake.PushPath, "Halo, saya Ana")
	if !strings.Contains(string(push.Body), `"to":"`+lineCustomer+`"`) || push.Header.Get(line.HeaderRetryKey) == "" ||
		push.Header.Get("Authorization") != "Bearer "+linefake.Token {
		t.Fatalf("the agent's reply as pushed: %v %s", push.Header, push.Body)
	}
	r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
}
