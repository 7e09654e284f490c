package messagingtest

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// DocSection returns the section of the Markdown file that starts with
// the level-2 heading, up to the next one.
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

// CheckFields checks that the section's configuration table has a row
// for every field of spec, with its default, and saying required and
// secret as the spec does.
func CheckFields(t *testing.T, section string, spec *connectors.Spec) {
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

// AttributeKeys returns the attribute names the payloads' want sections
// hold: every one Receive gave for a recorded webhook.
func AttributeKeys(t testing.TB, payloads []Payload) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range payloads {
		var want []connectors.Inbound
		if err := json.Unmarshal(p.Want, &want); err != nil {
			t.Fatalf("%s: %v", p.File, err)
		}
		for _, m := range want {
			for k := range m.Attributes {
				seen[k] = true
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckMentions checks that the section mentions each of want.
func CheckMentions(t *testing.T, section string, want ...string) {
	for _, w := range want {
		if !strings.Contains(section, w) {
			t.Errorf("the section does not mention %s", w)
		}
	}
}
