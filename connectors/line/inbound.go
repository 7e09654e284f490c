package line

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// callback is the webhook's body (line-openapi webhook.yml
// CallbackRequest): the bot's user id and the events, possibly none
// (LINE's connectivity check).
type callback struct {
	Destination string   `json:"destination"`
	Events      *[]event `json:"events"`
}

// event holds the fields of the webhook events the connector reads, in
// one shape for every type.
type event struct {
	Type            string `json:"type"`
	Mode            string `json:"mode"`
	Timestamp       int64  `json:"timestamp"`
	WebhookEventID  string `json:"webhookEventId"`
	ReplyToken      string `json:"replyToken"`
	DeliveryContext struct {
		IsRedelivery bool `json:"isRedelivery"`
	} `json:"deliveryContext"`
	Source struct {
		Type    string `json:"type"`
		UserID  string `json:"userId"`
		GroupID string `json:"groupId"`
		RoomID  string `json:"roomId"`
	} `json:"source"`
	Message  *message `json:"message"`
	Postback *struct {
		Data   string            `json:"data"`
		Params map[string]string `json:"params"`
	} `json:"postback"`
}

// message is a message event's message object, every type's fields.
type message struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	Text            string `json:"text"`
	QuoteToken      string `json:"quoteToken"`
	QuotedMessageID string `json:"quotedMessageId"`
	ContentProvider struct {
		Type               string `json:"type"`
		OriginalContentURL string `json:"originalContentUrl"`
	} `json:"contentProvider"`
	Duration  int64    `json:"duration"`
	FileName  string   `json:"fileName"`
	FileSize  int64    `json:"fileSize"`
	Title     string   `json:"title"`
	Address   string   `json:"address"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	PackageID string   `json:"packageId"`
	StickerID string   `json:"stickerId"`
	Keywords  []string `json:"keywords"`
}

// parse turns the webhook's events into Inbound messages: one per message
// or postback event in active mode; the others are logged.
func (c *connector) parse(body []byte) ([]connectors.Inbound, error) {
	var cb callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "body is not LINE's webhook JSON: %v", err)
	}
	if cb.Events == nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "body has no events array")
	}
	var out []connectors.Inbound
	for i, e := range *cb.Events {
		if e.Type != "message" && e.Type != "postback" {
			c.log.Info("event acknowledged", "type", e.Type, "webhook_event_id", e.WebhookEventID, "source", e.Source.Type)
			continue
		}
		if e.Mode == "standby" {
			// Another channel (a module) owns the chat: it answers, not us.
			c.log.Info("standby event acknowledged", "type", e.Type, "webhook_event_id", e.WebhookEventID)
			continue
		}
		in, err := c.inbound(cb.Destination, &e)
		if err != nil {
			return nil, connectors.Errorf(http.StatusBadRequest, "event %d (%s): %v", i, e.Type, err)
		}
		if e.ReplyToken != "" && !e.DeliveryContext.IsRedelivery {
			c.replies.put(in.From, e.ReplyToken)
		}
		out = append(out, in)
	}
	return out, nil
}

type fieldError string

func (e fieldError) Error() string { return string(e) }

// inbound is the Inbound of a message or postback event.
func (c *connector) inbound(destination string, e *event) (connectors.Inbound, error) {
	from, attrs := e.Source.UserID, map[string]any{"source_type": e.Source.Type, "event_type": e.Type,
		"is_redelivery": e.DeliveryContext.IsRedelivery}
	switch e.Source.Type {
	case "group":
		from, attrs["group_id"] = e.Source.GroupID, e.Source.GroupID
	case "room":
		from, attrs["room_id"] = e.Source.RoomID, e.Source.RoomID
	}
	if e.Source.UserID != "" {
		attrs["user_id"] = e.Source.UserID
	}
	if from == "" {
		return connectors.Inbound{}, fieldError("source has no userId, groupId or roomId")
	}
	in := connectors.Inbound{PlatformID: e.WebhookEventID, Channel: Channel, From: from, To: destination, Attributes: attrs}
	if e.Timestamp > 0 {
		in.At = time.UnixMilli(e.Timestamp).UTC()
	}
	if e.Type == "postback" {
		if e.Postback == nil || e.Postback.Data == "" {
			return connectors.Inbound{}, fieldError("postback has no data")
		}
		in.Choice, in.Text = e.Postback.Data, c.title(from, e.Postback.Data)
		for k, v := range e.Postback.Params {
			attrs["postback_"+k] = v
		}
		if in.PlatformID == "" {
			return connectors.Inbound{}, fieldError("postback has no webhookEventId")
		}
		return in, nil
	}
	m := e.Message
	if m == nil || m.ID == "" {
		return connectors.Inbound{}, fieldError("message has no id")
	}
	if in.PlatformID == "" {
		in.PlatformID = "message:" + m.ID // webhooks before webhookEventId existed
	}
	attrs["message_type"], attrs["message_id"] = m.Type, m.ID
	c.message(&in, m)
	return in, nil
}

// message fills in the content of a message of any type.
func (c *connector) message(in *connectors.Inbound, m *message) {
	attrs := in.Attributes
	set := func(k, v string) {
		if v != "" {
			attrs[k] = v
		}
	}
	set("quote_token", m.QuoteToken)
	set("quoted_message_id", m.QuotedMessageID)
	switch m.Type {
	case "text":
		in.Text = m.Text
	case "image", "video", "audio", "file":
		if m.ContentProvider.Type == "external" && m.ContentProvider.OriginalContentURL != "" {
			in.Media = []string{m.ContentProvider.OriginalContentURL}
		} else {
			in.Media = []string{c.content.link(m.ID)}
			c.content.fetch(m.ID)
		}
		set("file_name", m.FileName)
		if m.FileSize > 0 {
			attrs["file_size"] = m.FileSize
		}
		if m.Duration > 0 {
			attrs["duration_ms"] = m.Duration
		}
	case "location":
		set("title", m.Title)
		set("address", m.Address)
		if m.Latitude != nil && m.Longitude != nil {
			attrs["latitude"], attrs["longitude"] = *m.Latitude, *m.Longitude
		}
	case "sticker":
		set("package_id", m.PackageID)
		set("sticker_id", m.StickerID)
		if len(m.Keywords) > 0 {
			attrs["keywords"] = m.Keywords
		}
	}
}

// title is the title of the choice data last offered to recipient, or
// data itself: LINE's postback carries only the data.
func (c *connector) title(recipient, data string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o, ok := c.offered[recipient]; ok && c.now().Sub(o.at) <= offerTTL {
		if t, ok := o.titles[data]; ok {
			return t
		}
	}
	return data
}

// remember keeps the titles of the choices offered to recipient.
func (c *connector) remember(recipient string, choices []connectors.Choice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.offered) >= maxRemembered {
		for k, o := range c.offered {
			if now.Sub(o.at) > offerTTL || len(c.offered) >= maxRemembered {
				delete(c.offered, k)
			}
		}
	}
	titles := make(map[string]string, len(choices))
	for _, ch := range choices {
		titles[ch.ID] = ch.Title
	}
	c.offered[recipient] = offer{titles: titles, at: now}
}
