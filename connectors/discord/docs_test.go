package discord_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/discord"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the signature vector and Discord's limits.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../docs/CONNECTORS.md", "## Discord: the `discord` connector")
	connectortest.CheckFields(t, section, discord.Spec())
	for _, want := range []string{seedHex, publicHex, "1700000000", "`{\"type\":1}`",
		"1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f",
		discord.HeaderSignature, discord.HeaderTimestamp, "Interactions Endpoint URL", "Reset Token", "Public Key",
		"2000 characters", "5 to an action row", "80 characters", "50007", "resume_gateway_url", "`4096`"} {
		if !strings.Contains(section, want) {
			t.Errorf("the Discord section does not mention %q", want)
		}
	}
}
