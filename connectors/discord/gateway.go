package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opReconnect      = 7
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// session is what resuming a Gateway session needs: READY's session_id
// and resume_gateway_url, and the sequence number of the last event
// delivered.
type session struct {
	ID        string
	ResumeURL string
	Seq       int64
	Self      string // the bot's user id, from READY: its own messages are not the customer's
}

func (s session) resumable() bool { return s.ID != "" && s.ResumeURL != "" }

type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

type outPayload struct {
	Op int `json:"op"`
	D  any `json:"d"`
}

type identify struct {
	Token      string             `json:"token"`
	Intents    int                `json:"intents"`
	Properties identifyProperties `json:"properties"`
}

type identifyProperties struct {
	OS      string `json:"os"`
	Browser string `json:"browser"`
	Device  string `json:"device"`
}

type resume struct {
	Token     string `json:"token"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
}

type ready struct {
	SessionID        string `json:"session_id"`
	ResumeGatewayURL string `json:"resume_gateway_url"`
	User             user   `json:"user"`
}

// closeError is a Gateway close code that forbids reconnecting: the
// token, the intents or the sharding must change first.
type closeError struct{ code int }

func (e *closeError) Error() string {
	return fmt.Sprintf("discord: the Gateway closed the connection with %d (%s); fix the configuration before reconnecting", e.code, closeReasons[e.code])
}

var closeReasons = map[int]string{
	4004: "authentication failed: check bot_token",
	4010: "invalid shard", 4011: "sharding required",
	4012: "invalid API version",
	4013: "invalid intents",
	4014: "disallowed intents: enable them in the Developer Portal",
}

// Pull holds the bot's Gateway connection until ctx ends: it identifies
// with the DIRECT_MESSAGES intent (or resumes the session a dropped
// connection left), heartbeats at HELLO's interval, and delivers every
// MESSAGE_CREATE of a DM written by a person. It reconnects, resuming on
// resume_gateway_url, when Discord asks (op 7, op 9 with d true) or the
// connection drops with a close code that allows it; after a code that
// does not (a bad token, disallowed intents) it returns the error.
//
// An event's sequence number counts as seen only once deliver returned,
// so a resume after a failed delivery gets the event again.
func (c *Conn) Pull(ctx context.Context, deliver func(context.Context, []connectors.Inbound) error) error {
	backoff := time.Duration(0)
	for {
		connected, err := c.connect(ctx, deliver)
		if ctx.Err() != nil {
			return nil
		}
		var ce *closeError
		if errors.As(err, &ce) {
			c.mu.Lock()
			c.session = session{}
			c.mu.Unlock()
			return err
		}
		c.log.Info("discord gateway disconnected; reconnecting", "err", err)
		if connected {
			backoff = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(max(2*backoff, time.Second), 30*time.Second)
	}
}

// gatewayConn is one WebSocket connection to the Gateway.
type gatewayConn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	acked   chan struct{} // a heartbeat ACK arrived since the last beat
}

func (g *gatewayConn) send(op int, d any) error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	_ = g.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return g.ws.WriteJSON(outPayload{Op: op, D: d})
}

// connect runs one connection: dial, HELLO, identify or resume, then
// events until the connection ends. connected reports whether the session
// got going (READY or RESUMED), so Pull's backoff starts over.
func (c *Conn) connect(ctx context.Context, deliver func(context.Context, []connectors.Inbound) error) (connected bool, err error) {
	c.mu.Lock()
	s := c.session
	c.mu.Unlock()
	url := c.gateway
	if s.resumable() {
		url = s.ResumeURL
	}
	ws, _, err := c.dialer.DialContext(ctx, url+"?v=10&encoding=json", nil)
	if err != nil {
		return false, fmt.Errorf("discord: dialling the Gateway %s: %w", url, err)
	}
	g := &gatewayConn{ws: ws, acked: make(chan struct{}, 1)}
	stopping := ctx
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		// 1000 ends the session, which only this process could resume;
		// any other code keeps it for the reconnection that follows.
		closeCode := 4000
		if stopping.Err() != nil {
			closeCode = websocket.CloseNormalClosure
		}
		g.writeMu.Lock()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeCode, ""), time.Now().Add(time.Second))
		g.writeMu.Unlock()
		ws.Close()
		wg.Wait()
	}()
	wg.Go(func() {
		<-ctx.Done()
		_ = ws.SetReadDeadline(time.Now()) // wakes the read loop
	})
	interval, err := c.hello(g, s)
	if err != nil {
		return false, err
	}
	beatErr := make(chan error, 1)
	wg.Go(func() { beatErr <- c.heartbeat(ctx, g, interval) })
	return c.listen(ctx, g, deliver, beatErr)
}

// hello reads HELLO and answers it with IDENTIFY, or with RESUME for a
// session to resume.
func (c *Conn) hello(g *gatewayConn, s session) (time.Duration, error) {
	_ = g.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var p payload
	if err := g.ws.ReadJSON(&p); err != nil {
		return 0, fmt.Errorf("discord: waiting for the Gateway's HELLO: %w", err)
	}
	var h struct {
		HeartbeatInterval int64 `json:"heartbeat_interval"`
	}
	if p.Op != opHello || json.Unmarshal(p.D, &h) != nil || h.HeartbeatInterval <= 0 {
		return 0, fmt.Errorf("discord: the Gateway's first message is op %d, want HELLO (op 10) with a heartbeat_interval", p.Op)
	}
	_ = g.ws.SetReadDeadline(time.Time{})
	var err error
	if s.resumable() {
		err = g.send(opResume, resume{Token: c.token, SessionID: s.ID, Seq: s.Seq})
	} else {
		err = g.send(opIdentify, identify{Token: c.token, Intents: IntentDirectMessages,
			Properties: identifyProperties{OS: runtime.GOOS, Browser: "switchboard", Device: "switchboard"}})
	}
	if err != nil {
		return 0, fmt.Errorf("discord: identifying to the Gateway: %w", err)
	}
	return time.Duration(h.HeartbeatInterval) * time.Millisecond, nil
}

// heartbeat beats first after a random part of the interval, as Discord
// asks so that reconnecting clients do not beat together, then every
// interval. A beat with the previous one unacknowledged means a zombie
// connection: it ends the connection, and Pull resumes.
func (c *Conn) heartbeat(ctx context.Context, g *gatewayConn, interval time.Duration) error {
	wait := time.Duration(rand.Int64N(int64(interval)))
	first := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if !first {
			select {
			case <-g.acked:
			default:
				_ = g.ws.SetReadDeadline(time.Now())
				return errors.New("discord: the Gateway did not acknowledge the last heartbeat")
			}
		}
		first, wait = false, interval
		if err := c.beat(g); err != nil {
			return err
		}
	}
}

func (c *Conn) beat(g *gatewayConn) error {
	c.mu.Lock()
	seq := c.session.Seq
	c.mu.Unlock()
	var d any
	if seq > 0 {
		d = seq
	}
	return g.send(opHeartbeat, d)
}

// listen reads the connection's payloads until it ends.
func (c *Conn) listen(ctx context.Context, g *gatewayConn, deliver func(context.Context, []connectors.Inbound) error, beatErr <-chan error) (bool, error) {
	connected := false
	for {
		var p payload
		if err := g.ws.ReadJSON(&p); err != nil {
			select {
			case berr := <-beatErr:
				if berr != nil {
					return connected, berr
				}
			default:
			}
			return connected, c.readError(ctx, err)
		}
		switch p.Op {
		case opDispatch:
			ok, err := c.dispatch(ctx, p, deliver)
			connected = connected || ok
			if err != nil {
				return connected, err
			}
		case opHeartbeat:
			if err := c.beat(g); err != nil {
				return connected, err
			}
		case opHeartbeatACK:
			select {
			case g.acked <- struct{}{}:
			default:
			}
		case opReconnect:
			return connected, errors.New("discord: the Gateway asked to reconnect (op 7)")
		case opInvalidSession:
			var resumable bool
			_ = json.Unmarshal(p.D, &resumable)
			if !resumable {
				c.forgetSession()
				// Discord asks for a pause of 1 to 5 s before identifying anew.
				select {
				case <-ctx.Done():
				case <-time.After(time.Second + time.Duration(rand.Int64N(int64(4*time.Second)))):
				}
			}
			return connected, fmt.Errorf("discord: the Gateway invalidated the session (op 9, resumable %v)", resumable)
		}
	}
}

func (c *Conn) forgetSession() {
	c.mu.Lock()
	c.session = session{Self: c.session.Self}
	c.mu.Unlock()
}

// readError says why reading ended: ctx, a close code, or the network.
func (c *Conn) readError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 4004, 4010, 4011, 4012, 4013, 4014:
			return &closeError{code: ce.Code}
		case 4007, 4009: // a bad sequence, a session timed out: identify anew
			c.forgetSession()
		}
		return fmt.Errorf("discord: the Gateway closed the connection with %d %s", ce.Code, ce.Text)
	}
	return fmt.Errorf("discord: reading the Gateway: %w", err)
}

// dispatch handles one event. READY and RESUMED report a session going;
// a DM's MESSAGE_CREATE is delivered before its sequence number counts.
func (c *Conn) dispatch(ctx context.Context, p payload, deliver func(context.Context, []connectors.Inbound) error) (bool, error) {
	going := false
	switch p.T {
	case "READY":
		var r ready
		if err := json.Unmarshal(p.D, &r); err != nil || r.SessionID == "" {
			return false, fmt.Errorf("discord: READY without a session_id")
		}
		c.mu.Lock()
		c.session = session{ID: r.SessionID, ResumeURL: r.ResumeGatewayURL, Self: r.User.ID}
		c.mu.Unlock()
		going = true
	case "RESUMED":
		going = true
	case "MESSAGE_CREATE":
		var m message
		if err := json.Unmarshal(p.D, &m); err != nil {
			c.log.Warn("discord: skipping a MESSAGE_CREATE that does not decode", "seq", p.S, "err", jsonError(err))
			break
		}
		c.mu.Lock()
		self := c.session.Self
		c.mu.Unlock()
		in, ok := c.inbound(&m, self)
		if !ok {
			break
		}
		if err := deliver(ctx, []connectors.Inbound{in}); err != nil {
			return going, fmt.Errorf("discord: delivering message %s: %w", m.ID, err)
		}
	}
	if p.S != nil {
		c.mu.Lock()
		c.session.Seq = *p.S
		c.mu.Unlock()
	}
	return going, nil
}

// Message types a person writes: DEFAULT and REPLY.
const (
	messageDefault = 0
	messageReply   = 19
)

// inbound makes the Inbound of a MESSAGE_CREATE, if it is a DM a person
// wrote: guild messages, bots' (this one's echoes included) and system
// messages are not the customer's.
func (c *Conn) inbound(m *message, self string) (connectors.Inbound, bool) {
	if m.ID == "" || m.ChannelID == "" || m.GuildID != "" || m.Author == nil || m.Author.ID == "" ||
		m.Author.Bot || m.Author.ID == self || (m.Type != messageDefault && m.Type != messageReply) {
		return connectors.Inbound{}, false
	}
	in := connectors.Inbound{
		PlatformID: m.ID, Channel: Channel, From: m.ChannelID, To: self, FromName: m.Author.name(), Text: m.Content,
		Attributes: map[string]any{"user_id": m.Author.ID, "username": m.Author.Username},
	}
	for _, a := range m.Attachments {
		if a.URL != "" {
			in.Media = append(in.Media, a.URL)
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, m.Timestamp); err == nil {
		in.At = t.UTC()
	} else {
		in.At = snowflakeTime(m.ID)
	}
	return in, true
}
