package whatsapp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

// TestConformance runs the connector kit. The Cloud API takes no
// idempotency key; the kit's fake answers like it: the send's answer with
// the scripted id as wamid, or Meta's error JSON.
func TestConformance(t *testing.T) {
	text := findPayload(t, "text").Body
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			return newConnector(t, config(t, api.URL, nil), res)
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				var msg struct {
					To   string `json:"to"`
					Text struct {
						Body string `json:"body"`
					} `json:"text"`
				}
				_ = json.Unmarshal(raw, &msg)
				reply := api.Deliver(connectortest.Delivery{To: msg.To, Text: msg.Text.Body, Header: r.Header, Body: raw})
				for k, vs := range reply.Header {
					w.Header()[k] = vs
				}
				w.Header().Set("Content-Type", "application/json")
				if reply.Status >= 300 {
					w.WriteHeader(reply.Status)
					io.WriteString(w, graphfake.ErrorJSON(100+reply.Status, 0, "kit error "+strconv.Itoa(reply.Status), ""))
					return
				}
				io.WriteString(w, graphfake.WhatsAppSendJSON(msg.To, reply.ID))
			})
		},
		Request: func(t testing.TB, _ time.Time) *connectors.Request {
			return graphfake.Webhook(appSecret, webhook, text)
		},
		Unsign: func(r *connectors.Request) { r.Header.Del(graph.HeaderSignature) },
		Malformed: func(t testing.TB, _ time.Time) *connectors.Request {
			return graphfake.Webhook(appSecret, webhook, text[:len(text)-3])
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: "effect-0001", Channel: "whatsapp", To: "+16505551234", Text: "Hello from the kit", ConversationID: "conv-1"}
		},
		NoIdempotencyKey: true,
	})
}
