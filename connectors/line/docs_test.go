package line_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/line"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the attributes flows see, the limits, the signature
// vector, and the exact push Send makes for its quick-reply example.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../docs/CONNECTORS.md", "## LINE: the `line` connector")
	connectortest.CheckFields(t, section, line.Spec())
	want := []string{
		"RyJrYIyrfWaJeRQXtZFxokJycR+u5fkRYjbcKQ9Ua9U=", "`" + line.HeaderSignature + "`", "`" + line.HeaderRetryKey + "`",
		strconv.Itoa(line.MaxText) + " characters", "At most " + strconv.Itoa(line.MaxMessages) + " messages per request",
		"at most " + strconv.Itoa(line.MaxQuickReplies) + ", labels at most " + strconv.Itoa(line.MaxQuickLabel) + " characters",
		"within " + strconv.Itoa(int(line.ReplyTokenWindow.Seconds())) + " seconds", "/line/{instance}/content", "300 MB",
		"`reply.choice`", "`webhookEventId`", "**Use webhook**", "**Webhook redelivery**",
	}
	for _, a := range []string{"event_type", "source_type", "user_id", "group_id", "room_id", "is_redelivery", "message_type",
		"message_id", "quote_token", "quoted_message_id", "file_name", "file_size", "duration_ms", "title", "address",
		"latitude", "longitude", "package_id", "sticker_id", "keywords", "postback_datetime"} {
		want = append(want, "`"+a+"`")
	}
	prose := strings.Join(strings.Fields(section), " ")
	for _, w := range want {
		if !strings.Contains(prose, w) {
			t.Errorf("the line section does not mention %s", w)
		}
	}
	checkPushExample(t, section)
}

// checkPushExample: the documented push is what Send makes of the
// support flow's language question.
func checkPushExample(t *testing.T, section string) {
	var doc string
	for l := range strings.SplitSeq(section, "\n") {
		if strings.HasPrefix(l, `{"to":`) {
			doc = l
		}
	}
	if doc == "" {
		t.Fatal("no push request in the section")
	}
	f := linefake.New(t)
	c := newConnector(t, config(f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	if _, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: "line", To: customer, Text: "Which language do you prefer?",
		Choices: []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}}); err != nil {
		t.Fatal(err)
	}
	got := f.Bodies(linefake.PushPath)
	if len(got) != 1 || strings.TrimSpace(string(got[0])) != doc {
		t.Errorf("the documented push\n%s\nis not what Send makes:\n%s", doc, got)
	}
}
