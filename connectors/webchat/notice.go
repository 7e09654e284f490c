package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Notify shows the visitor what happens to the conversation: a notice
// (queued, joined, left, closed) goes into the mailbox like a message, so
// a reload and the visitor's other tabs show it too, once per Key; typing
// goes to the visitor's open sockets only, on every node, and is kept
// nowhere.
func (c *Connector) Notify(ctx context.Context, n *connectors.Notice) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validVisitorID(n.To) {
		return connectors.Permanent(fmt.Errorf("webchat: %q is not a visitor id", n.To))
	}
	switch n.Kind {
	case connectors.NoticeTyping:
		c.hub.signal(n.To, typingFrame(n.AgentName))
		if c.relay != nil {
			b, _ := json.Marshal(relayed{To: n.To, Typing: n.AgentName})
			// Best effort, like the frame itself.
			_ = c.relay.Publish(ctx, c.relayTopic(), b)
		}
		return nil
	case connectors.NoticeQueued, connectors.NoticeJoined, connectors.NoticeLeft, connectors.NoticeClosed:
	default:
		return nil // a notice this page does not know: nothing to show
	}
	if n.Key == "" {
		return connectors.Permanent(errors.New("webchat: notice has no key"))
	}
	at := n.At
	if at.IsZero() {
		at = c.now()
	}
	m := Message{From: FromSystem, Kind: string(n.Kind), Agent: n.AgentName, Position: n.Position,
		WaitSeconds: int(n.Wait / time.Second), At: at.UTC(), key: "notice:" + n.Key}
	if _, _, err := c.deliver(n.To, m); err != nil {
		return fmt.Errorf("%w: %w", connectors.ErrNotConnected, err)
	}
	return nil
}

// typingFrame is the socket frame saying that agent is typing.
func typingFrame(agent string) []byte { return encodeFrame(frame{Type: "typing", Agent: agent}) }
