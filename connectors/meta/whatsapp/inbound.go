package whatsapp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// notification is the body Meta POSTs: CHANNELS.md §3, Meta's "messages"
// webhook reference.
type notification struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"` // the WhatsApp Business Account
		Changes []struct {
			Field string      `json:"field"`
			Value changeValue `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type changeValue struct {
	Product  string `json:"messaging_product"`
	Metadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []contact    `json:"contacts"`
	Messages []message    `json:"messages"`
	Statuses []status     `json:"statuses"`
	Errors   []errorEntry `json:"errors"`
}

type contact struct {
	WaID    string `json:"wa_id"`
	UserID  string `json:"user_id"` // the business-scoped user id (BSUID)
	Profile struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"profile"`
}

type message struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Context   *struct {
		From                string `json:"from"`
		ID                  string `json:"id"`
		Forwarded           bool   `json:"forwarded"`
		FrequentlyForwarded bool   `json:"frequently_forwarded"`
	} `json:"context"`
	Referral map[string]any `json:"referral"`
	Text     *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *mediaObject `json:"image"`
	Video    *mediaObject `json:"video"`
	Audio    *mediaObject `json:"audio"`
	Document *mediaObject `json:"document"`
	Sticker  *mediaObject `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
		URL       string  `json:"url"`
	} `json:"location"`
	Contacts []any `json:"contacts"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Errors []errorEntry `json:"errors"`
}

type mediaObject struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Animated *bool  `json:"animated"`
	Voice    *bool  `json:"voice"`
}

type status struct {
	ID           string       `json:"id"`
	Status       string       `json:"status"`
	Timestamp    string       `json:"timestamp"`
	RecipientID  string       `json:"recipient_id"`
	RecipientBSU string       `json:"recipient_user_id"` // a send to a business-scoped user id
	Errors       []errorEntry `json:"errors"`
	Conversation *struct {
		ID     string `json:"id"`
		Origin struct {
			Type string `json:"type"`
		} `json:"origin"`
	} `json:"conversation"`
	Pricing *struct {
		Category string `json:"category"`
	} `json:"pricing"`
}

type errorEntry struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// reported are the statuses that become an Inbound.
var reported = map[string]bool{"sent": true, "delivered": true, "read": true, "failed": true}

// parse turns a verified body into its Inbounds, and the media ids to
// fetch. What is not for this instance, or not something a flow handles,
// is logged and left out: an error would make Meta send it again for
// days.
func (c *connector) parse(body []byte) ([]connectors.Inbound, []string, error) {
	var n notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, nil, connectors.Errorf(http.StatusBadRequest, "malformed notification: %v", err)
	}
	if n.Object != "whatsapp_business_account" {
		return nil, nil, connectors.Errorf(http.StatusBadRequest, "object %q: want whatsapp_business_account (is the callback URL of another product?)", n.Object)
	}
	var out []connectors.Inbound
	var media []string
	for _, e := range n.Entry {
		for _, ch := range e.Changes {
			v := &ch.Value
			switch {
			case ch.Field != "messages":
				c.log.Info("webhook field ignored: subscribe the app to messages only", "field", ch.Field, "waba", e.ID)
				continue
			case v.Metadata.PhoneNumberID != c.phoneID:
				c.log.Info("notification for another phone number ignored", "phone_number_id", v.Metadata.PhoneNumberID, "waba", e.ID)
				continue
			}
			for _, er := range v.Errors {
				c.log.Warn("WhatsApp reported an error", "code", er.Code, "error", describe(er))
			}
			for i := range v.Messages {
				in, mediaID, ok := c.message(v, &v.Messages[i])
				if !ok {
					continue
				}
				out = append(out, in)
				if mediaID != "" {
					media = append(media, mediaID)
				}
			}
			for i := range v.Statuses {
				if in, ok := c.status(v, &v.Statuses[i]); ok {
					out = append(out, in)
				}
			}
		}
	}
	return out, media, nil
}

// message turns one message into an Inbound; ok is false for what is
// acknowledged and logged only.
func (c *connector) message(v *changeValue, m *message) (in connectors.Inbound, mediaID string, ok bool) {
	ct := contactOf(v, m.From)
	from := m.From
	if from == "" {
		from = ct.WaID
	}
	if from == "" {
		from = ct.UserID
	}
	if m.ID == "" || from == "" {
		c.log.Warn("message without id or sender ignored", "type", m.Type)
		return in, "", false
	}
	in = connectors.Inbound{PlatformID: m.ID, Channel: Channel, From: from, To: address(v.Metadata.DisplayPhoneNumber),
		FromName: ct.Profile.Name, At: unixTime(m.Timestamp), Attributes: map[string]any{"message_type": m.Type,
			"phone_number_id": v.Metadata.PhoneNumberID}}
	if digits(from) {
		// A number in E.164, as the other phone channels write it: the
		// sender is then one contact with its calls and texts.
		in.From, in.Phone = "+"+from, "+"+from
		in.Attributes["wa_id"] = from
	}
	setString(in.Attributes, "user_id", ct.UserID)
	setString(in.Attributes, "username", ct.Profile.Username)
	if m.Context != nil {
		setString(in.Attributes, "context", m.Context.ID)
		setString(in.Attributes, "context_from", m.Context.From)
		if m.Context.Forwarded || m.Context.FrequentlyForwarded {
			in.Attributes["forwarded"] = true
		}
		if m.Context.FrequentlyForwarded {
			in.Attributes["frequently_forwarded"] = true
		}
	}
	if len(m.Referral) > 0 {
		in.Attributes["referral"] = m.Referral
	}
	if !c.content(&in, m) {
		c.log.Info("message type not handled: acknowledged", "type", m.Type, "id", m.ID, "error", firstError(m.Errors))
		return in, "", false
	}
	if obj := m.media(); obj != nil && validMediaID(obj.ID) {
		mediaID = obj.ID
		in.Media = []string{c.media.link(obj.ID)}
	}
	return in, mediaID, true
}

// content fills in Text, Choice and the type's attributes; false for a
// type a flow does not handle (system, unsupported, unknown).
func (c *connector) content(in *connectors.Inbound, m *message) bool {
	a := in.Attributes
	switch {
	case m.Type == "text" && m.Text != nil:
		in.Text = m.Text.Body
	case m.media() != nil:
		obj := m.media()
		in.Text = obj.Caption
		setString(a, "media_id", obj.ID)
		setString(a, "mime_type", obj.MimeType)
		setString(a, "sha256", obj.SHA256)
		setString(a, "filename", obj.Filename)
		if obj.Animated != nil {
			a["animated"] = *obj.Animated
		}
		if obj.Voice != nil {
			a["voice"] = *obj.Voice
		}
	case m.Type == "location" && m.Location != nil:
		l := m.Location
		a["latitude"], a["longitude"] = l.Latitude, l.Longitude
		setString(a, "label", l.Name)
		setString(a, "address", l.Address)
		setString(a, "location_url", l.URL)
	case m.Type == "contacts" && len(m.Contacts) > 0:
		a["contacts"] = m.Contacts
	case m.Type == "reaction" && m.Reaction != nil:
		in.Text = m.Reaction.Emoji
		a["reaction"] = m.Reaction.Emoji
		setString(a, "reaction_message_id", m.Reaction.MessageID)
	case m.Type == "interactive" && m.Interactive != nil && m.Interactive.ButtonReply != nil:
		in.Choice, in.Text = m.Interactive.ButtonReply.ID, m.Interactive.ButtonReply.Title
	case m.Type == "interactive" && m.Interactive != nil && m.Interactive.ListReply != nil:
		r := m.Interactive.ListReply
		in.Choice, in.Text = r.ID, r.Title
		setString(a, "choice_description", r.Description)
	case m.Type == "button" && m.Button != nil:
		in.Choice, in.Text = m.Button.Payload, m.Button.Text
		if in.Choice == "" {
			in.Choice = m.Button.Text
		}
	default:
		return false
	}
	return true
}

// media is the message's media object, if its type has one.
func (m *message) media() *mediaObject {
	switch m.Type {
	case "image":
		return m.Image
	case "video":
		return m.Video
	case "audio":
		return m.Audio
	case "document":
		return m.Document
	case "sticker":
		return m.Sticker
	}
	return nil
}

// status turns one status into an Inbound reporting on a sent message.
func (c *connector) status(v *changeValue, s *status) (connectors.Inbound, bool) {
	from := s.RecipientID
	if from == "" {
		from = s.RecipientBSU
	}
	if !reported[s.Status] || s.ID == "" || from == "" {
		c.log.Info("status not reported to flows", "status", s.Status, "id", s.ID)
		return connectors.Inbound{}, false
	}
	in := connectors.Inbound{PlatformID: s.ID + "/" + s.Status, Channel: Channel, From: from,
		To: address(v.Metadata.DisplayPhoneNumber), At: unixTime(s.Timestamp),
		Status:     &connectors.DeliveryStatus{PlatformID: s.ID, Status: s.Status},
		Attributes: map[string]any{"message_id": s.ID, "message_status": s.Status, "phone_number_id": v.Metadata.PhoneNumberID}}
	if digits(s.RecipientID) {
		in.From, in.Phone = "+"+s.RecipientID, "+"+s.RecipientID
		in.Attributes["wa_id"] = s.RecipientID
	}
	setString(in.Attributes, "user_id", s.RecipientBSU)
	if s.Conversation != nil {
		setString(in.Attributes, "conversation_id", s.Conversation.ID)
		setString(in.Attributes, "conversation_origin", s.Conversation.Origin.Type)
	}
	if s.Pricing != nil {
		setString(in.Attributes, "pricing_category", s.Pricing.Category)
	}
	if len(s.Errors) > 0 {
		in.Status.Error = describe(s.Errors[0])
		in.Attributes["error_code"] = s.Errors[0].Code
	} else if s.Status == "failed" {
		in.Status.Error = "WhatsApp reported the message failed without a reason"
	}
	return in, true
}

// contactOf is the contact entry of a message's sender: the one whose
// wa_id is from, else the only one.
func contactOf(v *changeValue, from string) contact {
	for _, ct := range v.Contacts {
		if from != "" && ct.WaID == from {
			return ct
		}
	}
	if len(v.Contacts) == 1 && (from == "" || v.Contacts[0].WaID == "") {
		return v.Contacts[0]
	}
	return contact{}
}

// address is a display phone number as flows see it: in E.164.
func address(display string) string {
	d := strings.NewReplacer(" ", "", "-", "", "+", "").Replace(display)
	if digits(d) {
		return "+" + d
	}
	return display
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unixTime reads Meta's timestamp, seconds as a string; zero when absent
// or unreadable.
func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func setString(a map[string]any, k, v string) {
	if v != "" {
		a[k] = v
	}
}

func firstError(es []errorEntry) string {
	if len(es) == 0 {
		return ""
	}
	return describe(es[0])
}
