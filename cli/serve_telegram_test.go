package cli

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/telegram/telegramfake"
)

// The telegram connector end to end: `switchboard serve` runs the shipped
// flows with the connector pointed at a fake Bot API. The instance sets
// its webhook at start; a customer's message reaches the support flow,
// whose language question goes out as an inline keyboard; the tap on a
// button comes back as a callback_query (answered, so its spinner
// stops), the task is created with the chosen language, and the agent's
// reply reaches the customer's chat.

const tgSecret = "e2e_telegram-secret"

// telegramHook posts an update as Telegram does.
func telegramHook(r *shipped, body string) {
	r.t.Helper()
	url := r.base + "/v1/webhooks/telegram/default"
	req := telegramfake.Webhook(tgSecret, url, []byte(body))
	if status, _, answer := r.post(url, req.Header, req.Body); status != http.StatusOK {
		r.t.Fatalf("telegram: %d %s", status, answer)
	}
}

// waitCall waits for a call of method whose param key is want.
func waitCall(t *testing.T, fake *telegramfake.Fake, method, key, want string) telegramfake.Call {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range fake.Calls(method) {
			if c.Params[key] == want {
				return c
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the fake never got %s with %s=%q: %+v", method, key, want, fake.Calls(""))
	return telegramfake.Call{}
}

func TestTelegramChoicesToATask(t *testing.T) {
	fake := telegramfake.New(t)
	t.Setenv("TG_TOKEN", telegramfake.Token)
	t.Setenv("TG_SECRET", tgSecret)
	r := serveShipped(t, "--connector", "telegram/default,bot_token=env:TG_TOKEN,secret_token=env:TG_SECRET,api_url="+fake.URL)
	agent := r.worker("ana", map[string]any{"languages": []string{"id", "en"}, "department": "support"}, map[string]int{"chat": 5})

	hook := fake.Wait("setWebhook", 1)[0]
	if hook.Params["url"] != r.base+"/v1/webhooks/telegram/default" || hook.Params["secret_token"] != tgSecret {
		t.Errorf("setWebhook %v", hook.Params)
	}
	// A wrong secret is refused.
	url := r.base + "/v1/webhooks/telegram/default"
	bad := telegramfake.Webhook("not-the-secret", url, []byte(`{"update_id":1}`))
	if status, _, _ := r.post(url, bad.Header, bad.Body); status != http.StatusUnauthorized {
		t.Errorf("a wrong secret: %d, want 401", status)
	}

	const chat = "5820193447"
	now := time.Now().Unix()
	telegramHook(r, fmt.Sprintf(`{"update_id":864203711,"message":{"message_id":1365,"from":{"id":%s,"is_bot":false,"first_name":"Ann","last_name":"Lee","username":"annlee","language_code":"en"},`+
		`"chat":{"id":%s,"first_name":"Ann","last_name":"Lee","username":"annlee","type":"private"},"date":%d,"text":"I want a live agent"}}`, chat, chat, now))
	question := waitCall(t, fake, "sendMessage", "text", "Which language do you prefer?")
	keys, err := telegramfake.Keyboard(question)
	if err != nil {
		t.Fatal(err)
	}
	if question.Params["chat_id"] != chat || fmt.Sprint(keys) != "[[English en] [Bahasa Indonesia id]]" {
		t.Fatalf("the question as sent: %v, keyboard %v", question.Params, keys)
	}

	telegramHook(r, fmt.Sprintf(`{"update_id":864203712,"callback_query":{"id":"4382bfdwdsb323b2d9","from":{"id":%s,"is_bot":false,"first_name":"Ann","last_name":"Lee","username":"annlee","language_code":"en"},`+
		`"message":{"message_id":1366,"from":{"id":123456789,"is_bot":true,"first_name":"Switchboard","username":"switchboard_bot"},"chat":{"id":%s,"type":"private","first_name":"Ann"},"date":%d,`+
		`"text":"Which language do you prefer?","reply_markup":%s},"chat_instance":"-8917403624103922321","data":"id"}}`, chat, chat, now, question.Params["reply_markup"]))
	waitCall(t, fake, "answerCallbackQuery", "callback_query_id", "4382bfdwdsb323b2d9")
	task := r.accept("ana", agent)
	got := r.taskStatus(task, "assigned")
	if attrs, _ := got["attributes"].(map[string]any); attrs["language"] != "id" || attrs["channel"] != "telegram" {
		t.Fatalf("the task's attributes %v", got["attributes"])
	}

	r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Hi, Ana here. How can I help?"}, http.StatusAccepted)
	reply := waitCall(t, fake, "sendMessage", "text", "Hi, Ana here. How can I help?")
	if reply.Params["chat_id"] != chat {
		t.Errorf("the agent's reply went to %v", reply.Params)
	}
	r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
}
