package telegram_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/telegram"
	"github.com/switchboard-dev/switchboard/connectors/telegram/telegramfake"
)

// TestSendRequests checks the exact Bot API calls of each kind of message.
func TestSendRequests(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("word ", 1000)) // 4999 characters: two parts
	keys := `{"inline_keyboard":[[{"text":"English","callback_data":"en"}],[{"text":"Bahasa Indonesia","callback_data":"id"}]]}`
	cases := []struct {
		name   string
		out    connectors.Outbound
		calls  []telegramfake.Call
		wantID string
	}{
		{"text", connectors.Outbound{To: "5820193447", Text: "Hello Ann"},
			[]telegramfake.Call{{Method: "sendMessage", Params: map[string]string{"chat_id": "5820193447", "text": "Hello Ann"}}}, "5820193447/1001"},
		{"choices as a keyboard", connectors.Outbound{To: "5820193447", Text: "Which language do you prefer?",
			Choices: []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}},
			[]telegramfake.Call{{Method: "sendMessage", Params: map[string]string{"chat_id": "5820193447", "text": "Which language do you prefer?", "reply_markup": keys}}}, ""},
		{"callback_data beyond 64 bytes", connectors.Outbound{To: "5820193447", Text: "Pick",
			Choices: []connectors.Choice{{ID: strings.Repeat("x", 65), Title: "Long"}, {ID: "b", Title: "Short"}}},
			[]telegramfake.Call{{Method: "sendMessage", Params: map[string]string{"chat_id": "5820193447", "text": "Pick\n1. Long\n2. Short"}}}, ""},
		{"long text", connectors.Outbound{To: "5820193447", Text: long},
			[]telegramfake.Call{
				{Method: "sendMessage", Params: map[string]string{"chat_id": "5820193447", "text": strings.TrimSpace(long[:4095])}},
				{Method: "sendMessage", Params: map[string]string{"chat_id": "5820193447", "text": strings.TrimSpace(long[4095:])}},
			}, ""},
		{"media then text", connectors.Outbound{To: "-1002143658709", Thread: "401", Text: "Your label",
			Media: []string{"https://cdn.example.com/label.png?v=2", "https://cdn.example.com/guide.pdf", "https://cdn.example.com/a.mp4", "https://cdn.example.com/n.ogg"}},
			[]telegramfake.Call{
				{Method: "sendPhoto", Params: map[string]string{"chat_id": "-1002143658709", "message_thread_id": "401", "photo": "https://cdn.example.com/label.png?v=2"}},
				{Method: "sendDocument", Params: map[string]string{"chat_id": "-1002143658709", "message_thread_id": "401", "document": "https://cdn.example.com/guide.pdf"}},
				{Method: "sendVideo", Params: map[string]string{"chat_id": "-1002143658709", "message_thread_id": "401", "video": "https://cdn.example.com/a.mp4"}},
				{Method: "sendVoice", Params: map[string]string{"chat_id": "-1002143658709", "message_thread_id": "401", "voice": "https://cdn.example.com/n.ogg"}},
				{Method: "sendMessage", Params: map[string]string{"chat_id": "-1002143658709", "message_thread_id": "401", "text": "Your label"}},
			}, "-1002143658709/1005"},
		{"choices without text", connectors.Outbound{To: "5820193447", Choices: []connectors.Choice{{ID: "yes", Title: "Yes"}}},
			[]telegramfake.Call{{Method: "sendMessage", Params: map[string]string{"chat_id": "5820193447", "text": "…",
				"reply_markup": `{"inline_keyboard":[[{"text":"Yes","callback_data":"yes"}]]}`}}}, ""},
		{"more than 100 choices", connectors.Outbound{To: "5820193447", Text: "Pick", Choices: manyChoices(101)},
			[]telegramfake.Call{{Method: "sendMessage", Params: map[string]string{"chat_id": "5820193447", "text": connectors.MenuText("Pick", manyChoices(101))}}}, ""},
		{"channel username", connectors.Outbound{To: "@acme_news", Text: "Hi"},
			[]telegramfake.Call{{Method: "sendMessage", Params: map[string]string{"chat_id": "@acme_news", "text": "Hi"}}}, ""},
		{"template is sent as text", connectors.Outbound{To: "5820193447", Text: "Your order shipped", Template: &connectors.Template{Name: "order_update"}},
			[]telegramfake.Call{{Method: "sendMessage", Params: map[string]string{"chat_id": "5820193447", "text": "Your order shipped"}}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := telegramfake.New(t)
			c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
			tc.out.Key, tc.out.Channel = "effect-1", telegram.Channel
			id, err := c.Send(context.Background(), &tc.out)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantID != "" && id != tc.wantID {
				t.Errorf("id = %q, want %q", id, tc.wantID)
			}
			got := f.Calls("")
			if len(got) != len(tc.calls) {
				t.Fatalf("%d calls, want %d: %+v", len(got), len(tc.calls), got)
			}
			for i, want := range tc.calls {
				if got[i].Method != want.Method {
					t.Errorf("call %d: %s, want %s", i, got[i].Method, want.Method)
				}
				if !equalParams(got[i].Params, want.Params) {
					t.Errorf("call %d: params %q\nwant %q", i, got[i].Params, want.Params)
				}
			}
		})
	}
}

func manyChoices(n int) []connectors.Choice {
	out := make([]connectors.Choice, n)
	for i := range out {
		out[i] = connectors.Choice{ID: strconv.Itoa(i), Title: "Option " + strconv.Itoa(i)}
	}
	return out
}

// equalParams compares the form fields, JSON ones by value.
func equalParams(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g := got[k]
		if g == w {
			continue
		}
		var gv, wv any
		if json.Unmarshal([]byte(g), &gv) != nil || json.Unmarshal([]byte(w), &wv) != nil {
			return false
		}
		gj, _ := json.Marshal(gv)
		wj, _ := json.Marshal(wv)
		if string(gj) != string(wj) {
			return false
		}
	}
	return true
}

// TestSendErrors checks how each Bot API error is classed.
func TestSendErrors(t *testing.T) {
	cases := []struct {
		name      string
		to        string
		fail      string
		permanent bool
		retry     time.Duration
		reason    string
	}{
		{"429", "5820193447", telegramfake.ErrorJSON(429, "Too Many Requests: retry after 7", 7), false, 7 * time.Second, "rate limited (429)"},
		{"blocked", "5820193447", telegramfake.ErrorJSON(403, "Forbidden: bot was blocked by the user", 0), true, 0,
			"chat 5820193447 refuses the bot (403: Forbidden: bot was blocked by the user): the user blocked the bot or never started a chat with it"},
		{"bad request", "5820193447", telegramfake.ErrorJSON(400, "Bad Request: chat not found", 0), true, 0, "refused the request (400: Bad Request: chat not found)"},
		{"bad token", "5820193447", telegramfake.ErrorJSON(401, "Unauthorized", 0), true, 0, "refused the bot_token"},
		{"migrated", "-4012345678", `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1002143658709}}`,
			true, 0, "the supergroup -1002143658709"},
		{"server error", "5820193447", telegramfake.ErrorJSON(502, "Bad Gateway", 0), false, 0, "502 Bad Gateway"},
		{"not a chat", "ann", "", true, 0, `recipient "ann" is not a Telegram chat id`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := telegramfake.New(t)
			if tc.fail != "" {
				f.Fail("sendMessage", tc.fail)
			}
			c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
			_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: telegram.Channel, To: tc.to, Text: "Hi"})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if connectors.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v: %v", !tc.permanent, tc.permanent, err)
			}
			if d, _ := connectors.RetryDelay(err); d != tc.retry {
				t.Errorf("retry after %v, want %v", d, tc.retry)
			}
			if !strings.Contains(err.Error(), tc.reason) || strings.Contains(err.Error(), telegramfake.Token) {
				t.Errorf("error %q, want it to say %q and not the token", err, tc.reason)
			}
		})
	}
}

// TestSendRetrySkipsAccepted: after a part failed, the outbox's retry
// sends only the parts not yet accepted, and returns the last one's id.
func TestSendRetrySkipsAccepted(t *testing.T) {
	f := telegramfake.New(t)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	f.Fail("sendMessage", telegramfake.ErrorJSON(429, "Too Many Requests: retry after 1", 1))
	out := &connectors.Outbound{Key: "effect-9", Channel: telegram.Channel, To: "5820193447", Text: "Here", Media: []string{"https://cdn.example.com/a.jpg"}}
	if _, err := c.Send(context.Background(), out); err == nil {
		t.Fatal("the first attempt succeeded")
	}
	id, err := c.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, call := range f.Calls("") {
		methods = append(methods, call.Method)
	}
	if got := strings.Join(methods, ","); got != "sendPhoto,sendMessage,sendMessage" {
		t.Errorf("calls %s, want the photo once", got)
	}
	if id != "5820193447/1002" {
		t.Errorf("id %q", id)
	}
}
