package custom_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the limits, and the first signature vector.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../docs/CONNECTORS.md", "## 6. The `custom` connector")
	connectortest.CheckFields(t, section, custom.Spec())
	v := loadVectors(t)[0]
	for _, want := range []string{v.Secret, v.Timestamp, v.Body, strings.TrimPrefix(v.Header, "v1="),
		custom.HeaderTimestamp, custom.HeaderSignature, "at most 1000 messages", "at most 256 bytes"} {
		if !strings.Contains(section, want) {
			t.Errorf("the custom section does not mention %q", want)
		}
	}
}
