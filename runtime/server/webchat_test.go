package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/webchat"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/sqlite"
)

// chatFlow answers every webchat message after storing it durably.
const chatFlow = `
flow chat {
  trigger message
  start: send "You said: ${message.text}" -> done
}
`

// TestRuntime runs the webchat instance inside the real runtime: the
// server's /webchat routes and webhook, the node's durable commit, the
// flow, and the outbox that calls Send.
func TestRuntime(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	base, stopServer := webchatNode(t, st, connectors.Config{"allowed_origins": "https://shop.example.com"}, connectors.Resources{}, true)

	do := func(method, path string, header http.Header, body string) (int, http.Header, string) {
		t.Helper()
		status, h, b := roundTrip(t, method, base+path, strings.NewReader(body), header)
		return status, h, string(b)
	}

	// The page and the script, through the server's /webchat route.
	if status, _, body := do("GET", "/webchat/default/", nil, ""); status != 200 || !strings.Contains(body, "widget.js") {
		t.Fatalf("page: %d %s", status, body)
	}
	if status, _, _ := do("GET", "/webchat/default/widget.js", nil, ""); status != 200 {
		t.Errorf("widget.js: %d", status)
	}
	if status, _, body := do("GET", "/webchat/nope/", nil, ""); status != 404 || !strings.Contains(body, `no route for GET /webchat/nope/`) {
		t.Errorf("unknown instance: %d %s", status, body)
	}

	// A visitor: session, socket, message, durable commit, reply.
	status, _, body := do("POST", "/webchat/default/session", nil, "")
	var s struct{ Visitor, Token string }
	if status != 200 || json.Unmarshal([]byte(body), &s) != nil {
		t.Fatalf("session: %d %s", status, body)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/webchat/default/ws?token="+url.QueryEscape(s.Token), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	bearer := http.Header{"Authorization": {"Bearer " + s.Token}, "Content-Type": {"application/json"}}
	if status, _, body := do("POST", "/v1/webhooks/webchat/default", bearer, `{"id":"c_1","text":"Hello runtime"}`); status != 200 || strings.TrimSpace(body) != `{"accepted":1}` {
		t.Fatalf("webhook: %d %s", status, body)
	}
	texts := chatFrames(t, ws, 3) // hello, the echo, the reply
	if strings.Join(texts, "|") != "hello|visitor: Hello runtime|agent: You said: Hello runtime" {
		t.Errorf("socket frames %q", texts)
	}
	// The message is stored once, under the visitor's id.
	if status, _, body := do("POST", "/v1/webhooks/webchat/default", bearer, `{"id":"c_1","text":"Hello runtime"}`); status != 200 {
		t.Errorf("redelivery: %d %s", status, body)
	}

	// The errors the server passes on, and the webhook's CORS.
	if status, _, body := do("POST", "/v1/webhooks/webchat/default", http.Header{"Content-Type": {"application/json"}}, `{"id":"c_2","text":"x"}`); status != 401 || !strings.Contains(body, "missing visitor token") {
		t.Errorf("no token: %d %s", status, body)
	}
	if status, _, body := do("POST", "/v1/webhooks/webchat/default", bearer, `{"id":"c_2"}`); status != 400 || !strings.Contains(body, `missing required field \"text\"`) {
		t.Errorf("no text: %d %s", status, body)
	}
	status, h, _ := do("OPTIONS", "/v1/webhooks/webchat/default", http.Header{"Origin": {"https://shop.example.com"}, "Access-Control-Request-Method": {"POST"}}, "")
	if status != 204 || h.Get("Access-Control-Allow-Origin") != "https://shop.example.com" {
		t.Errorf("preflight through the server: %d %v", status, h)
	}

	// The REST fallback: the conversation so far, then a long-poll that
	// the next reply ends.
	status, _, body = do("GET", "/webchat/default/messages?wait=0", bearer, "")
	var p webchat.Poll
	if status != 200 || json.Unmarshal([]byte(body), &p) != nil || len(p.Messages) != 2 {
		t.Fatalf("messages: %d %s", status, body)
	}
	polled := make(chan webchat.Poll, 1)
	go func() {
		req, _ := http.NewRequest("GET", base+"/webchat/default/messages?after=2&epoch="+p.Epoch, nil)
		req.Header.Set("Authorization", "Bearer "+s.Token)
		var p webchat.Poll
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&p)
			resp.Body.Close()
		}
		polled <- p
	}()
	time.Sleep(100 * time.Millisecond)
	do("POST", "/v1/webhooks/webchat/default", bearer, `{"id":"c_3","text":"Still there?"}`)
	select {
	case p := <-polled:
		if len(p.Messages) == 0 || p.Messages[0].Text != "Still there?" {
			t.Errorf("long-poll: %+v", p)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long-poll did not return")
	}

	// A shutdown does not wait for a long-poll to run its 25 s.
	_, _, body = do("POST", "/webchat/default/session", nil, "")
	var quiet struct{ Token string }
	_ = json.Unmarshal([]byte(body), &quiet)
	go func() {
		req, _ := http.NewRequest("GET", base+"/webchat/default/messages", nil) // a new visitor: nothing to answer
		req.Header.Set("Authorization", "Bearer "+quiet.Token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	stopServer()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the server took %v to shut down with a long-poll open", d)
	}
}

// webchatNode starts a node with a webchat instance configured by cfg on
// st, serving chatFlow; work says whether it runs the outbox. It returns the
// server's base URL and a function that shuts the server down while the
// outbox goes on; everything stops when the test ends.
func webchatNode(t *testing.T, st store.Store, cfg connectors.Config, res connectors.Resources, work bool) (base string, stopServer func()) {
	t.Helper()
	sources := []compiler.Source{{Name: "chat.flow", Src: []byte(chatFlow)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	reg := connectors.NewRegistry()
	reg.MustRegister(webchat.Spec(), webchat.New)
	conn, err := reg.New(webchat.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, cancel := context.WithCancel(context.Background())
	n, err := node.New(serveCtx, node.Config{Store: st, Program: prog, Sources: sources,
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
	go func() { served <- srv.Serve(serveCtx, ln) }()
	workCtx, stopWork := context.WithCancel(context.Background())
	worked := make(chan struct{})
	if work {
		go func() { n.Run(workCtx, 2); close(worked) }()
	} else {
		close(worked)
	}
	var shutdown sync.Once
	stopServer = func() {
		shutdown.Do(func() {
			cancel() // the server shuts down: long-polls end
			if err := <-served; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(func() {
		stopServer()
		stopWork()
		<-worked
		_ = conn.(connectors.Closer).Close(context.Background())
		n.Close()
	})
	return "http://" + ln.Addr().String(), stopServer
}

// chatFrames reads n frames of a visitor's WebSocket: "hello", or
// "FROM: TEXT" for a message.
func chatFrames(t *testing.T, ws *websocket.Conn, n int) []string {
	t.Helper()
	var texts []string
	for len(texts) < n {
		_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("socket: %v (got %q)", err, texts)
		}
		var f struct {
			Type    string
			Message *webchat.Message
		}
		_ = json.Unmarshal(b, &f)
		switch {
		case f.Type == "hello":
			texts = append(texts, "hello")
		case f.Message != nil:
			texts = append(texts, f.Message.From+": "+f.Message.Text)
		}
	}
	return texts
}
