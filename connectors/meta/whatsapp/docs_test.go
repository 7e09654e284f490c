package whatsapp

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

// TestDocs checks that docs/CONNECTORS.md documents every config field
// with its default, the attributes flows see, the limits, the errors
// explained, a signature vector, and the JSON Send makes for its template
// example.
func TestDocs(t *testing.T) {
	section := connectortest.DocSection(t, "../../../docs/CONNECTORS.md", "## WhatsApp Cloud API: the `whatsapp_cloud` connector")
	connectortest.CheckFields(t, section, Spec())
	want := []string{
		"sha256=3377d465d3621abd1bdf420d46537d478d39e18708bfe286e9c86ccc73de2ad2", "4096 characters", "1024 characters",
		"at most 3, titles at most 20 characters", "at most 10, titles at most 24 characters, descriptions at most 72",
		"at most 20 characters; default `" + DefaultListMenu + "`", "`template_language`", "`reply.choice`", "`messages`",
		"/whatsapp_cloud/{instance}" + mediaRoute, "100 MB",
		errorText[131047], "131026: " + errorText[131026],
	}
	for _, a := range []string{"message_type", "phone_number_id", "wa_id", "user_id", "username", "context", "context_from",
		"forwarded", "frequently_forwarded", "referral", "media_id", "mime_type", "sha256", "filename", "animated", "voice",
		"latitude", "longitude", "label", "address", "location_url", "contacts", "reaction", "reaction_message_id",
		"choice_description", "message_id", "message_status", "error_code", "conversation_id", "conversation_origin", "pricing_category"} {
		want = append(want, "`"+a+"`")
	}
	for code := range throttlingCodes() {
		want = append(want, "`"+code+"`")
	}
	prose := strings.Join(strings.Fields(section), " ")
	for _, w := range want {
		if !strings.Contains(prose, w) {
			t.Errorf("the whatsapp_cloud section does not mention %s", w)
		}
	}
	checkTemplateExample(t, section)
}

func throttlingCodes() map[string]bool {
	return map[string]bool{"4": true, "17": true, "32": true, "613": true, "80007": true, "130429": true, "131048": true, "131056": true}
}

// checkTemplateExample: the documented template request is what Send
// makes of the example's template and variables.
func checkTemplateExample(t *testing.T, section string) {
	var doc string
	for line := range strings.SplitSeq(section, "\n") {
		if strings.HasPrefix(line, `{"messaging_product":"whatsapp"`) && strings.Contains(line, `"type":"template"`) {
			doc = line
		}
	}
	if doc == "" {
		t.Fatal("no template request in the section")
	}
	msgs, err := messages(&connectors.Outbound{Key: "k", Channel: Channel, To: "16505551234", Text: "ignored",
		Template: &connectors.Template{Name: "order_update", Language: "en_US", Variables: map[string]string{"1": "Ana", "2": "#4521"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(msgs[0])
	if string(got) != doc {
		t.Errorf("the documented template request\n%s\nis not what Send makes:\n%s", doc, got)
	}
}
