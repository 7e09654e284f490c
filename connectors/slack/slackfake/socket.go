package slackfake

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// AppToken is the app-level token the fake's apps.connections.open
// accepts.
const AppToken = "xapp-1-A0PNCHHK2-1765116000000-4f0c2b9d8e7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e"

// socketPath is where the fake's Socket Mode WebSocket is.
const socketPath = "/link/"

// socket is the fake's side of the Socket Mode connection.
type socket struct {
	conn  *websocket.Conn
	acks  []string
	ready chan struct{} // closed when a connection is open
}

// openConnection answers apps.connections.open: the WebSocket's URL to
// a client with the app-level token.
func (f *Fake) openConnection(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.Header.Get("Authorization") != "Bearer "+AppToken {
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	ws := "ws" + strings.TrimPrefix(f.srv.URL, "http") + socketPath + "?ticket=3f0c9a61-5d0f-4e3c-9b1a-2c8d7e6f5a4b&app_id=A0PNCHHK2"
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": ws})
}

// serveSocket is Slack's end of the WebSocket: hello, pings, and the
// envelopes a test sends; it records the acknowledgements.
func (f *Fake) serveSocket(w http.ResponseWriter, r *http.Request) {
	// slack-go dials with the Origin of Slack's site, which Slack expects.
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	hello := `{"type":"hello","num_connections":1,"debug_info":{"host":"applink-fake","build_number":1,"approximate_connection_time":18060},"connection_info":{"app_id":"A0PNCHHK2"}}`
	f.mu.Lock()
	err = conn.WriteMessage(websocket.TextMessage, []byte(hello))
	f.sock.conn = conn
	close(f.sock.ready)
	f.mu.Unlock()
	if err != nil {
		return
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				f.mu.Lock()
				err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
				f.mu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			f.mu.Lock()
			f.sock.conn, f.sock.ready = nil, make(chan struct{})
			f.mu.Unlock()
			return
		}
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal(data, &ack) == nil && ack.EnvelopeID != "" {
			f.mu.Lock()
			f.sock.acks = append(f.sock.acks, ack.EnvelopeID)
			f.mu.Unlock()
		}
	}
}

// SendEnvelope waits up to five seconds for a Socket Mode connection and
// sends it an envelope as Slack does: typ is events_api or interactive,
// payload the event or interaction JSON.
func (f *Fake) SendEnvelope(id, typ string, payload []byte, retry int) error {
	f.mu.Lock()
	ready := f.sock.ready
	f.mu.Unlock()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		return errors.New("slackfake: no Socket Mode connection")
	}
	env, _ := json.Marshal(map[string]any{"envelope_id": id, "type": typ, "payload": json.RawMessage(payload),
		"accepts_response_payload": typ == "interactive", "retry_attempt": retry, "retry_reason": map[bool]string{true: "timeout"}[retry > 0]})
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sock.conn == nil {
		return errors.New("slackfake: the Socket Mode connection closed")
	}
	return f.sock.conn.WriteMessage(websocket.TextMessage, env)
}

// Acks returns the envelope ids acknowledged so far, in order.
func (f *Fake) Acks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sock.acks)
}
