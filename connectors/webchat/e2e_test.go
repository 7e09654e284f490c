package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
)

// testServer is a fasthttp server on loopback that routes like the
// runtime's: /webchat/{instance}/… to the instance's Routes, and the webhook to
// WebhookCORS and Receive. In place of the runtime's flow and outbox, it
// answers each message with "echo: TEXT" through Send, after answering
// the webhook.
type testServer struct {
	c   *Connector
	url string // http://127.0.0.1:PORT

	mu       sync.Mutex
	received []connectors.Inbound
	sent     []string // platform ids
}

// servePage calls the route of the instance's Routes that the request's
// method and rest of the path name; the runtime's server answers the
// others (404, 405), so this one only says no.
func (ts *testServer) servePage(ctx *fasthttp.RequestCtx, rest string) {
	for _, r := range ts.c.Routes() {
		if r.Path == rest && r.Method == string(ctx.Method()) {
			r.Handler(ctx)
			return
		}
	}
	ctx.Error("no route", http.StatusNotFound)
}

func startServer(t *testing.T, cfg connectors.Config) *testServer {
	t.Helper()
	return startServerOn(t, listen(t), cfg)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func startServerOn(t *testing.T, ln net.Listener, cfg connectors.Config) *testServer {
	t.Helper()
	if cfg == nil {
		cfg = connectors.Config{"secret": testSecret}
	}
	reg := connectors.NewRegistry()
	reg.MustRegister(Spec(), New)
	conn, err := reg.New(Name, cfg, connectors.Resources{Instance: "default"})
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, conn.(*Connector))
}

// startServerWith serves an instance the test built.
func startServerWith(t *testing.T, c *Connector) *testServer {
	t.Helper()
	return serveOn(t, listen(t), c)
}

func serveOn(t *testing.T, ln net.Listener, c *Connector) *testServer {
	ts := &testServer{c: c}
	var echoes sync.WaitGroup
	handler := func(ctx *fasthttp.RequestCtx) {
		path := string(ctx.Path())
		parts := strings.Split(strings.Trim(path, "/"), "/")
		switch {
		case len(parts) >= 2 && parts[0] == "webchat" && parts[1] == "default":
			ts.servePage(ctx, strings.TrimPrefix(path, "/webchat/default"))
		case path == "/v1/webhooks/webchat/default":
			if ts.c.WebhookCORS(ctx) {
				return
			}
			in, err := ts.c.Receive(ctx, adapt(ctx))
			if err != nil {
				status, ct, body := connectors.ErrorResponse(err)
				ctx.SetStatusCode(status)
				ctx.SetContentType(ct)
				ctx.SetBody(body)
				return
			}
			ts.mu.Lock()
			ts.received = append(ts.received, in...)
			ts.mu.Unlock()
			for _, m := range in {
				echoes.Go(func() {
					id, err := ts.c.Send(context.Background(), &connectors.Outbound{Key: "echo:" + m.PlatformID, Channel: Name, To: m.From, Text: "echo: " + m.Text})
					if err == nil {
						ts.mu.Lock()
						ts.sent = append(ts.sent, id)
						ts.mu.Unlock()
					}
				})
			}
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"accepted":` + strconv.Itoa(len(in)) + `}`)
		case path == "/host.html":
			// Another site embedding the widget: the browser test loads it
			// from http://localhost:PORT, the widget from 127.0.0.1:PORT.
			ctx.SetContentType("text/html; charset=utf-8")
			ctx.SetBodyString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>` +
				`<body><h1>A shop</h1><script src="http://` + ctx.LocalAddr().String() + `/webchat/default/widget.js" async></script></body></html>`)
		default:
			ctx.Error("not found", http.StatusNotFound)
		}
	}
	// As the runtime's server, which takes bodies up to 16 MiB.
	srv := &fasthttp.Server{Handler: handler, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxRequestBodySize: 16 << 20}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		_ = ts.c.Close(context.Background()) // closes sockets, ends long-polls
		// A connection a browser opened after the close (a reconnecting
		// widget) may be mid-request: give it a moment, not the test.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.ShutdownWithContext(ctx)
		// Shutdown closes nothing when Serve has not started yet (a test
		// that skips at once): closing the listener ends a Serve that
		// starts after it.
		_ = ln.Close()
		<-done
		echoes.Wait()
	})
	ts.url = "http://" + ln.Addr().String()
	return ts
}

// adapt is the server's adaptation of a fasthttp request.
func adapt(ctx *fasthttp.RequestCtx) *connectors.Request {
	header := http.Header{}
	for k, v := range ctx.Request.Header.All() {
		header.Add(string(k), string(v))
	}
	return &connectors.Request{Method: string(ctx.Method()), URL: "http://" + string(ctx.Host()) + string(ctx.RequestURI()),
		Path: string(ctx.Path()), Header: header, Body: append([]byte(nil), ctx.Request.Body()...), RemoteAddr: ctx.RemoteAddr().String()}
}

type session struct {
	Visitor, Token, Title, Greeting string
}

func (ts *testServer) do(t *testing.T, method, path string, header map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (ts *testServer) session(t *testing.T, token string) session {
	t.Helper()
	body := ""
	if token != "" {
		body = `{"token":"` + token + `"}`
	}
	status, _, b := ts.do(t, "POST", "/webchat/default/session", map[string]string{"Content-Type": "application/json"}, body)
	var s session
	if status != 200 || json.Unmarshal(b, &s) != nil || !validVisitorID(s.Visitor) || s.Token == "" {
		t.Fatalf("session: %d %s", status, b)
	}
	return s
}

func (ts *testServer) post(t *testing.T, token, id, text string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"id": id, "text": text})
	status, _, b := ts.do(t, "POST", "/v1/webhooks/webchat/default",
		map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token}, string(body))
	return status, string(b)
}

func (ts *testServer) dial(t *testing.T, token, query string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "/webchat/default/ws?token=" + url.QueryEscape(token) + query
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func readFrame(t *testing.T, conn *websocket.Conn) frame {
	t.Helper()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("reading the socket: %v", err)
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		if f.Type != "ping" {
			return f
		}
	}
}

// TestEndToEnd: session → message → the reply arrives on the socket and
// through the long-poll; a reload keeps the visitor and the conversation.
func TestEndToEnd(t *testing.T) {
	ts := startServer(t, nil)
	s := ts.session(t, "")
	if s.Title != DefaultTitle || s.Greeting != DefaultGreeting {
		t.Errorf("session: %+v", s)
	}

	ws := ts.dial(t, s.Token, "")
	hello := readFrame(t, ws)
	if hello.Type != "hello" || hello.Visitor != s.Visitor || hello.Last != 0 {
		t.Fatalf("hello: %+v", hello)
	}
	// A second tab of the same visitor.
	ws2 := ts.dial(t, s.Token, "")
	readFrame(t, ws2)

	if status, body := ts.post(t, s.Token, "c_1", "Where is my order?"); status != 200 || body != `{"accepted":1}` {
		t.Fatalf("webhook: %d %s", status, body)
	}
	for _, conn := range []*websocket.Conn{ws, ws2} {
		echo := readFrame(t, conn) // the visitor's own message, echoed to every tab
		if echo.Message == nil || echo.Message.From != FromVisitor || echo.Message.ID != "c_1" || echo.Message.Seq != 1 || echo.Epoch != hello.Epoch {
			t.Fatalf("echo: %+v", echo)
		}
		rep := readFrame(t, conn)
		if rep.Message == nil || rep.Message.From != FromAgent || rep.Message.Text != "echo: Where is my order?" || rep.Message.Seq != 2 {
			t.Fatalf("reply: %+v", rep)
		}
	}
	ts.mu.Lock()
	got := ts.received[0]
	ts.mu.Unlock()
	if got.From != s.Visitor || got.PlatformID != s.Visitor+":c_1" || got.Channel != "webchat" {
		t.Errorf("inbound: %+v", got)
	}

	// The REST fallback: everything after 0, then a long-poll that returns
	// when the next reply arrives.
	status, _, b := ts.do(t, "GET", "/webchat/default/messages?after=0&epoch="+hello.Epoch, map[string]string{"Authorization": "Bearer " + s.Token}, "")
	var p Poll
	if status != 200 || json.Unmarshal(b, &p) != nil || len(p.Messages) != 2 || p.Last != 2 || p.Epoch != hello.Epoch {
		t.Fatalf("messages: %d %s", status, b)
	}
	polled := make(chan Poll, 1)
	start := time.Now()
	go func() {
		_, _, b := ts.do(t, "GET", "/webchat/default/messages?after=2&epoch="+hello.Epoch+"&token="+url.QueryEscape(s.Token), nil, "")
		var p Poll
		_ = json.Unmarshal(b, &p)
		polled <- p
	}()
	time.Sleep(100 * time.Millisecond) // let the poll wait
	ts.post(t, s.Token, "c_2", "Thanks")
	select {
	case p := <-polled:
		if len(p.Messages) == 0 || p.Messages[0].Seq != 3 || time.Since(start) > 10*time.Second {
			t.Errorf("long-poll: %+v after %v", p, time.Since(start))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long-poll did not return")
	}

	// A page reload: the stored token keeps the visitor, and the socket
	// resumes after the last message seen.
	again := ts.session(t, s.Token)
	if again.Visitor != s.Visitor || again.Token != s.Token {
		t.Errorf("reload: visitor %s, want %s", again.Visitor, s.Visitor)
	}
	// Wait until the reply to c_2 is in the mailbox (seq 4).
	waitFor(t, func() bool { ts.mu.Lock(); defer ts.mu.Unlock(); return len(ts.sent) == 2 })
	ws3 := ts.dial(t, again.Token, "&after=2&epoch="+hello.Epoch)
	if h := readFrame(t, ws3); h.Reset || h.Last != 4 {
		t.Errorf("hello after reload: %+v", h)
	}
	if f := readFrame(t, ws3); f.Message.Seq != 3 || f.Message.Text != "Thanks" {
		t.Errorf("backlog: %+v", f.Message)
	}
	if f := readFrame(t, ws3); f.Message.Seq != 4 || f.Message.Text != "echo: Thanks" {
		t.Errorf("backlog: %+v", f.Message)
	}
	// A token that is not valid (here: forged) gets a new visitor.
	if other := ts.session(t, s.Visitor+".forged"); other.Visitor == s.Visitor {
		t.Error("a forged token kept the visitor")
	}
	// A redelivered message (same id) is accepted and not echoed twice.
	ts.post(t, s.Token, "c_2", "Thanks")
	if p, _ := ts.c.hub.poll(context.Background(), s.Visitor, 0, "", 0); p.Last != 4 {
		t.Errorf("after a redelivery the mailbox has %d messages, want 4", p.Last)
	}
}

func TestEndpoints(t *testing.T) {
	ts := startServer(t, connectors.Config{"secret": testSecret, "title": "Acme <support>", "allowed_origins": "https://shop.example.com"})
	s := ts.session(t, "")
	bearer := map[string]string{"Authorization": "Bearer " + s.Token}

	// The page, escaped, with its security headers.
	status, h, b := ts.do(t, "GET", "/webchat/default/", nil, "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(b, []byte("<title>Acme &lt;support&gt;</title>")) ||
		!bytes.Contains(b, []byte(`src="widget.js"`)) {
		t.Errorf("page: %d %s\n%s", status, h, b)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'self' https://shop.example.com") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	// Without the trailing slash: a redirect, so relative URLs work.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(ts.url + "/webchat/default?transport=poll")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "default/?transport=poll" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The script and style sheet, with revalidation.
	for name, ct := range map[string]string{"widget.js": "text/javascript", "widget.css": "text/css"} {
		status, h, b := ts.do(t, "GET", "/webchat/default/"+name, nil, "")
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), ct) || len(b) < 1000 || h.Get("ETag") == "" {
			t.Errorf("%s: %d %s (%d bytes)", name, status, h, len(b))
		}
		if status, _, _ := ts.do(t, "GET", "/webchat/default/"+name, map[string]string{"If-None-Match": h.Get("ETag")}, ""); status != 304 {
			t.Errorf("%s revalidated: %d", name, status)
		}
	}

	for _, tc := range []struct {
		method, path string
		header       map[string]string
		body         string
		status       int
		want         string
	}{
		{"POST", "/webchat/default/session", map[string]string{"Content-Type": "text/plain"}, "x", 415, "application/json"},
		{"POST", "/webchat/default/session", map[string]string{"Content-Type": "application/json"}, "{", 400, "body must be JSON"},
		{"GET", "/webchat/default/messages", nil, "", 401, "invalid visitor token"},
		{"GET", "/webchat/default/messages?token=nope", nil, "", 401, "invalid visitor token"},
		{"GET", "/webchat/default/messages?after=x", bearer, "", 400, `must be a sequence number`},
		{"GET", "/webchat/default/messages?wait=soon", bearer, "", 400, `must be a number of seconds`},
		{"GET", "/webchat/default/ws", nil, "", 401, "invalid visitor token"},
		{"GET", "/webchat/default/ws", bearer, "", 400, "want a WebSocket upgrade"},
		{"GET", "/webchat/default/messages?wait=0", map[string]string{"Authorization": "Bearer " + s.Token, "Origin": "https://evil.example"}, "", 403, "may not use this webchat"},
		{"GET", "/webchat/default/messages?wait=0", bearer, "", 200, `"messages":[]`},
	} {
		status, _, b := ts.do(t, tc.method, tc.path, tc.header, tc.body)
		if status != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %d %s, want %d %q", tc.method, tc.path, status, b, tc.status, tc.want)
		}
	}

	// CORS for an allowed origin: preflights of the session, messages and
	// webhook endpoints, and the headers on the answers.
	origin := map[string]string{"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}
	for _, path := range []string{"/webchat/default/session", "/webchat/default/messages", "/v1/webhooks/webchat/default"} {
		status, h, _ := ts.do(t, "OPTIONS", path, origin, "")
		if status != 204 || h.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("preflight %s: %d %v", path, status, h)
		}
		evil := map[string]string{"Origin": "https://evil.example"}
		if status, h, _ := ts.do(t, "OPTIONS", path, evil, ""); status != 403 || h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %s from another origin: %d %v", path, status, h)
		}
	}
	body, _ := json.Marshal(map[string]string{"id": "c_9", "text": "from the shop"})
	status, h, b = ts.do(t, "POST", "/v1/webhooks/webchat/default", map[string]string{"Origin": "https://shop.example.com",
		"Content-Type": "application/json", "Authorization": "Bearer " + s.Token}, string(body))
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "https://shop.example.com" {
		t.Errorf("cross-origin webhook: %d %v %s", status, h, b)
	}
	status, h, _ = ts.do(t, "POST", "/webchat/default/session", map[string]string{"Origin": "https://shop.example.com"}, "")
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || h.Get("Vary") != "Origin" {
		t.Errorf("cross-origin session: %d %v", status, h)
	}

	// WebSockets: from an allowed origin yes, from another no.
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "/webchat/default/ws?token=" + url.QueryEscape(s.Token)
	conn, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"https://shop.example.com"}})
	if err != nil {
		t.Errorf("socket from an allowed origin: %v", err)
	} else {
		conn.Close()
	}
	if _, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"https://evil.example"}}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("socket from another origin: %v", err)
	}
}

// TestSocketLifecycle: the server closes sockets with "going away" on
// Close, and a visitor's sockets beyond the limit are refused.
func TestSocketLifecycle(t *testing.T) {
	ts := startServer(t, nil)
	ts.c.hub.cfg.maxSockets = 2
	s := ts.session(t, "")
	a := ts.dial(t, s.Token, "")
	readFrame(t, a)
	b := ts.dial(t, s.Token, "")
	readFrame(t, b)
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "/webchat/default/ws?token=" + url.QueryEscape(s.Token)
	if _, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil || resp == nil || resp.StatusCode != 429 {
		t.Errorf("third socket: %v", err)
	}
	// A closed client socket is unregistered.
	b.Close()
	waitFor(t, func() bool { return ts.c.hub.sockets(s.Visitor) == 1 })

	_ = ts.c.Close(context.Background())
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := a.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("socket on Close: %v, want 1001 going away", err)
		}
		break
	}
	if status, _, _ := ts.do(t, "GET", "/webchat/default/messages?wait=5", map[string]string{"Authorization": "Bearer " + s.Token}, ""); status != 503 {
		t.Errorf("long-poll after Close: %d", status)
	}
}

// TestPing: the server writes a keepalive frame on an idle socket.
func TestPing(t *testing.T) {
	ts := startServer(t, nil)
	ts.c.pingEvery = 50 * time.Millisecond
	s := ts.session(t, "")
	conn := ts.dial(t, s.Token, "")
	readFrame(t, conn)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := conn.ReadMessage()
	if err != nil || string(b) != `{"type":"ping"}` {
		t.Errorf("keepalive: %s, %v", b, err)
	}
}
