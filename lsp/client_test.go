package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// The tests speak to a real glsp server through a small JSON-RPC client
// written here, so what they check is what goes over the wire. Two
// transports: a WebSocket on an in-process net.Pipe (glsp's
// Server.ServeWebSocket, the same handler as standard input and output),
// and standard input and output of a child process (Content-Length
// framing, as editors speak it).

// transport carries JSON-RPC messages.
type transport interface {
	send(msg []byte) error
	recv() ([]byte, error)
	close() error
}

type wsTransport struct{ c *websocket.Conn }

func (w wsTransport) send(msg []byte) error { return w.c.WriteMessage(websocket.TextMessage, msg) }
func (w wsTransport) recv() ([]byte, error) {
	_, b, err := w.c.ReadMessage()
	return b, err
}
func (w wsTransport) close() error { return w.c.Close() }

// streamTransport frames messages with Content-Length headers.
type streamTransport struct {
	w io.WriteCloser
	r *bufio.Reader
}

func (s streamTransport) send(msg []byte) error {
	_, err := fmt.Fprintf(s.w, "Content-Length: %d\r\n\r\n%s", len(msg), msg)
	return err
}

func (s streamTransport) recv() ([]byte, error) {
	n := -1
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			if n, err = strconv.Atoi(v); err != nil {
				return nil, err
			}
		}
	}
	if n < 0 {
		return nil, fmt.Errorf("message without Content-Length")
	}
	b := make([]byte, n)
	_, err := io.ReadFull(s.r, b)
	return b, err
}

func (s streamTransport) close() error { return s.w.Close() }

// pipeListener hands the server ends of net.Pipes to an http.Server.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "pipe"} }

// startServer serves a new Server on an in-process WebSocket and returns
// an initialized client of it.
func startServer(t testing.TB, opts Options, root string) *client {
	t.Helper()
	srv := New(opts)
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		srv.serveWebSocket(c)
	})}
	go hs.Serve(ln)
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		a, b := net.Pipe()
		select {
		case ln.conns <- b:
			return a, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}
	ws, _, err := d.Dial("ws://lsp/", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, wsTransport{ws})
	t.Cleanup(func() {
		c.close()
		hs.Close()
	})
	c.initialize(root)
	return c
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      *int            `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// published is a publishDiagnostics notification. Code is read here:
// glsp's IntegerOrString cannot decode (its UnmarshalJSON has a value
// receiver), and the shallower field wins.
type published struct {
	URI         string             `json:"uri"`
	Version     *protocol.UInteger `json:"version"`
	Diagnostics []wireDiagnostic   `json:"diagnostics"`
}

type wireDiagnostic struct {
	protocol.Diagnostic
	Code any `json:"code"`
}

// client is a minimal LSP client: requests wait for their response,
// published diagnostics are kept by document.
type client struct {
	t  testing.TB
	tr transport

	mu      sync.Mutex
	next    int
	pending map[int]chan rpcMessage
	diags   map[string][]published
	changed chan struct{} // closed and replaced on every publish
	done    chan struct{}
}

func newClient(t testing.TB, tr transport) *client {
	c := &client{t: t, tr: tr, pending: map[int]chan rpcMessage{},
		diags: map[string][]published{}, changed: make(chan struct{}), done: make(chan struct{})}
	go c.read()
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		b, err := c.tr.recv()
		if err != nil {
			return
		}
		var m rpcMessage
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Errorf("bad message from the server: %v: %s", err, b)
			return
		}
		c.mu.Lock()
		switch {
		case m.Method == protocol.ServerTextDocumentPublishDiagnostics:
			var p published
			if err := json.Unmarshal(m.Params, &p); err != nil {
				c.t.Errorf("bad diagnostics: %v", err)
			}
			c.diags[p.URI] = append(c.diags[p.URI], p)
			close(c.changed)
			c.changed = make(chan struct{})
		case m.Method == "" && m.ID != nil:
			if ch := c.pending[*m.ID]; ch != nil {
				ch <- m
				delete(c.pending, *m.ID)
			}
		}
		c.mu.Unlock()
	}
}

func (c *client) send(m rpcMessage) {
	m.JSONRPC = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.tr.send(b); err != nil {
		c.t.Fatalf("send %s: %v", m.Method, err)
	}
}

// call sends a request and decodes its result into out (when not nil).
func (c *client) call(method string, params, out any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		c.t.Fatal(err)
	}
	ch := make(chan rpcMessage, 1)
	c.mu.Lock()
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	c.send(rpcMessage{ID: &id, Method: method, Params: raw})
	select {
	case m := <-ch:
		if m.Error != nil {
			return m.Error
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-time.After(30 * time.Second):
		c.t.Fatalf("%s: no answer in 30s", method)
		return nil
	}
}

func (c *client) notify(method string, params any) {
	raw, err := json.Marshal(params)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(rpcMessage{Method: method, Params: raw})
}

func (c *client) initialize(root string) {
	uri := pathURI(root)
	var res protocol.InitializeResult
	if err := c.call(protocol.MethodInitialize, protocol.InitializeParams{RootURI: &uri}, &res); err != nil {
		c.t.Fatalf("initialize: %v", err)
	}
	// Editors send ranges only when the server asks for incremental sync
	// (TextDocumentSyncKind 2).
	if sync, _ := json.Marshal(res.Capabilities.TextDocumentSync); !strings.Contains(string(sync), `"change":2`) {
		c.t.Errorf("initialize: text document sync %s, want incremental changes", sync)
	}
	c.notify(protocol.MethodInitialized, protocol.InitializedParams{})
}

func (c *client) close() {
	_ = c.call(protocol.MethodShutdown, nil, nil)
	c.notify(protocol.MethodExit, nil)
	c.tr.close()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
}

func (c *client) open(path, src string, version int) {
	c.notify(protocol.MethodTextDocumentDidOpen, protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: pathURI(path), LanguageID: "flow", Version: protocol.Integer(version), Text: src}})
}

// edit sends a ranged change, as an editor does with incremental sync.
func (c *client) edit(path string, rg protocol.Range, text string, version int) {
	c.notify(protocol.MethodTextDocumentDidChange, protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: pathURI(path)}, Version: protocol.Integer(version)},
		ContentChanges: []any{protocol.TextDocumentContentChangeEvent{Range: &rg, Text: text}}})
}

func (c *client) change(path, src string, version int) {
	c.notify(protocol.MethodTextDocumentDidChange, protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: pathURI(path)}, Version: protocol.Integer(version)},
		ContentChanges: []any{protocol.TextDocumentContentChangeEventWhole{Text: src}}})
}

// diagnostics waits for the diagnostics published for a version of a
// document (0: a file the editor does not hold, published with no version).
func (c *client) diagnostics(path string, version int) published {
	return c.diagnosticsAfter(path, version, nil)
}

// diagnosticsAfter is diagnostics, also waiting for the number of
// publications for the document to pass after[uri].
func (c *client) diagnosticsAfter(path string, version int, after map[string]int) published {
	uri := pathURI(path)
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		list := c.diags[uri]
		changed := c.changed
		c.mu.Unlock()
		for i := len(list) - 1; i >= 0; i-- {
			v := list[i].Version
			if (v == nil && version == 0 || v != nil && int(*v) == version) && len(list) > after[uri] {
				return list[i]
			}
		}
		select {
		case <-changed:
		case <-deadline:
			c.t.Fatalf("no diagnostics for version %d of %s in 30s", version, path)
		}
	}
}

// published counts the publications so far, by document.
func (c *client) publishedCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for uri, list := range c.diags {
		out[uri] = len(list)
	}
	return out
}
