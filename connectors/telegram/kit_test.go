package telegram_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/telegram"
	"github.com/switchboard-dev/switchboard/connectors/telegram/telegramfake"
)

// TestConformance runs the connector kit. The Bot API takes no
// idempotency key, and its message ids are integers per chat, so the
// kit's string ids cannot come back: TestSendRequests checks the ids.
// The kit's fake answers like the Bot API: the sent Message, or its error
// JSON.
func TestConformance(t *testing.T) {
	text := findPayload(t, "text").Body
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			return newConnector(t, config(t, api.URL, nil), res)
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/bot"+telegramfake.Token+"/sendMessage") {
					http.NotFound(w, r)
					return
				}
				params, err := telegramfake.ReadParams(r)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				raw, _ := json.Marshal(params)
				reply := api.Deliver(connectortest.Delivery{To: params["chat_id"], Text: params["text"], Header: r.Header, Body: raw})
				for k, vs := range reply.Header {
					w.Header()[k] = vs
				}
				w.Header().Set("Content-Type", "application/json")
				if reply.Status >= 300 {
					w.WriteHeader(reply.Status)
					io.WriteString(w, telegramfake.ErrorJSON(reply.Status, "kit error "+strconv.Itoa(reply.Status), 0))
					return
				}
				io.WriteString(w, `{"ok":true,"result":{"message_id":77,"date":1767366245,"chat":{"id":`+params["chat_id"]+`,"type":"private"},"text":"ok"}}`)
			})
		},
		Request: func(t testing.TB, _ time.Time) *connectors.Request {
			return telegramfake.Webhook(secret, webhook, text)
		},
		Unsign: func(r *connectors.Request) { r.Header.Del(telegram.HeaderSecret) },
		Tamper: func(r *connectors.Request) { r.Header.Set(telegram.HeaderSecret, secret[:len(secret)-1]+"X") },
		Malformed: func(t testing.TB, _ time.Time) *connectors.Request {
			return telegramfake.Webhook(secret, webhook, text[:len(text)-3])
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: "effect-0001", Channel: telegram.Channel, To: "5820193447", Text: "Hello from the kit", ConversationID: "conv-1"}
		},
		NoIdempotencyKey: true,
		NoPlatformID:     true,
	})
}
