package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/webchat"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// relayOf is the connectors' relay over a store's, as serve builds it.
type relayOf struct{ r store.Relayer }

func (r relayOf) Publish(ctx context.Context, topic string, p []byte) error {
	return r.r.Publish(ctx, topic, p)
}
func (r relayOf) Subscribe(topic string) (<-chan []byte, func()) { return r.r.Receive(topic) }

// webchatNode starts a node with a webchat instance on st and returns its
// base URL; work says whether it runs the outbox.
func webchatNode(t *testing.T, st store.Store, work bool) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sources := []compiler.Source{{Name: "chat.flow", Src: []byte(chatFlow)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	reg := connectors.NewRegistry()
	reg.MustRegister(webchat.Spec(), webchat.New)
	conn, err := reg.New(webchat.Name, connectors.Config{"secret": "shared-webchat-secret-0123"}, connectors.Resources{Relay: relayOf{st.(store.Relayer)}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources,
		Channels: map[string]connectors.Connector{"webchat/default": conn}, RetryBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Node: n, Store: st, Instances: []server.Instance{{Connector: webchat.Name, Name: "default", Conn: conn}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	worked := make(chan struct{})
	if work {
		go func() { n.Run(ctx, 2); close(worked) }()
	} else {
		close(worked)
	}
	t.Cleanup(func() {
		cancel()
		<-served
		<-worked
		_ = conn.(connectors.Closer).Close(context.Background())
		n.Close()
	})
	return "http://" + ln.Addr().String()
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
	a := webchatNode(t, stA, true)
	b := webchatNode(t, other, false) // no outbox: every reply is sent by A

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
