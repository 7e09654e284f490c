package line_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/line"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
)

// TestConformance runs the connector kit. LINE's idempotency key is the
// push's X-Line-Retry-Key, a UUID derived from the message's Key and the
// request's index: the fake reports the Key it stands for.
func TestConformance(t *testing.T) {
	text := findPayload(t, "text").Body
	const key = "effect-0001"
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			return newConnector(t, config(api.URL, nil), res)
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				var msg struct {
					To       string `json:"to"`
					Messages []struct {
						Text string `json:"text"`
					} `json:"messages"`
				}
				_ = json.Unmarshal(raw, &msg)
				d := connectortest.Delivery{To: msg.To, Header: r.Header, Body: raw, Key: r.Header.Get(line.HeaderRetryKey)}
				if d.Key == line.RetryKey(key+"#0") {
					d.Key = key
				}
				if len(msg.Messages) > 0 {
					d.Text = msg.Messages[0].Text
				}
				reply := api.Deliver(d)
				for k, vs := range reply.Header {
					w.Header()[k] = vs
				}
				w.Header().Set("Content-Type", "application/json")
				if reply.Status >= 300 {
					w.WriteHeader(reply.Status)
					io.WriteString(w, linefake.ErrorJSON("kit error "+strconv.Itoa(reply.Status)))
					return
				}
				io.WriteString(w, linefake.SentJSON(reply.ID))
			})
		},
		Request: func(t testing.TB, _ time.Time) *connectors.Request {
			return linefake.Webhook(secret, webhook, text)
		},
		Unsign: func(r *connectors.Request) { r.Header.Del(line.HeaderSignature) },
		Malformed: func(t testing.TB, _ time.Time) *connectors.Request {
			return linefake.Webhook(secret, webhook, text[:len(text)-3])
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: key, Channel: "line", To: customer, Text: "Hello from the kit", ConversationID: "conv-1"}
		},
	})
}
