package webchat

import (
	"context"
	"encoding/json"
	"time"
)

// Several runtime nodes each hold the mailboxes of the visitors whose pages
// they serve; a delivery made on one node (the outbox worker that sent a
// reply, the webhook that echoed a visitor's message) is published on the
// relay, and every node delivers it into its own hub. Keys make a message
// arrive once per mailbox, whichever way it came.

// relayed is a delivery on the relay.
type relayed struct {
	To  string  `json:"to"`
	Key string  `json:"key"`
	Msg Message `json:"msg"`
	// Typing, instead of a delivery, is a "typing" frame's agent.
	Typing string `json:"typing,omitempty"`
}

func (c *Connector) relayTopic() string { return "webchat/" + c.instance }

// deliver puts m in the visitor's mailbox here and, through the relay, on
// the other nodes.
func (c *Connector) deliver(visitor string, m Message) (Message, string, error) {
	stored, epoch, dup, err := c.hub.deliver(visitor, m)
	if err != nil || dup || c.relay == nil {
		return stored, epoch, err
	}
	b, _ := json.Marshal(relayed{To: visitor, Key: m.key, Msg: m})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.relay.Publish(ctx, c.relayTopic(), b); err != nil {
		// Delivered here; the other nodes' visitors see it in the history.
		c.log.Warn("webchat: relaying a delivery to the other nodes", "err", err)
	}
	return stored, epoch, nil
}

// receiveRelayed delivers what the other nodes published, until the
// subscription ends.
func (c *Connector) receiveRelayed(payloads <-chan []byte) {
	defer close(c.relayDone)
	for p := range payloads {
		var r relayed
		if err := json.Unmarshal(p, &r); err == nil && r.Typing != "" && validVisitorID(r.To) {
			c.hub.signal(r.To, typingFrame(r.Typing))
			continue
		}
		if err := json.Unmarshal(p, &r); err != nil || !validVisitorID(r.To) || r.Key == "" {
			c.log.Warn("webchat: unreadable relayed delivery", "err", err)
			continue
		}
		m := r.Msg
		m.Seq, m.key = 0, r.Key
		_, _, _, _ = c.hub.deliver(r.To, m)
	}
}
