package messaging_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twiliofake"
)

// TestConformance runs the connector kit. Twilio's Messages API takes no
// idempotency key; the fake answers like Twilio: the Message resource
// with the scripted id as sid, or Twilio's error JSON.
func TestConformance(t *testing.T) {
	const sms = "ToCountry=US&SmsMessageSid=SM7d4e1a9c2b8f3e6d0a5c9b2e7f1d4a8c&NumMedia=0&SmsSid=SM7d4e1a9c2b8f3e6d0a5c9b2e7f1d4a8c" +
		"&SmsStatus=received&Body=Hi+there&To=%2B14155550199&NumSegments=1&MessageSid=SM7d4e1a9c2b8f3e6d0a5c9b2e7f1d4a8c" +
		"&AccountSid=" + twiliofake.AccountSID + "&From=%2B14155550100&ApiVersion=2010-04-01"
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			res.PublicURL = publicURL
			// Retries are the outbox's in the kit: it checks what one Send
			// makes of each answer.
			return newConnector(t, config(api.URL, connectors.Config{"send_retries": "0"}), res)
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(raw))
				reply := api.Deliver(connectortest.Delivery{To: strings.TrimPrefix(form.Get("To"), "whatsapp:"), Text: form.Get("Body"), Header: r.Header, Body: raw})
				for k, vs := range reply.Header {
					w.Header()[k] = vs
				}
				w.Header().Set("Content-Type", "application/json")
				if reply.Status >= 300 {
					w.WriteHeader(reply.Status)
					io.WriteString(w, twiliofake.ErrorJSON(reply.Status, 20000+reply.Status, http.StatusText(reply.Status)))
					return
				}
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, twiliofake.MessageJSON(twiliofake.AccountSID, reply.ID, form))
			})
		},
		Request: func(t testing.TB, _ time.Time) *connectors.Request { return post("", sms, token) },
		Unsign:  func(r *connectors.Request) { r.Header.Del("X-Twilio-Signature") },
		Malformed: func(t testing.TB, _ time.Time) *connectors.Request {
			return post("", strings.Replace(sms, "From=%2B14155550100", "NumMedia=x", 1), token)
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: "effect-0001", Channel: "sms", To: "+14155550100", Text: "Hello from the kit", ConversationID: "conv-1"}
		},
		NoIdempotencyKey: true,
	})
}
