package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/slack/slackfake"
)

// The Slack connector end to end: `switchboard serve` runs the shipped
// flows with the slack connector pointed at a fake of the Web API. Slack
// verifies the Request URL, a customer asks for an agent in a direct
// message and, in a channel, by mentioning the app; the support flow's
// language question goes out as Block Kit buttons in the customer's
// channel (in the mention's thread), the tap comes back as a signed
// interaction, the task is created with the chosen language, and the
// agent's reply reaches the same channel and thread.

const slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slackHook posts body signed as Slack signs it now, and returns the answer.
func slackHook(r *shipped, body []byte) (int, []byte) {
	r.t.Helper()
	hook := r.base + "/v1/webhooks/slack/default"
	req := slackfake.Webhook(slackSecret, hook, time.Now(), body)
	status, _, answer := r.post(hook, req.Header, req.Body)
	return status, answer
}

// slackPost waits for the fake's first accepted chat.postMessage whose
// text has want, after skip posts.
func slackPost(t *testing.T, fake *slackfake.Fake, skip int, want string) url.Values {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		posts := fake.Posts()
		for _, p := range posts[min(skip, len(posts)):] {
			if strings.Contains(p.Get("text"), want) {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the fake never got a post with %q: %+v", want, fake.Posts())
	return nil
}

func TestSlackChoicesToATask(t *testing.T) {
	fake := slackfake.New(t)
	t.Setenv("SLACK_BOT_TOKEN", fake.Token)
	t.Setenv("SLACK_SIGNING_SECRET", slackSecret)
	r := serveShipped(t, "--connector", "slack/default,bot_token=env:SLACK_BOT_TOKEN,signing_secret=env:SLACK_SIGNING_SECRET,api_url="+fake.URL)
	agent := r.worker("ana", map[string]any{"languages": []string{"id", "en"}, "department": "support"}, map[string]int{"chat": 5})

	status, answer := slackHook(r, []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`))
	if status != http.StatusOK || string(answer) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("the url_verification answered %d %q", status, answer)
	}
	unsigned := http.Header{"Content-Type": {"application/json"}}
	if status, _, answer := r.post(r.base+"/v1/webhooks/slack/default", unsigned, []byte(`{"type":"event_callback"}`)); status != http.StatusUnauthorized {
		t.Fatalf("an unsigned request answered %d %s", status, answer)
	}

	cases := []struct {
		name, channel, user, ts string
		event                   string // the inner event asking for an agent
		thread                  string // the thread replies go in
	}{
		{"direct message", "D024BE91L", "U2147483697", "1765116000.000100",
			`{"type":"message","channel":"D024BE91L","user":"U2147483697","text":"I want a live agent","ts":"1765116000.000100","event_ts":"1765116000.000100","channel_type":"im"}`, ""},
		{"mention in a channel", "C0LAN2Q65", "U061F7AUR", "1765116100.000200",
			`{"type":"app_mention","channel":"C0LAN2Q65","user":"U061F7AUR","text":"<@U0LAN0Z89> I want a live agent","ts":"1765116100.000200","event_ts":"1765116100.000200"}`, "1765116100.000200"},
	}
	for i, c := range cases {
		before := len(fake.Posts())
		event := fmt.Sprintf(`{"token":"XXYYZZ","team_id":"T061EG9R6","api_app_id":"A0PNCHHK2","event":%s,"type":"event_callback","event_id":"Ev0E2E%04d","event_time":%d,`+
			`"authorizations":[{"enterprise_id":null,"team_id":"T061EG9R6","user_id":"U0LAN0Z89","is_bot":true,"is_enterprise_install":false}]}`, c.event, i, time.Now().Unix())
		if status, answer := slackHook(r, []byte(event)); status != http.StatusOK {
			t.Fatalf("%s: the event answered %d %s", c.name, status, answer)
		}
		question := slackPost(t, fake, before, "Which language do you prefer?")
		if question.Get("channel") != c.channel || question.Get("thread_ts") != c.thread {
			t.Fatalf("%s: the question went to %q thread %q", c.name, question.Get("channel"), question.Get("thread_ts"))
		}
		var blocks []map[string]any
		if err := json.Unmarshal([]byte(question.Get("blocks")), &blocks); err != nil || len(blocks) != 2 || blocks[1]["type"] != "actions" {
			t.Fatalf("%s: the question's blocks %s", c.name, question.Get("blocks"))
		}
		for _, want := range []string{`"value":"en"`, `"value":"id"`, `"text":"Bahasa Indonesia"`, `"type":"button"`} {
			if !strings.Contains(question.Get("blocks"), want) {
				t.Fatalf("%s: the buttons lack %s: %s", c.name, want, question.Get("blocks"))
			}
		}

		threadTS := ""
		if c.thread != "" {
			threadTS = `,"thread_ts":"` + c.thread + `"`
		}
		tap := fmt.Sprintf(`{"type":"block_actions","user":{"id":"%s","username":"amy","name":"amy","team_id":"T061EG9R6"},"api_app_id":"A0PNCHHK2","token":"XXYYZZ",`+
			`"container":{"type":"message","message_ts":"%s","channel_id":"%s","is_ephemeral":false%s},"trigger_id":"12466734323.1395872398.e2e%d",`+
			`"team":{"id":"T061EG9R6","domain":"acme"},"channel":{"id":"%s","name":"support"},"message":{"type":"message","ts":"%s"%s,"text":"Which language do you prefer?"},`+
			`"actions":[{"action_id":"choice_2","block_id":"switchboard_choices","text":{"type":"plain_text","text":"Bahasa Indonesia","emoji":true},"value":"id","type":"button","action_ts":"%d.000%d00"}]}`,
			c.user, slackfake.TS(len(fake.Posts())), c.channel, threadTS, i, c.channel, slackfake.TS(len(fake.Posts())), threadTS, time.Now().Unix(), i)
		if status, answer := slackHook(r, slackfake.Interaction(tap)); status != http.StatusOK {
			t.Fatalf("%s: the tap answered %d %s", c.name, status, answer)
		}
		task := r.accept("ana", agent)
		got := r.taskStatus(task, "assigned")
		attrs, _ := json.Marshal(got["attributes"])
		if !strings.Contains(string(attrs), `"language":"id"`) || !strings.Contains(string(attrs), `"channel":"slack"`) {
			t.Fatalf("%s: the task's attributes %s", c.name, attrs)
		}

		r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Hi, Ana here. How can I help?"}, http.StatusAccepted)
		reply := slackPost(t, fake, before, "Hi, Ana here.")
		if reply.Get("channel") != c.channel || reply.Get("thread_ts") != c.thread || reply.Get("token") != fake.Token {
			t.Fatalf("%s: the agent's reply went to %q thread %q", c.name, reply.Get("channel"), reply.Get("thread_ts"))
		}
		r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
	}
}

// TestSlackSocketModeToATask: the same conversation in Socket Mode,
// without a public URL: the instance holds the WebSocket under the pull
// lease, the DM and the tap arrive in envelopes, each acknowledged once
// stored, and the replies still go out with chat.postMessage.
func TestSlackSocketModeToATask(t *testing.T) {
	fake := slackfake.New(t)
	t.Setenv("SLACK_BOT_TOKEN", fake.Token)
	t.Setenv("SLACK_APP_TOKEN", slackfake.AppToken)
	t.Setenv("SLACK_SIGNING_SECRET", slackSecret)
	r := serveShipped(t, "--connector", "slack/default,bot_token=env:SLACK_BOT_TOKEN,signing_secret=env:SLACK_SIGNING_SECRET,"+
		"socket_mode=true,app_token=env:SLACK_APP_TOKEN,api_url="+fake.URL)
	agent := r.worker("ana", map[string]any{"languages": []string{"id", "en"}, "department": "support"}, map[string]int{"chat": 5})

	event := fmt.Sprintf(`{"token":"XXYYZZ","team_id":"T061EG9R6","api_app_id":"A0PNCHHK2","event":{"type":"message","channel":"D024BE91L","user":"U2147483697",`+
		`"text":"I want a live agent","ts":"1765116200.000100","event_ts":"1765116200.000100","channel_type":"im"},"type":"event_callback","event_id":"Ev0SOCK0001",`+
		`"event_time":%d,"authorizations":[{"enterprise_id":null,"team_id":"T061EG9R6","user_id":"U0LAN0Z89","is_bot":true,"is_enterprise_install":false}]}`, time.Now().Unix())
	if err := fake.SendEnvelope("dbdd0ef3-1543-4f94-bfb4-133d0e6c1545", "events_api", []byte(event), 0); err != nil {
		t.Fatal(err)
	}
	question := slackPost(t, fake, 0, "Which language do you prefer?")
	if question.Get("channel") != "D024BE91L" || !strings.Contains(question.Get("blocks"), `"value":"id"`) {
		t.Fatalf("the question: %v", question)
	}
	tap := fmt.Sprintf(`{"type":"block_actions","user":{"id":"U2147483697","username":"amy","name":"amy","team_id":"T061EG9R6"},"api_app_id":"A0PNCHHK2",`+
		`"container":{"type":"message","message_ts":"%s","channel_id":"D024BE91L","is_ephemeral":false},"trigger_id":"12466734323.1395872398.sock",`+
		`"team":{"id":"T061EG9R6","domain":"acme"},"channel":{"id":"D024BE91L","name":"directmessage"},"message":{"type":"message","ts":"%s","text":"Which language do you prefer?"},`+
		`"actions":[{"action_id":"choice_2","block_id":"switchboard_choices","text":{"type":"plain_text","text":"Bahasa Indonesia","emoji":true},"value":"id","type":"button","action_ts":"%d.000900"}]}`,
		slackfake.TS(1), slackfake.TS(1), time.Now().Unix())
	if err := fake.SendEnvelope("57d6a792-4d35-4d0b-b6aa-3361493e1caf", "interactive", []byte(tap), 0); err != nil {
		t.Fatal(err)
	}
	task := r.accept("ana", agent)
	got := r.taskStatus(task, "assigned")
	if attrs, _ := json.Marshal(got["attributes"]); !strings.Contains(string(attrs), `"language":"id"`) {
		t.Fatalf("the task's attributes %s", attrs)
	}
	for deadline := time.Now().Add(5 * time.Second); len(fake.Acks()) != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged %v, want both envelopes", fake.Acks())
		}
	}
	r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Hi, Ana here. How can I help?"}, http.StatusAccepted)
	if reply := slackPost(t, fake, 0, "Hi, Ana here."); reply.Get("channel") != "D024BE91L" || reply.Get("thread_ts") != "" {
		t.Fatalf("the agent's reply: %v", reply)
	}
}
