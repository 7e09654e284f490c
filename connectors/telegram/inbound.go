package telegram

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/switchboard-dev/switchboard/connectors"
)

// parse turns one Update into its Inbound (none for the update types the
// connector does not take). The PlatformID is "<bot id>/<update_id>":
// update ids are per bot, and the bot's id survives renaming the instance.
func (c *connector) parse(body []byte) ([]connectors.Inbound, error) {
	u, err := decodeUpdate(body)
	if err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "the body is not a Telegram Update: %v", err)
	}
	if u.ID <= 0 {
		return nil, connectors.Errorf(http.StatusBadRequest, "the update has no update_id")
	}
	id := c.botID + "/" + strconv.FormatInt(u.ID, 10)
	switch {
	case u.Message != nil:
		return c.message(id, u.Message, false)
	case u.EditedMessage != nil:
		return c.message(id, u.EditedMessage, true)
	case u.CallbackQuery != nil:
		return c.callback(id, u.CallbackQuery)
	}
	c.log.Info("telegram: update of a type not taken, acknowledged", "update_id", u.ID)
	return nil, nil
}

// message is the Inbound of a message a person wrote.
func (c *connector) message(id string, m *models.Message, edited bool) ([]connectors.Inbound, error) {
	if m.Chat.ID == 0 {
		return nil, connectors.Errorf(http.StatusBadRequest, "update %s: the message has no chat.id", id)
	}
	in := connectors.Inbound{
		PlatformID: id,
		Channel:    Channel,
		From:       strconv.FormatInt(m.Chat.ID, 10),
		To:         c.botID,
		FromName:   name(m.From, &m.Chat),
		Text:       m.Text,
		Attributes: map[string]any{
			"message_id": strconv.Itoa(m.ID),
			"chat_type":  string(m.Chat.Type),
		},
	}
	if m.Date > 0 {
		in.At = time.Unix(int64(m.Date), 0).UTC()
	}
	if in.Text == "" {
		in.Text = m.Caption
	}
	if edited {
		in.Attributes["edited"] = true
	}
	if m.IsTopicMessage && m.MessageThreadID != 0 {
		in.Thread = strconv.Itoa(m.MessageThreadID)
	}
	if m.From != nil {
		in.Attributes["user_id"] = strconv.FormatInt(m.From.ID, 10)
		if m.From.Username != "" {
			in.Attributes["username"] = m.From.Username
		}
		if m.From.LanguageCode != "" {
			in.Attributes["language_code"] = m.From.LanguageCode
		}
	}
	if m.Location != nil {
		in.Attributes["latitude"] = m.Location.Latitude
		in.Attributes["longitude"] = m.Location.Longitude
	}
	if ct := m.Contact; ct != nil {
		in.Attributes["contact_phone"] = ct.PhoneNumber
		in.Attributes["contact_name"] = strings.TrimSpace(ct.FirstName + " " + ct.LastName)
		if ct.UserID != 0 {
			in.Attributes["contact_user_id"] = strconv.FormatInt(ct.UserID, 10)
		}
		if m.From != nil && ct.UserID == m.From.ID {
			in.Phone = e164(ct.PhoneNumber)
		}
	}
	if kind, file := attachment(m); file != "" {
		in.Attributes["media_type"] = kind
		in.Attributes["file_id"] = file
		if link, ok := c.media.fetch(file); ok {
			in.Media = []string{link}
		}
	}
	return []connectors.Inbound{in}, nil
}

// attachment is the kind and file_id of the message's file, if any: of a
// photo, its largest size (Telegram lists them smallest first).
func attachment(m *models.Message) (kind, fileID string) {
	switch {
	case len(m.Photo) > 0:
		return "photo", m.Photo[len(m.Photo)-1].FileID
	case m.Document != nil:
		return "document", m.Document.FileID
	case m.Voice != nil:
		return "voice", m.Voice.FileID
	case m.Video != nil:
		return "video", m.Video.FileID
	case m.Audio != nil:
		return "audio", m.Audio.FileID
	}
	return "", ""
}

// callback is the Inbound of a tap on an inline keyboard button: its
// callback_data is the Choice and the button's text, read from the
// keyboard of the message it was under, the Text.
func (c *connector) callback(id string, q *models.CallbackQuery) ([]connectors.Inbound, error) {
	if q.ID == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "update %s: the callback_query has no id", id)
	}
	chat := q.From.ID
	var title string
	if m := q.Message.Message; m != nil {
		chat = m.Chat.ID
		title = buttonText(m.ReplyMarkup, q.Data)
	} else if m := q.Message.InaccessibleMessage; m != nil && m.Chat.ID != 0 {
		chat = m.Chat.ID
	}
	if chat == 0 {
		return nil, connectors.Errorf(http.StatusBadRequest, "update %s: the callback_query names no chat", id)
	}
	if title == "" {
		title = q.Data
	}
	qid := q.ID
	select {
	case c.answers <- struct{}{}:
		c.background(func(ctx context.Context) {
			defer func() { <-c.answers }()
			c.answer(ctx, qid)
		})
	default:
		c.log.Warn("telegram: too many button taps being answered, this one is not", "callback_query_id", qid)
	}
	in := connectors.Inbound{
		PlatformID: id,
		Channel:    Channel,
		From:       strconv.FormatInt(chat, 10),
		To:         c.botID,
		FromName:   name(&q.From, nil),
		Text:       title,
		Choice:     q.Data,
		Attributes: map[string]any{"callback_query_id": q.ID, "user_id": strconv.FormatInt(q.From.ID, 10)},
	}
	if m := q.Message.Message; m != nil {
		in.Attributes["message_id"] = strconv.Itoa(m.ID)
	} else if m := q.Message.InaccessibleMessage; m != nil && m.MessageID != 0 {
		in.Attributes["message_id"] = strconv.Itoa(m.MessageID)
	}
	if q.From.Username != "" {
		in.Attributes["username"] = q.From.Username
	}
	if q.From.LanguageCode != "" {
		in.Attributes["language_code"] = q.From.LanguageCode
	}
	return []connectors.Inbound{in}, nil
}

// answer answers a button tap with answerCallbackQuery: until it is
// answered, the client shows a spinner on the button.
func (c *connector) answer(ctx context.Context, qid string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.bot.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: qid}); err != nil {
		c.log.Warn("telegram: answerCallbackQuery failed", "callback_query_id", qid, "err", classify(err, ""))
	}
}

func buttonText(k *models.InlineKeyboardMarkup, data string) string {
	if k == nil || data == "" {
		return ""
	}
	for _, row := range k.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData == data {
				return b.Text
			}
		}
	}
	return ""
}

// name is the sender's display name: first and last name, else the
// username, else the chat's title.
func name(u *models.User, chat *models.Chat) string {
	if u != nil {
		if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
			return n
		}
		if u.Username != "" {
			return u.Username
		}
	}
	if chat != nil {
		return chat.Title
	}
	return ""
}

// e164 is a shared contact's number with its +: Telegram gives it with or
// without one. "" for anything but digits.
func e164(phone string) string {
	digits := strings.TrimPrefix(strings.TrimSpace(phone), "+")
	if digits == "" || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return ""
	}
	return "+" + digits
}
