package connectortest

import (
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// DocSection returns the section of the Markdown file that starts with
// the level-2 heading (a whole line), up to the next one: where a
// connector's platform-side setup, configuration and limits are
// documented, for its docs test to hold them to the code.
func DocSection(t testing.TB, file, heading string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", file, heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// CheckFields checks that the section's configuration table (under its
// "### Configuration" heading when it has one) has a row for every field
// of spec, with its default, and saying required and secret as the spec
// does.
func CheckFields(t testing.TB, section string, spec *connectors.Spec) {
	t.Helper()
	if _, config, ok := strings.Cut(section, "### Configuration"); ok {
		section, _, _ = strings.Cut(config, "\n### ")
	}
	rows := map[string]string{}
	for line := range strings.SplitSeq(section, "\n") {
		if name, rest, ok := strings.Cut(line, "| `"); ok && name == "" {
			field, _, _ := strings.Cut(rest, "`")
			rows[field] = line
		}
	}
	for _, f := range spec.Fields {
		row, ok := rows[f.Name]
		switch {
		case !ok:
			t.Errorf("config field %q is not in the configuration table", f.Name)
		case f.Default != "" && !strings.Contains(row, "`"+f.Default+"`"):
			t.Errorf("field %q: default %q is not in its row: %s", f.Name, f.Default, row)
		case f.Required != strings.Contains(row, "**required**"):
			t.Errorf("field %q: required is %v, its row says otherwise: %s", f.Name, f.Required, row)
		case f.Secret != strings.Contains(row, "secret |"):
			t.Errorf("field %q: secret is %v, its row says otherwise: %s", f.Name, f.Secret, row)
		}
	}
}

// CheckMentions checks that the section mentions each of want.
func CheckMentions(t testing.TB, section string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(section, w) {
			t.Errorf("the section does not mention %s", w)
		}
	}
}
