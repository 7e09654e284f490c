package voice_test

import (
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/voice"
)

// TestDocs checks that docs/CONNECTORS.md's Twilio Voice section
// documents every config field with its default, the console's two URLs
// and what an agent needs to be rung.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../../../docs/CONNECTORS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Twilio Voice: the `"+voice.Name+"` connector")
	if !ok {
		t.Fatal("docs/CONNECTORS.md has no Twilio Voice section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for line := range strings.SplitSeq(section, "\n") {
		if name, rest, ok := strings.Cut(line, "| `"); ok && name == "" {
			field, _, _ := strings.Cut(rest, "`")
			rows[field] = line
		}
	}
	for _, f := range voice.Spec().Fields {
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
	url := "https://switchboard.example.com" + connectors.WebhookPath(voice.Name, "default")
	for _, want := range []string{url + "`", url + "?on=status`", "`contact_uri`", "21220", "4000 characters", "X-Twilio-Signature"} {
		if !strings.Contains(section, want) {
			t.Errorf("the Twilio Voice section does not mention %s", want)
		}
	}
}
