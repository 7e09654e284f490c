package slack

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-dev/switchboard/connectors"
)

// envelope is what Receive reads of an Events API request before handing
// it to slackevents.ParseEvent, which fails on inner event types it does
// not know: those are acknowledged, not refused.
type envelope struct {
	Type  string `json:"type"`
	Event struct {
		Type string `json:"type"`
	} `json:"event"`
}

// parseEvent turns an Events API request into the customer's message, if
// it is one: a direct message's message event or a channel's app_mention.
func parseEvent(body []byte, h http.Header) ([]connectors.Inbound, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "the body is not an Events API request: %v", err)
	}
	if env.Type != slackevents.CallbackEvent {
		return nil, nil // url_verification (answered by Handshake), app_rate_limited
	}
	if env.Event.Type != string(slackevents.Message) && env.Event.Type != string(slackevents.AppMention) {
		return nil, nil
	}
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "event_callback: %v", err)
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "event_callback without an event_id")
	}
	var m *message
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		m = fromMessage(e)
	case *slackevents.AppMentionEvent:
		m = fromMention(e)
	}
	if m == nil || m.user == "" || m.channel == "" || isBot(cb, m.user) {
		return nil, nil
	}
	in := m.inbound(cb.EventID, cb.TeamID)
	in.Attributes["event_id"] = cb.EventID
	if n := h.Get("X-Slack-Retry-Num"); n != "" {
		in.Attributes["retry_num"] = n
		in.Attributes["retry_reason"] = h.Get("X-Slack-Retry-Reason")
	}
	return []connectors.Inbound{in}, nil
}

// message is what an Inbound is made of, whatever event carried it.
type message struct {
	kind, user, channel, channelType string
	text, ts, threadTS               string
	files                            []slack.File
	// thread: replies go in the message's thread, a new one if it is in
	// none (a mention in a channel); a direct message starts none.
	thread bool
}

// fromMessage keeps a person's new message in a direct message with the
// app. Messages in channels arrive as app_mention events; subtypes are
// edits, deletions, joins and bots' messages (the app's own replies
// among them), none of them something the customer said.
func fromMessage(e *slackevents.MessageEvent) *message {
	if e.ChannelType != slackevents.ChannelTypeIM || e.BotID != "" {
		return nil
	}
	if e.SubType != "" && e.SubType != "file_share" {
		return nil
	}
	m := &message{kind: "message", user: e.User, channel: e.Channel, channelType: e.ChannelType,
		text: e.Text, ts: e.TimeStamp, threadTS: e.ThreadTimeStamp}
	if e.Message != nil {
		m.files = e.Message.Files
	}
	return m
}

// fromMention keeps a person's mention of the app in a channel; the
// mention itself is taken off the text's start.
func fromMention(e *slackevents.AppMentionEvent) *message {
	if e.BotID != "" {
		return nil
	}
	return &message{kind: "app_mention", user: e.User, channel: e.Channel, channelType: "channel",
		text: leadingMentions.ReplaceAllString(e.Text, ""), ts: e.TimeStamp, threadTS: e.ThreadTimeStamp,
		files: e.Files, thread: true}
}

// leadingMentions are the user mentions a text starts with: "<@U0LAN0Z89> ".
var leadingMentions = regexp.MustCompile(`^(\s*<@[A-Z0-9]+(\|[^>]*)?>)+\s*`)

// isBot reports whether user is the app's own bot user, which the
// request's authorizations name.
func isBot(cb *slackevents.EventsAPICallbackEvent, user string) bool {
	for _, a := range cb.Authorizations {
		if a.IsBot && a.UserID == user {
			return true
		}
	}
	return false
}

func (m *message) inbound(id, team string) connectors.Inbound {
	in := connectors.Inbound{
		PlatformID: id,
		Channel:    Channel,
		From:       Address(m.channel, m.user),
		Text:       m.text,
		At:         tsTime(m.ts),
		Attributes: map[string]any{"event_type": m.kind, "channel": m.channel, "channel_type": m.channelType,
			"user": m.user, "team": team, "ts": m.ts},
	}
	switch {
	case m.threadTS != "":
		in.Thread = m.threadTS
		in.Attributes["thread_ts"] = m.threadTS
	case m.thread:
		in.Thread = m.ts
	}
	for _, f := range m.files {
		if f.URLPrivate != "" {
			in.Media = append(in.Media, f.URLPrivate)
		}
	}
	return in
}

// Address is the address of user in the conversation channel:
// "<channel id>/<user id>". Send posts to the channel.
func Address(channel, user string) string { return channel + "/" + user }

// tsTime reads a Slack ts ("1690000000.000100": seconds and a sequence
// that is also microseconds); zero if it is not one.
func tsTime(ts string) time.Time {
	secs, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000).UTC()
}

// parseInteraction turns a block_actions payload (a tapped button) into
// the customer's choice. Other interactions (shortcuts, modals) and slash
// commands are acknowledged.
func parseInteraction(body []byte) ([]connectors.Inbound, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "the interaction's form: %v", err)
	}
	if form.Get("command") != "" && form.Get("payload") == "" {
		return nil, nil // a slash command pointed at this URL: not taken
	}
	payload := form.Get("payload")
	if payload == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "the interaction's form has no payload field")
	}
	return parseCallback([]byte(payload))
}

// parseCallback turns an interaction's payload JSON into the customer's
// choices: the form's payload field, or a Socket Mode envelope's payload.
func parseCallback(payload []byte) ([]connectors.Inbound, error) {
	var cb slack.InteractionCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "the interaction's payload: %v", err)
	}
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil, nil
	}
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	var out []connectors.Inbound
	for _, a := range cb.ActionCallback.BlockActions {
		if a.Type != slack.ActionType(slack.METButton) || cb.User.ID == "" || channel == "" || a.ActionTs == "" {
			continue
		}
		thread := cb.Container.ThreadTs
		if thread == "" {
			thread = cb.Message.ThreadTimestamp
		}
		in := connectors.Inbound{
			PlatformID: "action/" + channel + "/" + a.ActionTs + "/" + a.ActionID,
			Channel:    Channel,
			From:       Address(channel, cb.User.ID),
			FromName:   cb.User.Name,
			Text:       a.Text.Text,
			Choice:     a.Value,
			At:         tsTime(a.ActionTs),
			Thread:     thread,
			Attributes: map[string]any{"event_type": string(cb.Type), "channel": channel, "user": cb.User.ID,
				"team": cb.Team.ID, "ts": cb.Container.MessageTs, "action_id": a.ActionID, "block_id": a.BlockID},
		}
		if thread != "" {
			in.Attributes["thread_ts"] = thread
		}
		out = append(out, in)
	}
	return out, nil
}
