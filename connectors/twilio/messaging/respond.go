package messaging

import (
	"net/http"
	"strings"

	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard-dev/switchboard/connectors"
)

// emptyTwiML answers a webhook with nothing to send.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// Respond answers a webhook with TwiML: the flow's immediate replies as
// <Message> verbs, a text longer than Twilio's limit in several, media as
// <Media> nouns. A status callback, or a message with no reply, gets an
// empty <Response/>.
func (c *connector) Respond(in []connectors.Inbound, r connectors.Reaction) (int, string, []byte) {
	var verbs []twiml.Element
	for _, m := range r.Replies {
		verbs = append(verbs, messageVerbs(in, &m)...)
	}
	if len(verbs) == 0 {
		return http.StatusOK, "text/xml", []byte(emptyTwiML)
	}
	doc, err := twiml.Messages(verbs)
	if err != nil { // only a writer's error: there is none writing to memory
		c.log.Error("rendering TwiML", "error", err)
		return http.StatusOK, "text/xml", []byte(emptyTwiML)
	}
	return http.StatusOK, "text/xml", []byte(doc)
}

// messageVerbs renders one reply. It goes to the sender of the request
// unless it names another recipient.
func messageVerbs(in []connectors.Inbound, m *connectors.Outbound) []twiml.Element {
	to := ""
	if m.To != "" && (len(in) != 1 || m.To != in[0].From) {
		channel := m.Channel
		if channel == "" && len(in) == 1 {
			channel = in[0].Channel
		}
		to = xmlText(twilioAddress(channel, m.To))
	}
	parts := Split(xmlText(m.Text), MaxBody)
	var out []twiml.Element
	for i, text := range parts {
		msg := twiml.MessagingMessage{To: to, Body: text}
		if i == 0 && len(m.Media) > 0 {
			msg.Body = ""
			if text != "" {
				msg.InnerElements = append(msg.InnerElements, twiml.MessagingBody{Message: text})
			}
			for _, u := range m.Media {
				msg.InnerElements = append(msg.InnerElements, twiml.MessagingMedia{Url: xmlText(u)})
			}
		}
		out = append(out, msg)
	}
	if len(parts) == 0 && len(m.Media) > 0 {
		msg := twiml.MessagingMessage{To: to}
		for _, u := range m.Media {
			msg.InnerElements = append(msg.InnerElements, twiml.MessagingMedia{Url: xmlText(u)})
		}
		out = append(out, msg)
	}
	return out
}

// xmlText drops the characters XML 1.0 cannot carry (most control
// characters): a reply with one would make the whole TwiML unreadable to
// Twilio.
func xmlText(s string) string {
	ok := func(r rune) bool {
		return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
	}
	for _, r := range s {
		if !ok(r) {
			return strings.Map(func(r rune) rune {
				if ok(r) {
					return r
				}
				return -1
			}, s)
		}
	}
	return s
}
