package email_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/email"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default and whether it is required, the secret header, the
// forwarding services' fields, and the headers of a reply.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../docs/CONNECTORS.md", "## E-mail: the `email` connector")
	connectortest.CheckFields(t, section, email.Spec())
	for _, want := range []string{email.HeaderSecret, "message/rfc822", "`email`", "`body-mime`", "Basic auth",
		"app password", "SPF, DKIM and DMARC", "IDLE", "UIDVALIDITY", "\\Seen", "Auto-Submitted", "report-type=delivery-status",
		"lmtp:inet:127.0.0.1:2424", "`Message-ID`", "`In-Reply-To`, `References`", "<switchboard.{key}@{from domain}>", "16 MB", "**10 MB**", "`media_dir`",
		"/email/{instance}/media?id={id}&sig={signature}", "Content-Disposition: inline", "Content-ID", "`404`"} {
		if !strings.Contains(section, want) {
			t.Errorf("the email section does not mention %q", want)
		}
	}
}
