package webchat

import (
	"os"
	"strings"
	"testing"
)

// TestDocs checks that docs/CONNECTORS.md's webchat section documents
// every config field with its default, the routes, the limits and the
// fields of choices.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../../docs/CONNECTORS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "The `webchat` connector\n")
	if !ok {
		t.Fatal("docs/CONNECTORS.md has no webchat section")
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	section = strings.Join(strings.Fields(section), " ") // lines wrap anywhere
	for _, f := range Spec().Fields {
		if !strings.Contains(section, "- `"+f.Name+"` (") {
			t.Errorf("config field %q is not documented", f.Name)
		}
		if f.Default != "" && !strings.Contains(section, "default `"+f.Default+"`") {
			t.Errorf("field %q: default %q is not documented", f.Name, f.Default)
		}
	}
	for _, want := range []string{"/webchat/default/", "widget.js", "/webchat/default/session", "/webchat/default/ws?token=T&after=SEQ&epoch=E",
		"/webchat/default/messages?after=SEQ&epoch=E", "/v1/webhooks/webchat/default", "at most 128 bytes", "at most 8 KiB",
		"last 200 messages", "after 25 seconds", "16 sockets", `{"accepted": 1}`,
		"| `choice` | string |", "at most 256 bytes", `"choice": "es"`, `"menu": "Choose a topic"`, `"description":`} {
		if !strings.Contains(section, want) {
			t.Errorf("the webchat section does not mention %q", want)
		}
	}
}
