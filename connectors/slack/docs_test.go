package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the attributes flows see, the limits, the error codes
// Send tells apart, the signature vector, and the blocks Send makes for
// the language question.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../docs/CONNECTORS.md", "## Slack: the `slack` connector")
	connectortest.CheckFields(t, section, Spec())
	want := []string{
		"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "**5 minutes**", "**3 seconds**",
		"at most 4000 characters", "at most 3000 characters", "at most 25 buttons", "at most 75 characters", "1 MB",
		"`chat:write`", "`im:history`", "`app_mentions:read`", "`message.im`", "`app_mention`", "**the same URL**",
		"/v1/webhooks/slack/{instance}", "`url_verification`", "`<channel id>/<user id>`", "Socket Mode",
		"`not_in_channel`", "`channel_not_found`", "`apps.connections.open`", "`connections:write`", "`retry_attempt`",
	}
	for _, a := range []string{"event_type", "event_id", "channel", "channel_type", "user", "team", "ts", "thread_ts",
		"retry_num", "retry_reason", "action_id", "block_id"} {
		want = append(want, "`"+a+"`")
	}
	for code := range temporaryErrors {
		want = append(want, "`"+code+"`")
	}
	prose := strings.Join(strings.Fields(section), " ")
	for _, w := range want {
		if !strings.Contains(prose, w) {
			t.Errorf("the slack section does not mention %s", w)
		}
	}
	checkBlocksExample(t, section)
}

// checkBlocksExample: the documented blocks are what Send makes of the
// support flow's language question.
func checkBlocksExample(t *testing.T, section string) {
	var doc string
	for line := range strings.SplitSeq(section, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), `[{"type":"section"`) {
			doc = strings.TrimSpace(line)
		}
	}
	if doc == "" {
		t.Fatal("no blocks in the section")
	}
	parts := compose(&connectors.Outbound{Key: "k", Channel: Channel, To: "D024BE91L/U2147483697", Text: "Which language do you prefer?",
		Choices: []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}})
	if len(parts) != 1 {
		t.Fatalf("%d parts", len(parts))
	}
	got, _ := json.Marshal(parts[0].blocks)
	if string(got) != doc {
		t.Errorf("the documented blocks\n%s\nare not what Send makes:\n%s", doc, got)
	}
}
