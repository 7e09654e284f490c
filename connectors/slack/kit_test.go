package slack_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/slack"
	"github.com/switchboard-dev/switchboard/connectors/slack/slackfake"
)

// TestConformance runs the connector kit, sending to a bare channel id (an
// address without its user, which Send takes too) since the kit matches
// the channel the fake read with Outbound.To. chat.postMessage takes no
// idempotency key; the kit's fake answers like the Web API: a 200 with
// the scripted id as ts, or the status with Slack's HTML error page.
func TestConformance(t *testing.T) {
	text := findPayload(t, "dm-text").body
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			return newConnector(t, config(api.URL+"/api/", nil), res)
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(raw))
				reply := api.Deliver(connectortest.Delivery{To: form.Get("channel"), Text: form.Get("text"), Header: r.Header, Body: raw})
				for k, vs := range reply.Header {
					w.Header()[k] = vs
				}
				if reply.Status != http.StatusOK {
					w.WriteHeader(reply.Status)
					fmt.Fprintf(w, "<html><body>%d</body></html>", reply.Status)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": form.Get("channel"), "ts": reply.ID})
			})
		},
		Request: func(t testing.TB, now time.Time) *connectors.Request {
			return slackfake.Webhook(secret, webhook, now, text)
		},
		Unsign: func(r *connectors.Request) { r.Header.Del(slack.HeaderSignature) },
		Malformed: func(t testing.TB, now time.Time) *connectors.Request {
			return slackfake.Webhook(secret, webhook, now, text[:len(text)-3])
		},
		Tolerance: slack.Tolerance,
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: "effect-0001", Channel: slack.Channel, To: "D024BE91L", Text: "Hello from the kit", ConversationID: "conv-1"}
		},
		NoIdempotencyKey: true,
	})
}
