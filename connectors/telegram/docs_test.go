package telegram_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/telegram"
	"github.com/switchboard-dev/switchboard/connectors/telegram/telegramfake"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the attributes flows see, the limits and ports, and
// that its inline keyboard example is what Send makes.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../docs/CONNECTORS.md", "## Telegram: the `telegram` connector")
	connectortest.CheckFields(t, section, telegram.Spec())
	prose := strings.Join(strings.Fields(section), " ")
	want := []string{"ports 443, 80, 88 and 8443", "4096 characters", "64 bytes", "more than 100 choices", "20 MB",
		"`" + telegram.HeaderSecret + "`", "/telegram/{instance}/media", "`<bot id>/<update_id>`", "`reply.choice`",
		"`answerCallbackQuery`", "`retry_after`", "@BotFather"}
	for _, a := range []string{"message_id", "chat_type", "user_id", "username", "language_code", "edited", "media_type",
		"file_id", "latitude", "longitude", "contact_phone", "contact_name", "contact_user_id", "callback_query_id"} {
		want = append(want, "`"+a+"`")
	}
	for _, u := range telegram.AllowedUpdates {
		want = append(want, "`"+u+"`")
	}
	for _, w := range want {
		if !strings.Contains(prose, w) {
			t.Errorf("the telegram section does not mention %s", w)
		}
	}
	checkKeyboardExample(t, section)
}

// checkKeyboardExample: the documented sendMessage is what Send makes of
// its text and choices.
func checkKeyboardExample(t *testing.T, section string) {
	var doc map[string]json.RawMessage
	for line := range strings.SplitSeq(section, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, `{"chat_id"`) {
			if err := json.Unmarshal([]byte(line), &doc); err != nil {
				t.Fatalf("the documented request: %v", err)
			}
		}
	}
	if doc == nil {
		t.Fatal("no sendMessage example in the section")
	}
	f := telegramfake.New(t)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: telegram.Channel, To: "5820193447",
		Text: "Which language do you prefer?", Choices: []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := f.Calls("sendMessage")[0].Params
	want := map[string]string{}
	for k, v := range doc {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		want[k] = s
	}
	if !equalParams(got, want) {
		t.Errorf("the documented request\n%q\nis not what Send makes:\n%q", want, got)
	}
}
