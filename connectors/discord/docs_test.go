package discord_test

import (
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/discord"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the signature vector and Discord's limits.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../../docs/CONNECTORS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Discord: the `discord` connector")
	if !ok {
		t.Fatal("docs/CONNECTORS.md has no Discord section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for line := range strings.SplitSeq(section, "\n") {
		if name, rest, ok := strings.Cut(line, "| `"); ok && name == "" {
			field, _, _ := strings.Cut(rest, "`")
			rows[field] = line
		}
	}
	for _, f := range discord.Spec().Fields {
		row, ok := rows[f.Name]
		switch {
		case !ok:
			t.Errorf("config field %q is not in the configuration table", f.Name)
		case f.Default != "" && !strings.Contains(row, "`"+f.Default+"`"):
			t.Errorf("field %q: default %q is not in its row: %s", f.Name, f.Default, row)
		case f.Required != strings.Contains(row, "**required**"):
			t.Errorf("field %q: required is %v, its row says otherwise: %s", f.Name, f.Required, row)
		case f.Secret != strings.Contains(row, "secret"):
			t.Errorf("field %q: secret is %v, its row says otherwise: %s", f.Name, f.Secret, row)
		}
	}
	for _, want := range []string{seedHex, publicHex, "1700000000", "`{\"type\":1}`",
		"1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f",
		discord.HeaderSignature, discord.HeaderTimestamp, "Interactions Endpoint URL", "Reset Token", "Public Key",
		"2000 characters", "5 to an action row", "80 characters", "50007", "resume_gateway_url", "`4096`"} {
		if !strings.Contains(section, want) {
			t.Errorf("the Discord section does not mention %q", want)
		}
	}
}
