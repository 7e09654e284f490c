package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// gatedConn is the custom connector, except that a message with the text
// "wait" holds its request until release is closed or the request's
// context ends: a request in flight for as long as a test needs.
type gatedConn struct {
	connectors.Connector
	entered chan string // the held message's id
	release chan struct{}
}

func (c *gatedConn) Receive(ctx context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	var m struct{ ID, Text string }
	if json.Unmarshal(r.Body, &m) == nil && m.Text == "wait" {
		c.entered <- m.ID
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return c.Connector.Receive(ctx, r)
}

func (c *gatedConn) Respond(in []connectors.Inbound, r connectors.Reaction) (int, string, []byte) {
	return c.Connector.(connectors.InlineResponder).Respond(in, r)
}

// drainRig is a server whose shutdown a test starts (stop) and watches
// (served is closed when Serve returns, with err).
type drainRig struct {
	base   string
	store  store.Store
	gate   *gatedConn
	stop   context.CancelFunc
	served chan struct{}
	err    error
}

func startDrain(t *testing.T, drain time.Duration) *drainRig {
	t.Helper()
	workCtx, stopWork := context.WithCancel(context.Background())
	st, err := store.Open(workCtx, "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	sources := []compiler.Source{{Name: "route.flow", Src: []byte(agentFlow)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	custom, err := connectors.Default().New("custom", connectors.Config{"secret": secret}, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	gate := &gatedConn{Connector: custom, entered: make(chan string, 1), release: make(chan struct{})}
	n, err := node.New(workCtx, node.Config{Store: st, Program: prog, Sources: sources,
		Channels: map[string]connectors.Connector{"custom/default": gate}, LeaderRetry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(workCtx, store.Token{Hash: server.HashToken(admin), Role: store.RoleAdmin, Subject: "admin"}); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Node: n, Store: st, DrainTimeout: drain,
		Instances: []server.Instance{{Connector: "custom", Name: "default", Conn: gate}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	r := &drainRig{base: "http://" + ln.Addr().String(), store: st, gate: gate, stop: stop, served: make(chan struct{})}
	go func() { r.err = srv.Serve(serveCtx, ln); close(r.served) }()
	routerDone := make(chan struct{})
	go func() { n.RunRouter(workCtx); close(routerDone) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.served:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return")
		}
		stopWork()
		<-routerDone
		n.Close()
		st.Close()
	})
	return r
}

// post sends one signed message to the custom connector through client.
func (r *drainRig) post(t *testing.T, client *http.Client, id, text string) (*http.Response, map[string]any) {
	body := fmt.Sprintf(`{"id":%q,"from":"customer-%s","text":%q}`, id, id, text)
	req, _ := http.NewRequest(http.MethodPost, r.base+"/v1/webhooks/custom/default", strings.NewReader(body))
	req.Header = signed(body, time.Now())
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("message %s: %v", id, err)
		return nil, nil
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if json.Unmarshal(b, &m) != nil {
		m = map[string]any{"raw": string(b)}
	}
	return resp, m
}

func (r *drainRig) stored(t *testing.T, id string) bool {
	t.Helper()
	_, err := r.store.FindMessage(context.Background(), "custom", "default", id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestShutdownDrains: once the shutdown begins, new connections are
// refused, agents' streams go away, requests on connections already open
// are still served (and told to close their connection), /readyz says
// the node drains, and Serve returns only once the request in flight has
// been answered, 200, with its message stored.
func TestShutdownDrains(t *testing.T) {
	r := startDrain(t, 20*time.Second)
	kept := &http.Client{Transport: &http.Transport{}} // one keep-alive connection, opened before the shutdown
	defer kept.CloseIdleConnections()
	if got, err := kept.Get(r.base + "/healthz"); err != nil || got.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", got, err)
	} else {
		io.Copy(io.Discard, got.Body)
		got.Body.Close()
	}
	created := call(t, http.MethodPost, r.base+"/v1/workers", []byte(`{"id":"ann","attributes":{"languages":["en"]}}`), bearer(admin))
	if created.status != http.StatusCreated {
		t.Fatalf("creating a worker: %d %v", created.status, created.body)
	}
	stream := openStream(t, r.base, "ann", created.body["token"].(string))

	type answer struct {
		resp *http.Response
		body map[string]any
	}
	held := make(chan answer, 1)
	go func() {
		resp, body := r.post(t, &http.Client{}, "held", "wait")
		held <- answer{resp, body}
	}()
	<-r.gate.entered
	r.stop()

	_ = stream.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := stream.conn.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("agent stream at shutdown: %v, want a going-away close", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(r.base, "http://"), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections while it drains")
		}
		time.Sleep(10 * time.Millisecond)
	}

	resp, err := kept.Get(r.base + "/readyz")
	if err != nil {
		t.Fatalf("readyz on an open connection while draining: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `"error"`) || !resp.Close {
		t.Errorf("readyz while draining: %d close=%v %s, want 503 with a JSON reason, closing the connection", resp.StatusCode, resp.Close, b)
	}
	select {
	case <-r.served:
		t.Fatalf("Serve returned (%v) with a request in flight", r.err)
	case <-time.After(100 * time.Millisecond):
	}

	close(r.gate.release)
	a := <-held
	if a.resp == nil || a.resp.StatusCode != http.StatusOK {
		t.Fatalf("the request in flight at shutdown: %v %v, want 200", a.resp, a.body)
	}
	if !r.stored(t, "held") {
		t.Error("the request in flight was answered 200 but its message is not stored")
	}
	select {
	case <-r.served:
		if r.err != nil {
			t.Errorf("Serve: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return once nothing was in flight")
	}
}

// TestShutdownDrainTimeout: a request still running when the drain
// timeout ends is canceled and answered 503 with a JSON reason and
// Retry-After (its platform sends it again), not 500.
func TestShutdownDrainTimeout(t *testing.T) {
	const drain = 300 * time.Millisecond
	r := startDrain(t, drain)
	held := make(chan *http.Response, 1)
	var body map[string]any
	go func() {
		resp, b := r.post(t, &http.Client{}, "stuck", "wait")
		body = b
		held <- resp
	}()
	<-r.gate.entered
	began := time.Now()
	r.stop()
	resp := <-held
	if resp == nil {
		t.Fatal("no answer")
	}
	if resp.StatusCode != http.StatusServiceUnavailable || body["error"] == nil || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a request past the drain timeout: %d %v (Retry-After %q), want 503 with a reason and Retry-After",
			resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if took := time.Since(began); took < drain {
		t.Errorf("canceled after %v, before the drain timeout (%v)", took, drain)
	}
	if r.stored(t, "stuck") {
		t.Error("the canceled message is stored, though it was answered 503")
	}
	select {
	case <-r.served:
		if r.err != nil {
			t.Errorf("Serve: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain timeout")
	}
}

// TestBadCursor: every list, given an after= that is not a cursor,
// answers 400 with a JSON reason (and a good cursor 200), never 500.
func TestBadCursor(t *testing.T) {
	r := start(t, setup{flow: agentFlow, running: true})
	auth := bearer(admin)
	created := call(t, http.MethodPost, r.base+"/v1/workers", []byte(`{"id":"ann","attributes":{"languages":["fr"]}}`), auth)
	if created.status != http.StatusCreated {
		t.Fatalf("creating a worker: %d %v", created.status, created.body)
	}
	msg := `{"id":"m1","from":"alice","text":"live agent please"}`
	hook := call(t, http.MethodPost, r.base+"/v1/webhooks/custom/default", []byte(msg), signed(msg, time.Now()))
	enq, _ := hook.body["enqueued"].([]any)
	if hook.status != http.StatusOK || len(enq) != 1 {
		t.Fatalf("webhook: %d %v", hook.status, hook.body)
	}
	task := enq[0].(map[string]any)["task"].(string)
	convs := call(t, http.MethodGet, r.base+"/v1/conversations", nil, auth)
	conv := convs.body["conversations"].([]any)[0].(map[string]any)["id"].(string)

	for _, path := range []string{
		"/v1/conversations",
		"/v1/conversations?status=open",
		"/v1/conversations/" + conv + "/messages",
		"/v1/dead-letters",
		"/v1/tasks",
		"/v1/tasks?status=completed",
		"/v1/tasks/" + task + "/events",
		"/v1/router/events",
		"/v1/router/events?worker=ann",
	} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		for _, tc := range []struct {
			after  string
			status int
		}{{"abc", 400}, {"-", 400}, {"1e3", 400}, {"0", 200}} {
			got := call(t, http.MethodGet, r.base+path+sep+"after="+tc.after, nil, auth)
			if got.status != tc.status {
				t.Errorf("GET %s after=%s: %d %v, want %d", path, tc.after, got.status, got.body, tc.status)
				continue
			}
			if msg, _ := got.body["error"].(string); tc.status == 400 && !strings.Contains(msg, "after=") {
				t.Errorf("GET %s after=%s: error %q does not name the parameter", path, tc.after, msg)
			}
		}
	}

	// The stream checks its cursor before it upgrades, so the 400 is an
	// answer the client sees rather than a stream that dies at once.
	u := "ws" + strings.TrimPrefix(r.base, "http") + "/v1/workers/ann/stream?after=abc&access_token=" + created.body["token"].(string)
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil {
		conn.Close()
		t.Fatal("stream with after=abc: upgraded, want 400")
	}
	if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("stream with after=abc: %v %v, want 400", resp, err)
	}

	metrics, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if strings.Contains(string(b), `switchboard_http_errors_total{status="500"}`) {
		t.Errorf("a bad cursor was counted as a failure of the server:\n%s", b)
	}
}

// TestUnreadableRequests: requests fasthttp refuses before any handler
// (a body over the limit, headers too large, a malformed header) are
// answered with the status that says why and a JSON reason, over a real
// connection. The bodies are announced, not sent: the server answers on
// the Content-Length and closes the connection, and a client still
// writing a body then may see the reset before the answer.
func TestUnreadableRequests(t *testing.T) {
	base := serve(t)
	addr := strings.TrimPrefix(base, "http://")
	tests := []struct {
		name    string
		request string
		status  int
	}{
		{"body over the limit", fmt.Sprintf("POST /v1/programs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"files\":",
			admin, server.MaxProgramBody+2), http.StatusRequestEntityTooLarge},
		{"webhook body over the limit", fmt.Sprintf("POST /v1/webhooks/custom/default HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
			64<<20), http.StatusRequestEntityTooLarge},
		{"headers too large", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 16<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"malformed Content-Length", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tt.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body map[string]string
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
				json.Unmarshal(b, &body) != nil || body["error"] == "" {
				t.Errorf("%d %q %s, want %d with a JSON error", resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.status)
			}
		})
	}

}
