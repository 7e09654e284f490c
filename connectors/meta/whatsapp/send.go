package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/connectors"
)

// WhatsApp's limits on what Send makes.
const (
	MaxText         = 4096 // a text message's body
	MaxCaption      = 1024 // a media's caption
	MaxBody         = 1024 // an interactive message's body
	MaxButtons      = 3    // reply buttons
	MaxButtonTitle  = 20
	MaxButtonID     = 256
	MaxRows         = 10 // rows of a list, over all its sections
	MaxRowTitle     = 24
	MaxRowID        = 200
	MaxRowDesc      = 72
	MaxListButton   = 20 // the label of the button that opens a list
	DefaultListMenu = "Options"
)

// outMessage is the Cloud API's message object (POST
// /{phone-number-id}/messages), in the order Meta documents its fields.
type outMessage struct {
	Product       string       `json:"messaging_product"`
	RecipientType string       `json:"recipient_type"`
	To            string       `json:"to,omitempty"`
	Recipient     string       `json:"recipient,omitempty"` // a business-scoped user id, for a customer known by no number
	Type          string       `json:"type"`
	Text          *outText     `json:"text,omitempty"`
	Image         *outMedia    `json:"image,omitempty"`
	Video         *outMedia    `json:"video,omitempty"`
	Audio         *outMedia    `json:"audio,omitempty"`
	Document      *outMedia    `json:"document,omitempty"`
	Sticker       *outMedia    `json:"sticker,omitempty"`
	Template      *outTemplate `json:"template,omitempty"`
	Interactive   *interactive `json:"interactive,omitempty"`
}

type outText struct {
	PreviewURL bool   `json:"preview_url"`
	Body       string `json:"body"`
}

type outMedia struct {
	Link     string `json:"link"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type outTemplate struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []component `json:"components,omitempty"`
}

type component struct {
	Type       string      `json:"type"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type string `json:"type"`
	Name string `json:"parameter_name,omitempty"`
	Text string `json:"text"`
}

type interactive struct {
	Type string `json:"type"`
	Body struct {
		Text string `json:"text"`
	} `json:"body"`
	Action action `json:"action"`
}

type action struct {
	Button   string    `json:"button,omitempty"`
	Buttons  []button  `json:"buttons,omitempty"`
	Sections []section `json:"sections,omitempty"`
}

type button struct {
	Type  string `json:"type"`
	Reply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"reply"`
}

type section struct {
	Title string `json:"title,omitempty"`
	Rows  []row  `json:"rows"`
}

type row struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// sendAnswer is the Cloud API's answer to a send.
type sendAnswer struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

// Send POSTs m to /{phone_number_id}/messages, as one message or several
// (the parts of a long text, each media), in order. The parts Meta
// accepted are remembered for a day by Key, so the outbox's retry of the
// message sends only the rest. It returns the wamid of the last part, the
// one whose statuses say the whole message went out. Meta takes no
// idempotency key.
func (c *connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if m.Key == "" {
		return "", connectors.Permanent(errorf("outbound message has no key"))
	}
	msgs, err := messages(m)
	if err != nil {
		return "", connectors.Permanent(errorf("%w", err))
	}
	var id string
	for i := range msgs {
		key := m.Key + "#" + strconv.Itoa(i)
		if prev, ok := c.sent.Get(key); ok {
			id = prev
			continue
		}
		var ans sendAnswer
		if err := c.client.Post(ctx, c.phoneID+"/messages", &msgs[i], &ans); err != nil {
			if len(msgs) > 1 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(msgs), err)
			}
			return "", explain(err)
		}
		if len(ans.Messages) == 0 || ans.Messages[0].ID == "" {
			return "", connectors.Permanent(errorf("Meta accepted the message without an id"))
		}
		id = ans.Messages[0].ID
		c.sent.Put(key, id)
	}
	return id, nil
}

// messages builds the Cloud API messages of m, in order.
func messages(m *connectors.Outbound) ([]outMessage, error) {
	if m.Channel != "" && m.Channel != Channel {
		return nil, fmt.Errorf("channel %q: %w (this connector sends whatsapp)", m.Channel, connectors.ErrUnsupported)
	}
	to := strings.TrimPrefix(m.To, "whatsapp:")
	if to == "" {
		return nil, errors.New("outbound message has no recipient")
	}
	base := outMessage{Product: "whatsapp", RecipientType: "individual", To: to}
	if !digits(strings.TrimPrefix(to, "+")) {
		base.To, base.Recipient = "", to
	}
	if m.Template != nil && m.Template.Name != "" {
		t, err := template(m.Template)
		if err != nil {
			return nil, err
		}
		msg := base
		msg.Type, msg.Template = "template", t
		return []outMessage{msg}, nil
	}
	var out []outMessage
	text := m.Text
	for i, link := range m.Media {
		msg, err := mediaMessage(base, link)
		if err != nil {
			return nil, err
		}
		if i == 0 && len(m.Choices) == 0 && captioned(msg) && text != "" && units(text) <= MaxCaption {
			caption(&msg, text)
			text = ""
		}
		out = append(out, msg)
	}
	if len(m.Choices) > 0 {
		if msg, ok := choiceMessage(base, text, m.Choices, m.Menu); ok {
			return append(out, msg), nil
		}
		text = connectors.MenuText(text, m.Choices)
	}
	for _, part := range connectors.SplitText(text, MaxText, nil) {
		msg := base
		msg.Type, msg.Text = "text", &outText{Body: part}
		out = append(out, msg)
	}
	if len(out) == 0 {
		return nil, errors.New("outbound message has no text, media, choices or template")
	}
	return out, nil
}

// template is Meta's template object: the variables "1", "2", … fill the
// body's {{1}}, {{2}}, … in order; named variables fill a template
// created with named parameters ({{first_name}}).
func template(t *connectors.Template) (*outTemplate, error) {
	if t.Language == "" {
		return nil, fmt.Errorf("template %q has no language: WhatsApp needs its language code (template_language, like en_US)", t.Name)
	}
	out := &outTemplate{Name: t.Name}
	out.Language.Code = t.Language
	if len(t.Variables) == 0 {
		return out, nil
	}
	names := make([]string, 0, len(t.Variables))
	positional := true
	for k := range t.Variables {
		names = append(names, k)
		if n, err := strconv.Atoi(k); err != nil || n < 1 || strconv.Itoa(n) != k {
			positional = false
		}
	}
	params := make([]parameter, 0, len(names))
	if positional {
		sort.Slice(names, func(i, j int) bool {
			return len(names[i]) < len(names[j]) || len(names[i]) == len(names[j]) && names[i] < names[j]
		})
		for i, k := range names {
			if k != strconv.Itoa(i+1) {
				return nil, fmt.Errorf("template %q: variables %s: want 1 to %d, without gaps", t.Name, strings.Join(names, ", "), len(names))
			}
			params = append(params, parameter{Type: "text", Text: t.Variables[k]})
		}
	} else {
		slices.Sort(names)
		for _, k := range names {
			params = append(params, parameter{Type: "text", Name: k, Text: t.Variables[k]})
		}
	}
	out.Components = []component{{Type: "body", Parameters: params}}
	return out, nil
}

// mediaKinds maps a link's extension to the Cloud API's media type;
// anything else goes as a document.
var mediaKinds = map[string]string{
	".jpg": "image", ".jpeg": "image", ".png": "image",
	".mp4": "video", ".3gp": "video",
	".aac": "audio", ".amr": "audio", ".mp3": "audio", ".m4a": "audio", ".ogg": "audio", ".opus": "audio",
	".webp": "sticker",
}

func mediaMessage(base outMessage, link string) (outMessage, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return base, fmt.Errorf("media %q: WhatsApp fetches media by an absolute http(s) URL", link)
	}
	msg := base
	obj := &outMedia{Link: link}
	msg.Type = mediaKinds[strings.ToLower(path.Ext(u.Path))]
	switch msg.Type {
	case "image":
		msg.Image = obj
	case "video":
		msg.Video = obj
	case "audio":
		msg.Audio = obj
	case "sticker":
		msg.Sticker = obj
	default:
		msg.Type, msg.Document = "document", obj
		if name := path.Base(u.Path); name != "/" && name != "." {
			obj.Filename = name
		}
	}
	return msg, nil
}

// captioned reports whether the media type takes a caption.
func captioned(m outMessage) bool { return m.Image != nil || m.Video != nil || m.Document != nil }

func caption(m *outMessage, text string) {
	for _, obj := range []*outMedia{m.Image, m.Video, m.Document} {
		if obj != nil {
			obj.Caption = text
		}
	}
}

// choiceMessage renders choices as reply buttons (at most 3, short
// titles, no menu asked for) or a list (at most 10 rows); false when they
// exceed both, and the caller sends a numbered menu.
func choiceMessage(base outMessage, text string, choices []connectors.Choice, menu string) (outMessage, bool) {
	if text == "" || units(text) > MaxBody || !distinctIDs(choices) {
		return base, false
	}
	msg := base
	msg.Type = "interactive"
	if menu == "" && fitButtons(choices) {
		in := &interactive{Type: "button"}
		in.Body.Text = text
		for _, ch := range choices {
			b := button{Type: "reply"}
			b.Reply.ID, b.Reply.Title = ch.ID, ch.Title
			in.Action.Buttons = append(in.Action.Buttons, b)
		}
		msg.Interactive = in
		return msg, true
	}
	if menu == "" {
		menu = DefaultListMenu
	}
	if !fitList(choices) || units(menu) > MaxListButton {
		return base, false
	}
	in := &interactive{Type: "list"}
	in.Body.Text = text
	in.Action.Button = menu
	sec := section{}
	for _, ch := range choices {
		sec.Rows = append(sec.Rows, row{ID: ch.ID, Title: ch.Title, Description: ch.Description})
	}
	in.Action.Sections = []section{sec}
	msg.Interactive = in
	return msg, true
}

func fitButtons(choices []connectors.Choice) bool {
	if len(choices) > MaxButtons {
		return false
	}
	for _, ch := range choices {
		if ch.Description != "" || units(ch.Title) > MaxButtonTitle || len(ch.ID) > MaxButtonID {
			return false
		}
	}
	return true
}

func fitList(choices []connectors.Choice) bool {
	if len(choices) > MaxRows {
		return false
	}
	for _, ch := range choices {
		if units(ch.Title) > MaxRowTitle || len(ch.ID) > MaxRowID || units(ch.Description) > MaxRowDesc {
			return false
		}
	}
	return true
}

// distinctIDs: WhatsApp refuses buttons or rows without an id or with the
// same id twice.
func distinctIDs(choices []connectors.Choice) bool {
	seen := make(map[string]bool, len(choices))
	for _, ch := range choices {
		if ch.ID == "" || ch.Title == "" || seen[ch.ID] {
			return false
		}
		seen[ch.ID] = true
	}
	return true
}

// units counts characters as UTF-16 code units, never fewer than
// WhatsApp counts.
func units(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
