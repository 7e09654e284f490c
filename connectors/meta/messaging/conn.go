package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
)

// Options configure a Conn.
type Options struct {
	Name        string // the connector's name, in errors: "messenger"
	Object      string // ObjectPage or ObjectInstagram
	Channel     string
	AccountID   string // the entry id of the instance's webhooks
	SendPath    string // the Send API's path under the Graph version: "{page-id}/messages"
	Client      *graph.Client
	AppSecret   string
	VerifyToken string
	Style       Style
	// Reports says the platform sends delivery or read receipts that a
	// send the flow waits for can wait for (connectors.DeliveryReporter).
	Reports bool
	Logger  *slog.Logger
	Now     func() time.Time
}

// Conn is a Messenger or Instagram instance: connectors.Connector,
// Handshaker, DeliveryReporter and ChoiceRenderer.
type Conn struct {
	o      Options
	parser Parser
	ledger *ledger
}

// New returns the instance o describes. Logger and Now may be nil.
func New(o Options) *Conn {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Conn{o: o, ledger: newLedger(o.Now)}
	c.parser = Parser{Object: o.Object, Channel: o.Channel, AccountID: o.AccountID, Receipts: c.ledger, Log: o.Logger}
	return c
}

// Handshake answers Meta's hub.challenge verification with the instance's
// verify token.
func (c *Conn) Handshake(r *connectors.Request) (int, string, []byte, bool) {
	return graph.Handshake(r, c.o.VerifyToken)
}

// Receive checks X-Hub-Signature-256 over the raw body, then parses the
// events of the instance's account.
func (c *Conn) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if err := graph.VerifySignature(r, c.o.AppSecret); err != nil {
		return nil, err
	}
	if err := r.RequireMediaType("application/json"); err != nil {
		return nil, err
	}
	return c.parser.Parse(r.Body)
}

// ReportsDelivery is Options.Reports.
func (c *Conn) ReportsDelivery() bool { return c.o.Reports }

// RendersChoices is true on the instance's channel: choices become quick
// replies, or a numbered menu when they do not fit.
func (c *Conn) RendersChoices(channel string) bool { return channel == c.o.Channel }

// Send posts the message's parts (see Requests) to the Send API in order
// and returns the mid of the last. The parts Meta accepted are remembered
// by Key, so the outbox's retry after a failed part sends only the rest;
// the Send API takes no idempotency key, so a part whose answer was lost
// can arrive twice.
func (c *Conn) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if m.Key == "" {
		return "", connectors.Permanent(fmt.Errorf("%s: outbound message has no key", c.o.Name))
	}
	if m.Channel != "" && m.Channel != c.o.Channel {
		return "", fmt.Errorf("%s: channel %q: %w (this instance sends %s)", c.o.Name, m.Channel, connectors.ErrUnsupported, c.o.Channel)
	}
	reqs, err := Requests(m, c.o.Style)
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("%s: %w", c.o.Name, err))
	}
	var mid string
	for i, r := range reqs {
		key := m.Key + "#" + strconv.Itoa(i)
		if id, ok := c.ledger.accepted(key); ok {
			mid = id
			continue
		}
		start := c.o.Now()
		var resp SendResponse
		if err := c.o.Client.Post(ctx, c.o.SendPath, r, &resp); err != nil {
			if len(reqs) > 1 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(reqs), err)
			}
			return "", c.explain(err, r.Tag != "")
		}
		mid = resp.MessageID
		c.ledger.record(key, m.To, mid, start)
	}
	return mid, nil
}

// Meta's error codes and subcodes a contact center meets.
const (
	codeOutsideWindow    = 10
	subcodeMessenger     = 2018278 // Messenger: sent outside of allowed window
	subcodeInstagram     = 2534022 // Instagram: sent outside of allowed window
	codeUnavailable      = 551     // this person isn't available right now
	codeInvalidParameter = 100
	subcodeNoUser        = 2018001 // no matching user found
	codeTokenExpired     = 190
	codeTemporary        = 1200 // temporary send message failure
)

// explain says what Meta's error means to the people reading the dead
// letter, and makes the failures Meta calls temporary retried.
func (c *Conn) explain(err error, tagged bool) error {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return fmt.Errorf("%s: %w", c.o.Name, err)
	}
	var reason string
	switch {
	case ge.Code == codeOutsideWindow && (ge.Subcode == subcodeMessenger || ge.Subcode == subcodeInstagram) && tagged:
		reason = "more than 7 days since the customer's last message: not even the HUMAN_AGENT tag allows a reply"
	case ge.Code == codeOutsideWindow && (ge.Subcode == subcodeMessenger || ge.Subcode == subcodeInstagram):
		reason = "more than 24 hours since the customer's last message; enable human_agent_tag for agent replies"
	case ge.Code == codeUnavailable:
		reason = "the customer is unavailable: they blocked the account, deleted theirs or turned off messages"
	case ge.Code == codeInvalidParameter && ge.Subcode == subcodeNoUser:
		reason = "no such customer: the recipient is not an id scoped to this account"
	case ge.Code == codeTokenExpired:
		reason = "the access token is invalid or expired: set a new one"
	case ge.Code == codeTemporary:
		return fmt.Errorf("%s: %w", c.o.Name, ge) // not permanent, whatever the HTTP status
	default:
		return fmt.Errorf("%s: %w", c.o.Name, err)
	}
	return connectors.Permanent(fmt.Errorf("%s: %w: %s", c.o.Name, err, reason))
}
