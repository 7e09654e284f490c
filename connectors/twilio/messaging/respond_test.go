package messaging_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

func TestRespond(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{}).(connectors.InlineResponder)
	const head = `<?xml version="1.0" encoding="UTF-8"?>`
	sms := []connectors.Inbound{{PlatformID: "SM1", Channel: "sms", From: "+14155550100"}}
	wa := []connectors.Inbound{{PlatformID: "SM2", Channel: "whatsapp", From: "+14155550100"}}
	status := []connectors.Inbound{{PlatformID: "SM3/delivered", Channel: "sms", From: "+14155550100", Status: &connectors.DeliveryStatus{PlatformID: "SM3", Status: "delivered"}}}
	long := strings.Repeat("long ", 330) // 1650 characters
	for _, tc := range []struct {
		name    string
		in      []connectors.Inbound
		replies []connectors.Outbound
		want    string
	}{
		{"no reply", sms, nil, head + `<Response/>`},
		{"status callback", status, nil, head + `<Response/>`},
		{"nothing received", nil, nil, head + `<Response/>`},
		{"text, escaped", sms, []connectors.Outbound{{Key: "r1", To: "+14155550100", Text: `Tom & Jerry's <shop> "open"`}},
			head + `<Response><Message>Tom &amp; Jerry&apos;s &lt;shop&gt; &quot;open&quot;</Message></Response>`},
		{"two replies in order", wa, []connectors.Outbound{{Text: "Hola 👋"}, {Text: "¿En qué te ayudo?"}},
			head + `<Response><Message>Hola 👋</Message><Message>¿En qué te ayudo?</Message></Response>`},
		{"media", sms, []connectors.Outbound{{Text: "Your label", Media: []string{"https://cdn.example.com/l.pdf?sig=a&exp=1", "https://cdn.example.com/m.png"}}},
			head + `<Response><Message><Body>Your label</Body><Media>https://cdn.example.com/l.pdf?sig=a&amp;exp=1</Media><Media>https://cdn.example.com/m.png</Media></Message></Response>`},
		{"media only", sms, []connectors.Outbound{{Media: []string{"https://cdn.example.com/m.png"}}},
			head + `<Response><Message><Media>https://cdn.example.com/m.png</Media></Message></Response>`},
		{"another recipient, on WhatsApp", wa, []connectors.Outbound{{To: "+14155550111", Text: "FYI"}},
			head + `<Response><Message to="whatsapp:+14155550111">FYI</Message></Response>`},
		{"split", sms, []connectors.Outbound{{Text: long}},
			head + `<Response><Message>` + strings.TrimSpace(strings.Repeat("long ", 320)) + `</Message><Message>` + strings.Repeat("long ", 10) + `</Message></Response>`},
		{"control characters dropped", sms, []connectors.Outbound{{Text: "bell\a and null\x00 gone"}},
			head + `<Response><Message>bell and null gone</Message></Response>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ct, body := c.Respond(tc.in, connectors.Reaction{Replies: tc.replies})
			if status != 200 || ct != "text/xml" {
				t.Errorf("status %d, content type %q", status, ct)
			}
			if string(body) != tc.want {
				t.Errorf("body\n got %s\nwant %s", body, tc.want)
			}
			if err := xml.Unmarshal(body, new(struct{})); err != nil {
				t.Errorf("not XML: %v", err)
			}
		})
	}
}
