package all_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	_ "github.com/switchboard-dev/switchboard/connectors/all"
)

// TestRegistered checks that importing all registers the shipped
// connectors in the default registry (read only).
func TestRegistered(t *testing.T) {
	for _, name := range []string{"custom", "webchat", "twilio", "twilio_voice", "whatsapp_cloud", "messenger", "instagram", "line", "telegram", "slack", "discord", "email", "rcs"} {
		if _, ok := connectors.Default().Lookup(name); !ok {
			t.Errorf("connector %q is not registered", name)
		}
	}
}
