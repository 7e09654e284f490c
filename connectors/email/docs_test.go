package email_test

import (
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/email"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default and whether it is required, the secret header, the
// forwarding services' fields, and the headers of a reply.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../../docs/CONNECTORS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## E-mail: the `email` connector")
	if !ok {
		t.Fatal("docs/CONNECTORS.md has no email section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, config, _ := strings.Cut(section, "### Configuration")
	config, _, _ = strings.Cut(config, "\n### ")
	rows := map[string]string{}
	for line := range strings.SplitSeq(config, "\n") {
		if name, rest, ok := strings.Cut(line, "| `"); ok && name == "" {
			field, _, _ := strings.Cut(rest, "`")
			rows[field] = line
		}
	}
	for _, f := range email.Spec().Fields {
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
		if f.Secret != strings.Contains(row, "secret") {
			t.Errorf("field %q: secret is %v, its row says otherwise: %s", f.Name, f.Secret, row)
		}
	}
	for _, want := range []string{email.HeaderSecret, "message/rfc822", "`email`", "`body-mime`", "Basic auth",
		"app password", "SPF, DKIM and DMARC", "IDLE", "UIDVALIDITY", "\\Seen", "Auto-Submitted", "report-type=delivery-status",
		"lmtp:inet:127.0.0.1:2424", "`Message-ID`", "`In-Reply-To`, `References`", "<switchboard.{key}@{from domain}>", "16 MB", "**10 MB**", "`media_dir`",
		"/email/{instance}/media?id={id}&sig={signature}", "Content-Disposition: inline", "Content-ID", "`404`"} {
		if !strings.Contains(section, want) {
			t.Errorf("the email section does not mention %q", want)
		}
	}
}
