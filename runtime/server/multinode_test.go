package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// relayOf is the connectors' relay over a store's, as serve builds it.
func relayOf(st store.Store) connectors.Relay {
	r := connectors.NewBoundLater()
	r.Bind(st.(store.Relayer))
	return r
}

// TestWebchatAcrossNodes: a visitor whose page is connected to node B
// writes through node A, whose outbox sends the flow's reply: the echo and
// the reply reach the page on B through the store's relay.
func TestWebchatAcrossNodes(t *testing.T) {
	stA := storetest.OpenPostgres(t)
	other, err := stA.(store.Reopener).Reopen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	chat := connectors.Config{"secret": "shared-webchat-secret-0123"}
	a, _ := webchatNode(t, stA, chat, connectors.Resources{Relay: relayOf(stA)}, true)
	b, _ := webchatNode(t, other, chat, connectors.Resources{Relay: relayOf(other)}, false) // no outbox: every reply is sent by A

	resp, err := http.Post(b+"/webchat/default/session", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(b, "http")+"/webchat/default/ws?token="+url.QueryEscape(s.Token), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	req, _ := http.NewRequest("POST", a+"/v1/webhooks/webchat/default", strings.NewReader(`{"id":"c_1","text":"Hello from A"}`))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook on A: %v %v", err, resp)
	}
	resp.Body.Close()

	texts := chatFrames(t, ws, 3) // hello, the echo, the reply (on B)
	if strings.Join(texts, "|") != "hello|visitor: Hello from A|agent: You said: Hello from A" {
		t.Errorf("frames on B %q", texts)
	}
}
