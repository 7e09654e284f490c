package messenger_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging/messagingtest"
	"github.com/switchboard-dev/switchboard/connectors/meta/messenger"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, every attribute the recorded webhooks of both Meta
// messaging connectors give (their events are described here once), the
// setup, the limits, the errors and a signature vector.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../../docs/CONNECTORS.md", "## Messenger: the `messenger` connector")
	connectortest.CheckFields(t, section, messenger.Spec())
	for _, dir := range []string{meta.Payloads, "../../../testdata/connectors/instagram"} {
		for _, k := range messagingtest.AttributeKeys(t, messagingtest.Load(t, dir)) {
			if k != "reply_to_story_id" && k != "reply_to_story_url" { // Instagram's, in its section
				connectortest.CheckMentions(t, section, "`"+k+"`")
			}
		}
	}
	connectortest.CheckMentions(t, section, "sha256=3377d465d3621abd1bdf420d46537d478d39e18708bfe286e9c86ccc73de2ad2",
		"`pages_messaging`", "`messages`", "`messaging_postbacks`", "`message_reactions`", "`message_deliveries`", "`message_reads`",
		"hub.challenge", "fewer than 2000 characters", "at most 13", "20 characters", "`2018278`", "`551`", "`HUMAN_AGENT`",
		"MESSAGE_TAG", "Human Agent", "`RESPONSE`", "quick_reply.payload", "is_echo", "watermark")
}
