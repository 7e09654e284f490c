package voice_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/twilio/voice"
)

// TestDocs checks that docs/CONNECTORS.md's Twilio Voice section
// documents every config field with its default, the console's two URLs
// and what an agent needs to be rung.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../../docs/CONNECTORS.md", "## Twilio Voice: the `"+voice.Name+"` connector")
	connectortest.CheckFields(t, section, voice.Spec())
	url := "https://switchboard.example.com" + connectors.WebhookPath(voice.Name, "default")
	for _, want := range []string{url + "`", url + "?on=status`", "`contact_uri`", "21220", "4000 characters", "X-Twilio-Signature"} {
		if !strings.Contains(section, want) {
			t.Errorf("the Twilio Voice section does not mention %s", want)
		}
	}
}
