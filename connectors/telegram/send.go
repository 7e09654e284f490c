package telegram

import (
	"context"
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Limits of the Bot API.
const (
	// MaxText is the longest text of one sendMessage, in characters.
	MaxText = 4096
	// MaxCallbackData is the longest callback_data of a button, in bytes.
	MaxCallbackData = 64
	// MaxButtons is how many buttons an inline keyboard takes.
	MaxButtons = 100
)

// part is one Bot API call of a message.
type part struct {
	method string // sendMessage, sendPhoto, …
	text   string
	media  string
	keys   *inlineKeyboard
}

// inlineKeyboard is the Bot API's InlineKeyboardMarkup with callback
// buttons only: the library's button type always sends a copy_text
// object, which the Bot API reads as a second kind of button.
type inlineKeyboard struct {
	Rows [][]callbackButton `json:"inline_keyboard"`
}

type callbackButton struct {
	Text string `json:"text"`
	Data string `json:"callback_data"`
}

// Send delivers the message as a series of calls: each media by URL, then
// the text in parts of at most 4096 characters, the last with the choices
// as an inline keyboard. It returns the last call's message, as
// "<chat id>/<message_id>". A part accepted before a failure is not sent
// again when the outbox retries.
func (c *connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	chat, err := chatID(m.To)
	if err != nil {
		return "", err
	}
	thread := 0
	if m.Thread != "" {
		if thread, err = strconv.Atoi(m.Thread); err != nil {
			return "", connectors.Permanent(errorf("thread %q is not a message_thread_id", m.Thread))
		}
	}
	parts := plan(m)
	if len(parts) == 0 {
		return "", connectors.Permanent(errorf("nothing to send: no text, media or choices"))
	}
	var id string
	for i, p := range parts {
		key := m.Key + "#" + strconv.Itoa(i)
		if got, ok := c.sent.Get(key); ok {
			id = got
			continue
		}
		msg, err := c.call(ctx, chat, thread, p)
		if err != nil {
			return "", classify(err, m.To)
		}
		id = strconv.FormatInt(msg.Chat.ID, 10) + "/" + strconv.Itoa(msg.ID)
		c.sent.Put(key, id)
	}
	return id, nil
}

// plan is the calls a message makes. Choices a keyboard cannot carry (a
// callback_data beyond 64 bytes, more than 100 buttons) go as a numbered
// menu in the text.
func plan(m *connectors.Outbound) []part {
	var parts []part
	for _, u := range m.Media {
		parts = append(parts, part{method: mediaMethod(u), media: u})
	}
	text := m.Text
	var keys *inlineKeyboard
	if len(m.Choices) > 0 {
		if keys = keyboard(m.Choices); keys == nil {
			text = connectors.MenuText(text, m.Choices)
		} else if strings.TrimSpace(text) == "" {
			text = "…" // sendMessage needs a text to hang the keyboard on
		}
	}
	texts := connectors.SplitText(text, MaxText, nil)
	for i, t := range texts {
		p := part{method: "sendMessage", text: t}
		if i == len(texts)-1 {
			p.keys = keys
		}
		parts = append(parts, p)
	}
	return parts
}

// keyboard is the choices as an inline keyboard, one button a row; nil
// when they do not fit one.
func keyboard(choices []connectors.Choice) *inlineKeyboard {
	if len(choices) > MaxButtons {
		return nil
	}
	k := &inlineKeyboard{Rows: make([][]callbackButton, 0, len(choices))}
	for _, ch := range choices {
		if ch.ID == "" || len(ch.ID) > MaxCallbackData || strings.TrimSpace(ch.Title) == "" {
			return nil
		}
		k.Rows = append(k.Rows, []callbackButton{{Text: ch.Title, Data: ch.ID}})
	}
	return k
}

// mediaMethod picks the Bot API method by the URL's extension: Telegram
// fetches the file itself and shows a photo, a video or a voice note
// inline; anything else goes as a document.
func mediaMethod(link string) string {
	p := link
	if u, err := url.Parse(link); err == nil {
		p = u.Path
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".jpg", ".jpeg", ".png", ".webp":
		return "sendPhoto"
	case ".mp4":
		return "sendVideo"
	case ".ogg", ".oga", ".opus":
		return "sendVoice"
	}
	return "sendDocument"
}

// call makes one part's Bot API call.
func (c *connector) call(ctx context.Context, chat any, thread int, p part) (*models.Message, error) {
	file := &models.InputFileString{Data: p.media}
	switch p.method {
	case "sendPhoto":
		return c.bot.SendPhoto(ctx, &bot.SendPhotoParams{ChatID: chat, MessageThreadID: thread, Photo: file})
	case "sendVideo":
		return c.bot.SendVideo(ctx, &bot.SendVideoParams{ChatID: chat, MessageThreadID: thread, Video: file})
	case "sendVoice":
		return c.bot.SendVoice(ctx, &bot.SendVoiceParams{ChatID: chat, MessageThreadID: thread, Voice: file})
	case "sendDocument":
		return c.bot.SendDocument(ctx, &bot.SendDocumentParams{ChatID: chat, MessageThreadID: thread, Document: file})
	}
	params := &bot.SendMessageParams{ChatID: chat, MessageThreadID: thread, Text: p.text}
	if p.keys != nil {
		params.ReplyMarkup = p.keys
	}
	return c.bot.SendMessage(ctx, params)
}

// chatID is the recipient as the Bot API takes it: a chat id, or a
// public channel's @username.
func chatID(to string) (any, error) {
	if n, err := strconv.ParseInt(to, 10, 64); err == nil && n != 0 {
		return n, nil
	}
	if len(to) > 1 && to[0] == '@' {
		return to, nil
	}
	return nil, connectors.Permanent(errorf("recipient %q is not a Telegram chat id", to))
}

// classify marks a Bot API error: 429 is temporary, after the
// retry_after Telegram asks for; 400, 401, 403 and 404 are permanent
// (404 is Telegram's answer to a wrong token); anything else (network,
// 5xx, a body that is not the Bot API's) is temporary.
func classify(err error, to string) error {
	if err == nil {
		return nil
	}
	var tooMany *bot.TooManyRequestsError
	if errors.As(err, &tooMany) {
		return connectors.RetryAfter(errorf("rate limited (429): %v", err), time.Duration(tooMany.RetryAfter)*time.Second)
	}
	var migrated *bot.MigrateError
	switch {
	case errors.As(err, &migrated):
		return connectors.Permanent(errorf("the group became the supergroup %d: send to that chat (400)", migrated.MigrateToChatID))
	case errors.Is(err, bot.ErrorForbidden):
		return connectors.Permanent(errorf("chat %s refuses the bot (403: %s): the user blocked the bot or never started a chat with it", to, detail(err)))
	case errors.Is(err, bot.ErrorUnauthorized), errors.Is(err, bot.ErrorNotFound):
		return connectors.Permanent(errorf("the Bot API refused the bot_token (%v): check it with @BotFather", err))
	case errors.Is(err, bot.ErrorBadRequest):
		return connectors.Permanent(errorf("the Bot API refused the request (400: %s)", detail(err)))
	}
	return errorf("%v", err)
}

// detail is the Bot API's description in one of the library's errors
// ("forbidden, Forbidden: bot was blocked by the user").
func detail(err error) string {
	_, d, ok := strings.Cut(err.Error(), ", ")
	if !ok {
		return err.Error()
	}
	return d
}
