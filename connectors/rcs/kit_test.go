package rcs_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/rcs"
	"github.com/switchboard-dev/switchboard/connectors/rcs/rbmfake"
)

// kitKey is the Key of the kit's outbound message.
const kitKey = "effect-0001"

// TestConformance runs the connector kit. The kit's fake stands for the
// RBM API (tokens come from an rbmfake beside it): it answers the
// capability check itself and hands each agent message to the kit, with
// the Outbound Key the messageId was derived from.
func TestConformance(t *testing.T) {
	tokens := rbmfake.New(t, agent)
	event := findPayload(t, "text").event
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			cfg := config(t, tokens, map[string]string{"api_url": api.URL, "token_url": tokens.TokenURL()})
			return newConnector(t, cfg, res)
		},
		Handler: kitHandler,
		Request: func(t testing.TB, _ time.Time) *connectors.Request {
			return rbmfake.Webhook(clientToken, webhook, event)
		},
		Unsign: func(r *connectors.Request) { r.Header.Del(rcs.HeaderSignature) },
		Malformed: func(t testing.TB, _ time.Time) *connectors.Request {
			return rbmfake.Webhook(clientToken, webhook, event[:len(event)-3])
		},
		// Only message.data is signed: the tampering must reach it.
		Tamper: func(r *connectors.Request) {
			var env map[string]map[string]any
			_ = json.Unmarshal(r.Body, &env)
			data, _ := base64.StdEncoding.DecodeString(env["message"]["data"].(string))
			data = []byte(strings.Replace(string(data), "order", "ordeR", 1))
			env["message"]["data"] = base64.StdEncoding.EncodeToString(data)
			r.Body, _ = json.Marshal(env)
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: kitKey, Channel: "rcs", To: "+14155550123", Text: "Hello from the kit", ConversationID: "conv-1"}
		},
	})
}

func kitHandler(api *connectortest.API) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ya29.") || r.URL.Query().Get("agentId") != agent {
			rbmfake.GoogleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
			return
		}
		number, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/phones/"), "/")
		if rest == "capabilities" {
			io.WriteString(w, `{"features":["RICHCARD_STANDALONE"]}`)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		var msg struct {
			ContentMessage struct {
				Text string `json:"text"`
			} `json:"contentMessage"`
		}
		_ = json.Unmarshal(raw, &msg)
		key := r.URL.Query().Get("messageId")
		if key == rcs.MessageID(kitKey+"#0") {
			key = kitKey
		}
		reply := api.Deliver(connectortest.Delivery{Key: key, To: number, Text: msg.ContentMessage.Text, Header: r.Header, Body: raw})
		for k, vs := range reply.Header {
			w.Header()[k] = vs
		}
		if reply.Status >= 300 {
			rbmfake.GoogleError(w, reply.Status, "KIT", "kit error")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(map[string]any{"name": "phones/" + number + "/agentMessages/" + reply.ID, "contentMessage": msg.ContentMessage})
		w.Write(b)
	})
}
