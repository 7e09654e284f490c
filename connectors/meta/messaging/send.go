package messaging

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Limits of the Send API's quick replies, the same on both channels.
const (
	MaxQuickReplies      = 13
	MaxQuickReplyTitle   = 20   // characters; Meta truncates a longer title
	MaxQuickReplyPayload = 1000 // characters
)

// The messaging_type values and the tag Requests uses.
const (
	TypeResponse   = "RESPONSE"
	TypeMessageTag = "MESSAGE_TAG"
	TagHumanAgent  = "HUMAN_AGENT"
)

// SendRequest is the body of POST /{id}/messages.
type SendRequest struct {
	Recipient     Recipient   `json:"recipient"`
	MessagingType string      `json:"messaging_type,omitempty"`
	Tag           string      `json:"tag,omitempty"`
	Message       SendMessage `json:"message"`
}

// Recipient addresses a customer by their Page- or Instagram-scoped id,
// or a chat plugin guest by their user_ref.
type Recipient struct {
	ID      string `json:"id,omitempty"`
	UserRef string `json:"user_ref,omitempty"`
}

// SendMessage is a text or one attachment, with quick replies.
type SendMessage struct {
	Text         string       `json:"text,omitempty"`
	Attachment   *Attachment  `json:"attachment,omitempty"`
	QuickReplies []QuickReply `json:"quick_replies,omitempty"`
}

// Attachment is a file sent by URL: Meta fetches it.
type Attachment struct {
	Type    string            `json:"type"` // image, video, audio or file
	Payload AttachmentPayload `json:"payload"`
}

// AttachmentPayload is an attachment's URL.
type AttachmentPayload struct {
	URL string `json:"url"`
}

// QuickReply is a button under a message; tapped, it comes back as a
// message whose quick_reply.payload is Payload and whose text is Title.
type QuickReply struct {
	ContentType string `json:"content_type"` // text
	Title       string `json:"title"`
	Payload     string `json:"payload"`
}

// SendResponse is the Send API's answer.
type SendResponse struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// TextLimit is how long one message's text may be on a channel, in
// UTF-16 code units (Messenger counts characters: an emoji outside the
// Basic Multilingual Plane is two) or in UTF-8 bytes (Instagram); Max 0
// is no limit. Requests cuts a longer text with connectors.SplitText.
type TextLimit struct {
	Max   int
	Bytes bool
}

// size is what r counts against the limit.
func (l TextLimit) size(r rune) int {
	if l.Bytes {
		return utf8.RuneLen(r)
	}
	return utf16.RuneLen(r)
}

// Style is how Requests renders a message for one instance.
type Style struct {
	Limit TextLimit
	// HumanAgent sends agent replies with the HUMAN_AGENT tag (see
	// AgentReply).
	HumanAgent bool
}

// AgentReply reports whether m is a live agent's reply (Outbound.Agent):
// only those may carry the HUMAN_AGENT tag.
func AgentReply(m *connectors.Outbound) bool { return m.Agent != "" }

// Requests renders m as the Send API bodies that carry it, in order: one
// message per media URL, then the text, cut into parts within s.Limit,
// the choices as quick replies on the last message, or as a numbered menu
// in the text when they do not fit quick replies. A Template is not
// rendered: these channels have none, so its Text is sent.
func Requests(m *connectors.Outbound, s Style) ([]SendRequest, error) {
	if m.To == "" {
		return nil, errors.New("outbound message has no recipient")
	}
	base := SendRequest{Recipient: recipient(m.To), MessagingType: TypeResponse}
	if s.HumanAgent && AgentReply(m) {
		base.MessagingType, base.Tag = TypeMessageTag, TagHumanAgent
	}
	text := m.Text
	replies, ok := QuickReplies(m.Choices)
	if !ok {
		text, replies = connectors.MenuText(text, m.Choices), nil
	}
	if text == "" && len(m.Media) == 0 && len(replies) > 0 {
		// Quick replies need a message to hang under.
		text, replies = connectors.MenuText("", m.Choices), nil
	}
	var out []SendRequest
	for _, u := range m.Media {
		kind, err := AttachmentType(u)
		if err != nil {
			return nil, err
		}
		r := base
		r.Message = SendMessage{Attachment: &Attachment{Type: kind, Payload: AttachmentPayload{URL: u}}}
		out = append(out, r)
	}
	// A blank text would be an empty message, which the Send API refuses.
	for _, part := range connectors.SplitText(strings.TrimSpace(text), s.Limit.Max, s.Limit.size) {
		r := base
		r.Message = SendMessage{Text: part}
		out = append(out, r)
	}
	switch {
	case len(out) == 0 && m.Template != nil:
		return nil, fmt.Errorf("template %q: this channel has no templates, and the message has no text to send instead", m.Template.Name)
	case len(out) == 0:
		return nil, errors.New("outbound message has no text or media")
	}
	out[len(out)-1].Message.QuickReplies = replies
	return out, nil
}

func recipient(to string) Recipient {
	if ref, ok := strings.CutPrefix(to, UserRefPrefix); ok {
		return Recipient{UserRef: ref}
	}
	return Recipient{ID: to}
}

// QuickReplies renders choices as quick replies; false when they do not
// fit: more than MaxQuickReplies, a title empty or longer than
// MaxQuickReplyTitle characters (Meta would cut it), an id empty or
// longer than MaxQuickReplyPayload.
func QuickReplies(choices []connectors.Choice) ([]QuickReply, bool) {
	if len(choices) == 0 {
		return nil, true
	}
	if len(choices) > MaxQuickReplies {
		return nil, false
	}
	out := make([]QuickReply, len(choices))
	for i, c := range choices {
		if n := utf8.RuneCountInString(c.Title); n == 0 || n > MaxQuickReplyTitle {
			return nil, false
		}
		if n := utf8.RuneCountInString(c.ID); n == 0 || n > MaxQuickReplyPayload {
			return nil, false
		}
		out[i] = QuickReply{ContentType: "text", Title: c.Title, Payload: c.ID}
	}
	return out, true
}

// attachmentTypes maps a URL's file extension to the Send API's
// attachment type; any other extension is sent as a file.
var attachmentTypes = map[string]string{
	".jpg": "image", ".jpeg": "image", ".png": "image", ".gif": "image", ".webp": "image", ".bmp": "image",
	".mp4": "video", ".mov": "video", ".m4v": "video", ".3gp": "video", ".webm": "video",
	".mp3": "audio", ".m4a": "audio", ".aac": "audio", ".ogg": "audio", ".oga": "audio", ".wav": "audio", ".opus": "audio",
}

// AttachmentType is the type of the attachment at u, by the extension of
// its path; u must be an absolute http or https URL, which Meta fetches.
func AttachmentType(u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return "", fmt.Errorf("media %q: want an absolute http or https URL that Meta can fetch", u)
	}
	if t, ok := attachmentTypes[strings.ToLower(path.Ext(pu.Path))]; ok {
		return t, nil
	}
	return "file", nil
}

// digest is a short stable key of s.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
