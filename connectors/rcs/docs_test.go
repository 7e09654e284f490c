package rcs

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the attributes flows see, the limits, the signature
// vector, the SMS fallback's seam, and the JSON Send makes of the support
// flow's language question.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../docs/CONNECTORS.md", "## RCS Business Messaging: the `rcs` connector")
	connectortest.CheckFields(t, section, Spec())
	want := []string{
		Signature("SJENCPGJESMGUFPY", []byte(`{"message":{"messageId":"4444","text":"Hello"},"conversationId":"3333"}`)),
		HeaderSignature, "HMAC-SHA512", "**decoded**", `{"clientToken":"…","secret":"…"}`, Scope,
		itoa(MaxText) + " characters", "at most " + itoa(MaxSuggestions), "at most " + itoa(MaxSuggestionText) + " characters",
		itoa(MaxPostbackData) + " bytes", "/v1/phones/{number}/agentMessages?messageId={uuid}&agentId={agent_id}",
		"/v1/phones/{number}/capabilities", "a day", "an hour", "`409`", "connectors.FallbackError", "31 July 2024",
		"Integrations", "Service account", "Add tester", "Launch",
	}
	for _, a := range []string{"agent_id", "message_type", "suggestion_type", "mime_type", "file_size", "file_name",
		"thumbnail_url", "latitude", "longitude", "event_type", "event_id", "reply.choice", "IS_TYPING", "DELIVERED", "READ"} {
		want = append(want, "`"+a+"`")
	}
	prose := strings.Join(strings.Fields(section), " ")
	for _, w := range want {
		if !strings.Contains(prose, w) {
			t.Errorf("the rcs section does not mention %s", w)
		}
	}
	checkExample(t, section)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// checkExample: the documented request is what Send makes of the support
// flow's language question.
func checkExample(t *testing.T, section string) {
	var doc string
	for line := range strings.SplitSeq(section, "\n") {
		if strings.HasPrefix(line, `{"contentMessage":`) {
			doc = line
		}
	}
	if doc == "" {
		t.Fatal("no agent message in the section")
	}
	msgs := messages(&connectors.Outbound{Key: "k", Channel: Channel, To: "+14155550123", Text: "Which language do you prefer?",
		Choices: []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}})
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	got, _ := json.Marshal(msgs[0])
	if string(got) != doc {
		t.Errorf("the documented agent message\n%s\nis not what Send makes:\n%s", doc, got)
	}
}
