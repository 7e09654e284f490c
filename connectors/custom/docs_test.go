package custom_test

import (
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the limits, and the first signature vector.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../../docs/CONNECTORS.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	_, section, ok := strings.Cut(doc, "## 6. The `custom` connector")
	if !ok {
		t.Fatal("docs/CONNECTORS.md has no custom connector section")
	}
	section, _, _ = strings.Cut(section, "\n## ") // up to the next section
	rows := map[string]string{}
	for line := range strings.SplitSeq(section, "\n") {
		if name, rest, ok := strings.Cut(line, "| `"); ok && name == "" {
			field, _, _ := strings.Cut(rest, "`")
			rows[field] = line
		}
	}
	for _, f := range custom.Spec().Fields {
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
	}
	v := loadVectors(t)[0]
	for _, want := range []string{v.Secret, v.Timestamp, v.Body, strings.TrimPrefix(v.Header, "v1="),
		custom.HeaderTimestamp, custom.HeaderSignature, "at most 1000 messages", "at most 256 bytes"} {
		if !strings.Contains(section, want) {
			t.Errorf("the custom section does not mention %q", want)
		}
	}
}
