package messaging

import (
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"strings"
	"testing"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, every attribute flows see, the limits and a
// signature vector.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../../docs/CONNECTORS.md", "## Twilio (SMS, MMS, WhatsApp): the `twilio` connector")
	connectortest.CheckFields(t, section, Spec())
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
