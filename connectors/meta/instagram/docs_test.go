package instagram_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/meta/instagram"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, both APIs' setup, and what differs from Messenger
// (whose section describes the events both take).
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../../docs/CONNECTORS.md", "## Instagram: the `instagram` connector")
	connectortest.CheckFields(t, section, instagram.Spec())
	connectortest.CheckMentions(t, section, "`reply_to_story_id`", "`reply_to_story_url`", "`is_deleted`", "`messaging_seen`",
		"`instagram_login`", "`facebook_login`", "https://graph.instagram.com", "https://graph.facebook.com",
		"`instagram_manage_messages`", "`instagram_business_manage_messages`", "1000 bytes", "`2534022`", "`HUMAN_AGENT`",
		"Allow access to messages", "instagram_business_account", "IGSID", "13 at most")
}
