package messaging

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Objects of the webhooks: Messenger's and Instagram's.
const (
	ObjectPage      = "page"
	ObjectInstagram = "instagram"
)

// notification is a webhook's body. The events stay raw until the entry
// is known to be this instance's, and so that an event of an unknown kind
// can be logged by its fields.
type notification struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID        string            `json:"id"`
	Time      int64             `json:"time"`
	Messaging []json.RawMessage `json:"messaging"`
	// Standby are the events of threads another app controls (the
	// Handover Protocol); Changes are Instagram's non-messaging fields
	// (comments, mentions). Neither is taken: they are counted in the log.
	Standby []json.RawMessage `json:"standby"`
	Changes []json.RawMessage `json:"changes"`
}

// event is one element of entry.messaging, with the fields of the kinds
// Parse takes.
type event struct {
	Sender    party      `json:"sender"`
	Recipient party      `json:"recipient"`
	Timestamp int64      `json:"timestamp"`
	Message   *message   `json:"message"`
	Postback  *postback  `json:"postback"`
	Reaction  *reaction  `json:"reaction"`
	Delivery  *watermark `json:"delivery"`
	Read      *watermark `json:"read"`
}

// party is a sender or recipient: a Page- or Instagram-scoped id, or the
// user_ref of a chat plugin's guest.
type party struct {
	ID      string `json:"id"`
	UserRef string `json:"user_ref"`
}

type message struct {
	Mid           string       `json:"mid"`
	Text          string       `json:"text"`
	IsEcho        bool         `json:"is_echo"`
	IsDeleted     bool         `json:"is_deleted"`
	IsUnsupported bool         `json:"is_unsupported"`
	QuickReply    *quickReply  `json:"quick_reply"`
	ReplyTo       *replyTo     `json:"reply_to"`
	Attachments   []attachment `json:"attachments"`
}

type quickReply struct {
	Payload string `json:"payload"`
}

type replyTo struct {
	Mid   string `json:"mid"`
	Story *struct {
		URL string `json:"url"`
		ID  string `json:"id"`
	} `json:"story"`
}

type attachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL       string      `json:"url"`
		Title     string      `json:"title"`
		StickerID json.Number `json:"sticker_id"`
	} `json:"payload"`
}

type postback struct {
	Mid      string    `json:"mid"`
	Title    string    `json:"title"`
	Payload  string    `json:"payload"`
	Referral *referral `json:"referral"`
}

type referral struct {
	Ref    string `json:"ref"`
	Source string `json:"source"`
	Type   string `json:"type"`
}

type reaction struct {
	Mid      string `json:"mid"`
	Action   string `json:"action"`
	Reaction string `json:"reaction"`
	Emoji    string `json:"emoji"`
}

// watermark is a delivery or read receipt: Messenger's names the messages
// (mids, a delivery's, when the client is recent) or only the time before
// which all were delivered or read (watermark); Instagram's read receipt
// (messaging_seen) names one message (mid).
type watermark struct {
	Mids      []string `json:"mids"`
	Mid       string   `json:"mid"`
	Watermark int64    `json:"watermark"`
}

// Receipts finds the messages a watermark receipt covers: those sent to
// recipient at or before at that were not yet reported with status.
type Receipts interface {
	Covered(recipient string, at time.Time, status string) []string
}

// Parser turns the webhooks of one account into Inbound messages.
type Parser struct {
	Object    string // ObjectPage or ObjectInstagram
	Channel   string // the Inbound messages' channel
	AccountID string // the entry id of this instance's events: the Page's or the Instagram account's id
	Receipts  Receipts
	Log       *slog.Logger
}

// Parse reads a verified webhook body. A body that is not JSON, or not a
// notification of p.Object, is a 400 *connectors.StatusError; an event
// that lacks what its kind needs, or of a kind Parse does not take, or of
// another account, is logged and skipped: Meta would only send it again.
func (p *Parser) Parse(body []byte) ([]connectors.Inbound, error) {
	var n notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, jsonError("the notification", err)
	}
	if n.Object != p.Object {
		return nil, connectors.Errorf(http.StatusBadRequest, "object %q: this webhook takes %q notifications", n.Object, p.Object)
	}
	var out []connectors.Inbound
	for i, e := range n.Entry {
		at := "entry[" + strconv.Itoa(i) + "]"
		if e.ID != p.AccountID {
			p.Log.Info("skipped an entry of another account", "entry", at, "id", e.ID, "events", len(e.Messaging))
			continue
		}
		if len(e.Standby)+len(e.Changes) > 0 {
			p.Log.Info("skipped standby events and changes", "entry", at, "standby", len(e.Standby), "changes", len(e.Changes))
		}
		for j, raw := range e.Messaging {
			where := at + ".messaging[" + strconv.Itoa(j) + "]"
			var ev event
			if err := json.Unmarshal(raw, &ev); err != nil {
				p.Log.Warn("skipped an event that does not decode", "event", where, "error", decodeError(where, err))
				continue
			}
			in, err := p.event(&ev)
			if errors.Is(err, errOtherKind) {
				p.Log.Info("skipped an event of a kind this connector does not take", "event", where, "fields", fields(raw))
				continue
			}
			if err != nil {
				p.Log.Warn("skipped an event", "event", where, "reason", err)
				continue
			}
			out = append(out, in...)
		}
	}
	return out, nil
}

// errOtherKind is an event of none of the kinds Parse takes: an opt-in, a
// referral, a hand-over, a message edit.
var errOtherKind = errors.New("an event of another kind")

// event converts one event; nil, nil for one that is no message (an echo).
func (p *Parser) event(ev *event) ([]connectors.Inbound, error) {
	from := ev.Sender.ID
	if from == "" && ev.Sender.UserRef != "" {
		from = UserRefPrefix + ev.Sender.UserRef
	}
	switch {
	case ev.Message != nil && ev.Message.IsEcho:
		return nil, nil
	case from == "":
		return nil, errors.New("no sender.id")
	case ev.Message != nil:
		return p.message(ev, from)
	case ev.Postback != nil:
		return p.postback(ev, from), nil
	case ev.Reaction != nil:
		return p.reaction(ev, from)
	case ev.Delivery != nil:
		return p.receipt(ev, from, ev.Delivery, StatusDelivered), nil
	case ev.Read != nil:
		return p.receipt(ev, from, ev.Read, StatusRead), nil
	}
	return nil, errOtherKind
}

// UserRefPrefix starts the From of a chat plugin's guest, who has a
// user_ref rather than an id; Send addresses such a recipient by it.
const UserRefPrefix = "user_ref:"

// The statuses of receipts.
const (
	StatusDelivered = "delivered"
	StatusRead      = "read"
)

// base is what every Inbound of ev has.
func (p *Parser) base(ev *event, from, kind string) connectors.Inbound {
	in := connectors.Inbound{Channel: p.Channel, From: from, To: ev.Recipient.ID, Attributes: map[string]any{"event": kind}}
	if ev.Timestamp > 0 {
		in.At = time.UnixMilli(ev.Timestamp).UTC()
	}
	return in
}

func (p *Parser) message(ev *event, from string) ([]connectors.Inbound, error) {
	m := ev.Message
	switch {
	case m.Mid == "":
		return nil, errors.New("a message without mid")
	case m.IsDeleted:
		// The customer unsent a message: its mid is the one already taken.
		p.Log.Info("a message was unsent", "mid", m.Mid, "from", from)
		return nil, nil
	}
	in := p.base(ev, from, "message")
	in.PlatformID, in.Text = m.Mid, m.Text
	in.Attributes["mid"] = m.Mid
	if m.QuickReply != nil {
		in.Choice = m.QuickReply.Payload
	}
	if r := m.ReplyTo; r != nil {
		if r.Mid != "" {
			in.Attributes["reply_to_mid"] = r.Mid
		}
		if r.Story != nil {
			in.Attributes["reply_to_story_id"] = r.Story.ID
			in.Attributes["reply_to_story_url"] = r.Story.URL
		}
	}
	if m.IsUnsupported {
		in.Attributes["unsupported"] = true
	}
	if len(m.Attachments) > 0 {
		types := make([]any, 0, len(m.Attachments))
		for _, a := range m.Attachments {
			types = append(types, a.Type)
			if a.Payload.URL != "" {
				in.Media = append(in.Media, a.Payload.URL)
			}
			if a.Payload.StickerID != "" {
				in.Attributes["sticker_id"] = a.Payload.StickerID.String()
			}
			if a.Payload.Title != "" && in.Attributes["attachment_title"] == nil {
				in.Attributes["attachment_title"] = a.Payload.Title
			}
		}
		in.Attributes["attachment_types"] = types
	}
	return []connectors.Inbound{in}, nil
}

func (p *Parser) postback(ev *event, from string) []connectors.Inbound {
	pb := ev.Postback
	in := p.base(ev, from, "postback")
	in.Text, in.Choice = pb.Title, pb.Payload
	in.PlatformID = pb.Mid
	if pb.Mid != "" {
		in.Attributes["mid"] = pb.Mid
	} else {
		// Postbacks before Graph v11 carry no mid: the same tap has the
		// same sender, time and payload when Meta sends it again.
		in.PlatformID = "postback:" + from + ":" + strconv.FormatInt(ev.Timestamp, 10) + ":" + digest(pb.Payload)
	}
	if r := pb.Referral; r != nil {
		in.Attributes["referral_ref"] = r.Ref
		in.Attributes["referral_source"] = r.Source
		in.Attributes["referral_type"] = r.Type
	}
	return []connectors.Inbound{in}
}

func (p *Parser) reaction(ev *event, from string) ([]connectors.Inbound, error) {
	r := ev.Reaction
	if r.Mid == "" {
		return nil, errors.New("a reaction without mid")
	}
	in := p.base(ev, from, "reaction")
	// A reaction has no id of its own: the customer's action on a message
	// at a time is one event.
	in.PlatformID = "reaction:" + r.Mid + ":" + from + ":" + r.Action + ":" + strconv.FormatInt(ev.Timestamp, 10)
	in.Attributes["mid"] = r.Mid
	in.Attributes["reaction_action"] = r.Action
	if r.Reaction != "" {
		in.Attributes["reaction"] = r.Reaction
	}
	if r.Emoji != "" {
		in.Attributes["emoji"] = r.Emoji
	}
	return []connectors.Inbound{in}, nil
}

// receipt turns a delivery or read receipt into one report per message
// it covers: the mids it names, else those Receipts knows were sent
// before its watermark.
func (p *Parser) receipt(ev *event, from string, w *watermark, status string) []connectors.Inbound {
	mids := w.Mids
	if w.Mid != "" {
		mids = append(mids, w.Mid)
	}
	var at time.Time
	switch {
	case w.Watermark > 0:
		at = time.UnixMilli(w.Watermark).UTC()
	case ev.Timestamp > 0:
		at = time.UnixMilli(ev.Timestamp).UTC()
	}
	if len(mids) == 0 && w.Watermark > 0 && p.Receipts != nil {
		mids = p.Receipts.Covered(from, at, status)
	}
	out := make([]connectors.Inbound, 0, len(mids))
	for _, mid := range mids {
		if mid == "" {
			continue
		}
		in := p.base(ev, from, status)
		in.At = at
		in.PlatformID = mid + "/" + status
		in.Status = &connectors.DeliveryStatus{PlatformID: mid, Status: status}
		in.Attributes["mid"] = mid
		if w.Watermark > 0 {
			in.Attributes["watermark"] = w.Watermark
		}
		out = append(out, in)
	}
	return out
}

// fields lists the top-level fields of an event, for the log of one
// Parse does not take.
func fields(raw json.RawMessage) []string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonError says where in the body a decoding error is, as a 400.
func jsonError(what string, err error) error {
	return connectors.Errorf(http.StatusBadRequest, "%w", decodeError(what, err))
}

// decodeError says where in the JSON a decoding error is.
func decodeError(what string, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%s is not JSON: %v at byte %d", what, se, se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the body"
		}
		return fmt.Errorf("%s: %s is a JSON %s (read up to byte %d), want %s", what, field, te.Value, te.Offset, te.Type)
	}
	return fmt.Errorf("%s: %w", what, err)
}
