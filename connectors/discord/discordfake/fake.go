// Package discordfake is a fake of Discord on loopback for tests: the
// REST API's POST /channels/{channel.id}/messages, and a Gateway that
// speaks the documented protocol (HELLO, IDENTIFY, READY, dispatches with
// sequence numbers, HEARTBEAT and its ACK, RECONNECT, RESUME with the
// missed events replayed). It records what the connector sent.
package discordfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Identities of the fake.
const (
	Token     = "MTE5NzA0ODI1NjQ4NTk2MzkzNg.GxY2aB.fake-token"
	BotID     = "1197048256485963936"
	SessionID = "9c2f6b1e3d5a47f08e1b2c3d4e5f6a7b"
)

// Fake is a running fake. URL + "/api/v10" is the REST base URL,
// GatewayURL the Gateway's.
type Fake struct {
	URL        string
	GatewayURL string
	// HeartbeatInterval is HELLO's, in milliseconds.
	HeartbeatInterval int

	srv *httptest.Server
	t   testing.TB

	writeMu sync.Mutex // a WebSocket takes one writer at a time

	mu       sync.Mutex
	posts    []Post
	script   []Reply
	nextID   int
	events   []event // every dispatch, for replay on RESUME
	seq      int64
	conn     *websocket.Conn
	connWait chan struct{} // closed when a session is ready (READY or RESUMED sent)
	ops      []Op
	noAck    bool
	expired  bool // sessions are forgotten: a RESUME gets op 9
}

// Post is one message the connector posted.
type Post struct {
	Channel string
	Header  http.Header
	Body    map[string]any
	Raw     []byte
}

// Reply scripts the answer to a post: Status and Body; a zero Reply
// answers 200 with a new message.
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

// Op is one payload the connector sent on the Gateway, with the path of
// the connection it came on ("/gateway" or "/resume").
type Op struct {
	Path string
	Op   int
	D    json.RawMessage
}

type event struct {
	seq int64
	raw []byte
}

// New starts a fake, stopped at the test's end.
func New(t testing.TB) *Fake {
	f := &Fake{t: t, HeartbeatInterval: 41250, connWait: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v10/channels/{id}/messages", f.post)
	mux.HandleFunc("GET /gateway", f.gateway)
	mux.HandleFunc("GET /resume", f.gateway)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	f.URL = f.srv.URL
	f.GatewayURL = "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/gateway"
	return f
}

// Close stops the fake.
func (f *Fake) Close() {
	f.mu.Lock()
	if f.conn != nil {
		f.conn.Close()
	}
	f.mu.Unlock()
	f.srv.CloseClientConnections()
	f.srv.Close()
}

// Script queues answers to the next posts.
func (f *Fake) Script(r ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, r...)
}

// Posts returns the posts so far.
func (f *Fake) Posts() []Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Post(nil), f.posts...)
}

// Ops returns what the connector sent on the Gateway so far.
func (f *Fake) Ops() []Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Op(nil), f.ops...)
}

func (f *Fake) post(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.posts = append(f.posts, Post{Channel: r.PathValue("id"), Header: r.Header.Clone(), Body: body, Raw: raw})
	var reply Reply
	if len(f.script) > 0 {
		reply, f.script = f.script[0], f.script[1:]
	}
	f.nextID++
	id := strconv.FormatInt(1311000000000000000+int64(f.nextID), 10)
	f.mu.Unlock()
	for k, v := range reply.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.Status != 0 && reply.Status != http.StatusOK {
		w.WriteHeader(reply.Status)
		_, _ = w.Write([]byte(reply.Body))
		return
	}
	content, _ := body["content"].(string)
	out, _ := json.Marshal(map[string]any{
		"id": id, "type": 0, "channel_id": r.PathValue("id"), "content": content, "tts": false,
		"author":    map[string]any{"id": BotID, "username": "Switchboard", "discriminator": "0", "global_name": nil, "bot": true},
		"timestamp": "2026-12-07T14:00:00.000000+00:00", "edited_timestamp": nil, "attachments": []any{}, "embeds": []any{},
		"mentions": []any{}, "mention_roles": []any{}, "pinned": false, "mention_everyone": false, "flags": 0,
		"components": body["components"], "nonce": body["nonce"],
	})
	_, _ = w.Write(out)
}

var upgrader = websocket.Upgrader{}

// gateway serves one connection: HELLO, then the connector's IDENTIFY
// (answered READY) or RESUME (answered by the missed events and RESUMED),
// heartbeats answered with ACK.
func (f *Fake) gateway(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") != "10" || r.URL.Query().Get("encoding") != "json" {
		http.Error(w, "want ?v=10&encoding=json", http.StatusBadRequest)
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	f.mu.Lock()
	f.conn = c
	f.mu.Unlock()
	f.write(c, map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": f.HeartbeatInterval}, "s": nil, "t": nil})
	for {
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := c.ReadJSON(&p); err != nil {
			return
		}
		f.mu.Lock()
		f.ops = append(f.ops, Op{Path: r.URL.Path, Op: p.Op, D: p.D})
		f.mu.Unlock()
		switch p.Op {
		case 1:
			f.mu.Lock()
			silent := f.noAck
			f.mu.Unlock()
			if !silent {
				f.write(c, map[string]any{"op": 11, "d": nil, "s": nil, "t": nil})
			}
		case 2:
			f.ready(c)
		case 6:
			f.resume(c, p.D)
		}
	}
}

func (f *Fake) ready(c *websocket.Conn) {
	resumeURL := strings.TrimSuffix(f.GatewayURL, "/gateway") + "/resume"
	f.dispatch(c, "READY", map[string]any{
		"v": 10, "user_settings": map[string]any{}, "session_type": "normal", "session_id": SessionID,
		"resume_gateway_url": resumeURL, "guilds": []any{}, "private_channels": []any{}, "relationships": []any{},
		"user":        map[string]any{"id": BotID, "username": "Switchboard", "discriminator": "0", "global_name": nil, "bot": true, "verified": true, "flags": 0, "mfa_enabled": false, "avatar": nil},
		"application": map[string]any{"id": BotID, "flags": 565248},
		"shard":       []int{0, 1},
	})
	f.sessionReady()
}

func (f *Fake) resume(c *websocket.Conn, d json.RawMessage) {
	var r struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	f.mu.Lock()
	expired := f.expired
	f.mu.Unlock()
	if expired || json.Unmarshal(d, &r) != nil || r.SessionID != SessionID || r.Token != Token {
		f.write(c, map[string]any{"op": 9, "d": false, "s": nil, "t": nil})
		return
	}
	f.mu.Lock()
	var missed [][]byte
	for _, e := range f.events {
		if e.seq > r.Seq {
			missed = append(missed, e.raw)
		}
	}
	f.mu.Unlock()
	for _, raw := range missed {
		f.writeRaw(c, raw)
	}
	f.dispatch(c, "RESUMED", nil)
	f.sessionReady()
}

func (f *Fake) sessionReady() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noAck = false
	select {
	case <-f.connWait:
	default:
		close(f.connWait)
	}
}

// WaitReady waits until a session is going (READY or RESUMED sent since
// the last Drop).
func (f *Fake) WaitReady(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	ch := f.connWait
	f.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("discordfake: no Gateway session within 10 s")
	}
}

// Dispatch sends an event on the live connection, numbered and kept for
// replay.
func (f *Fake) Dispatch(name string, d any) {
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	f.dispatch(c, name, d)
}

// DispatchRaw sends a recorded event's d as is.
func (f *Fake) DispatchRaw(name string, d json.RawMessage) { f.Dispatch(name, d) }

func (f *Fake) dispatch(c *websocket.Conn, name string, d any) {
	f.mu.Lock()
	f.seq++
	raw, err := json.Marshal(map[string]any{"op": 0, "t": name, "s": f.seq, "d": d})
	if err != nil {
		f.mu.Unlock()
		f.t.Errorf("discordfake: %v", err)
		return
	}
	if name != "READY" && name != "RESUMED" {
		f.events = append(f.events, event{f.seq, raw})
	}
	f.mu.Unlock()
	f.writeRaw(c, raw)
}

// Drop closes the live connection with a close code, as Discord does;
// WaitReady then waits for the next session.
func (f *Fake) Drop(code int) {
	f.mu.Lock()
	c := f.conn
	f.connWait = make(chan struct{})
	f.mu.Unlock()
	if c != nil {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, "fake"), time.Now().Add(time.Second))
		c.Close()
	}
}

// Reconnect sends op 7, Discord's request to reconnect and resume.
func (f *Fake) Reconnect() {
	f.mu.Lock()
	c := f.conn
	f.connWait = make(chan struct{})
	f.mu.Unlock()
	f.write(c, map[string]any{"op": 7, "d": nil, "s": nil, "t": nil})
}

// StopAcks makes the Gateway leave heartbeats unacknowledged, as a
// connection that died without closing does; WaitReady then waits for
// the next session, where ACKs resume.
func (f *Fake) StopAcks() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noAck = true
	f.connWait = make(chan struct{})
}

// ForgetSessions makes the Gateway refuse every RESUME with op 9 (d
// false), as after a session expired; an IDENTIFY then starts anew.
func (f *Fake) ForgetSessions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expired = true
}

// Heartbeat sends op 1, Discord's request for a heartbeat now.
func (f *Fake) Heartbeat() {
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	f.write(c, map[string]any{"op": 1, "d": nil, "s": nil, "t": nil})
}

func (f *Fake) write(c *websocket.Conn, v any) {
	raw, _ := json.Marshal(v)
	f.writeRaw(c, raw)
}

func (f *Fake) writeRaw(c *websocket.Conn, raw []byte) {
	if c == nil {
		return
	}
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	_ = c.WriteMessage(websocket.TextMessage, raw)
}

// WaitPost waits up to 15 s for a post whose body contains want.
func (f *Fake) WaitPost(t testing.TB, want string) Post {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range f.Posts() {
			if strings.Contains(string(p.Raw), want) {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("discordfake: no post with %s; posts: %d", want, len(f.Posts()))
	return Post{}
}
