package messaging

import (
	"os"
	"strings"
	"testing"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, every attribute flows see, the limits and a
// signature vector.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../../../docs/CONNECTORS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Twilio (SMS, MMS, WhatsApp): the `twilio` connector")
	if !ok {
		t.Fatal("docs/CONNECTORS.md has no twilio connector section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for line := range strings.SplitSeq(section, "\n") {
		if name, rest, ok := strings.Cut(line, "| `"); ok && name == "" {
			field, _, _ := strings.Cut(rest, "`")
			rows[field] = line
		}
	}
	for _, f := range Spec().Fields {
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
	want := []string{"`media_content_types`", "`message_status`" /* status callbacks' */, "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
		"1600 characters", "at most 10 media", "21610", "63016", "content_sid", "content_variables", "StatusCallback"}
	for _, a := range messageAttributes {
		want = append(want, "`"+a.name+"`", "`"+a.param+"`")
	}
	for _, w := range want {
		if !strings.Contains(section, w) {
			t.Errorf("the twilio section does not mention %s", w)
		}
	}
	for code := range errorText {
		if code == "21610" || code == "63016" || code == "21211" || code == "21614" {
			if !strings.Contains(section, code) {
				t.Errorf("the twilio section does not explain error %s", code)
			}
		}
	}
}
