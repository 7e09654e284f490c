package line_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/line"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the attributes flows see, the limits, the signature
// vector, and the exact push Send makes for its quick-reply example.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../../docs/CONNECTORS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## LINE: the `line` connector")
	if !ok {
		t.Fatal("docs/CONNECTORS.md has no line section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, config, _ := strings.Cut(section, "### Configuration")
	config, _, _ = strings.Cut(config, "\n### ")
	rows := map[string]string{}
	for l := range strings.SplitSeq(config, "\n") {
		if name, rest, ok := strings.Cut(l, "| `"); ok && name == "" {
			field, _, _ := strings.Cut(rest, "`")
			rows[field] = l
		}
	}
	for _, f := range line.Spec().Fields {
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("config field %q is not in the configuration table", f.Name)
			continue
		}
		if f.Default != "" && !strings.Contains(row, "`"+f.Default+"`") {
			t.Errorf("field %q: default %q is not in its row: %s", f.Name, f.Default, row)
		}
		if f.Required != strings.Contains(row, "**required**") {
			t.Errorf("field %q: required is %v, its row says otherwise: %s", f.Name, f.Required, row)
		}
		if f.Secret != strings.Contains(row, "secret |") {
			t.Errorf("field %q: secret is %v, its row says otherwise: %s", f.Name, f.Secret, row)
		}
	}
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
