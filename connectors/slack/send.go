package slack

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Slack's limits on what Send posts.
const (
	// MaxText is the length of one message's text Send posts: Slack
	// advises at most 4000 characters and truncates past 40,000.
	MaxText = 4000
	// MaxSectionText is the limit of a section block's text, where the
	// text of a message with buttons goes.
	MaxSectionText = 3000
	// MaxButtons is the limit of an actions block's elements.
	MaxButtons = 25
	// MaxButtonText is the limit of a button's text.
	MaxButtonText = 75
	// MaxButtonValue is the limit of a button's value, the choice's id.
	MaxButtonValue = 2000
)

// Block and action ids of the choices' buttons; a tapped button's
// action_id comes back in the interaction.
const (
	choicesBlock  = "switchboard_choices"
	choicePrefix  = "choice_"
	questionBlock = "switchboard_text"
)

// Send posts m with chat.postMessage in its parts: the text (media links
// after it) split at MaxText characters, and the choices as buttons
// under the last part, or folded into the text as a numbered menu when
// they exceed Slack's limits.
func (c *connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	channel, _, _ := strings.Cut(m.To, "/")
	if channel == "" {
		return "", connectors.Permanent(errorf("recipient %q is not a Slack address (channel/user)", m.To))
	}
	parts := compose(m)
	if len(parts) == 0 {
		return "", connectors.Permanent(errorf("message %s has no text, media or choices", m.Key))
	}
	var ts string
	for i, p := range parts {
		key := m.Key + "#" + strconv.Itoa(i)
		if id, ok := c.sent.Get(key); ok {
			ts = id
			continue
		}
		opts := []slack.MsgOption{slack.MsgOptionText(p.text, true)}
		if p.blocks != nil {
			opts = append(opts, slack.MsgOptionBlocks(p.blocks...))
		}
		if m.Thread != "" {
			opts = append(opts, slack.MsgOptionTS(m.Thread))
		}
		_, id, err := c.api.PostMessageContext(ctx, channel, opts...)
		if err != nil {
			return "", classify(err, i, len(parts))
		}
		c.sent.Put(key, id)
		ts = id
	}
	return ts, nil
}

// part is one chat.postMessage: its text (the notification's and the
// message's when there are no blocks) and its blocks.
type part struct {
	text   string
	blocks []slack.Block
}

// compose cuts m into the messages Send posts.
func compose(m *connectors.Outbound) []part {
	text := m.Text
	for _, u := range m.Media {
		if text != "" {
			text += "\n"
		}
		text += u
	}
	native := len(m.Choices) > 0 && fitsButtons(m.Choices)
	if len(m.Choices) > 0 && !native {
		text = connectors.MenuText(text, m.Choices)
	}
	if !native {
		var parts []part
		for _, t := range connectors.SplitText(text, MaxText, nil) {
			parts = append(parts, part{text: t})
		}
		return parts
	}
	texts := connectors.SplitText(text, MaxSectionText, nil)
	if len(texts) == 0 {
		texts = []string{"\u200b"} // a section needs text; buttons alone have no notification text either
	}
	parts := make([]part, len(texts))
	for i, t := range texts {
		parts[i] = part{text: t}
	}
	last := &parts[len(parts)-1]
	last.blocks = []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.PlainTextType, last.text, true, false), nil, nil,
			slack.SectionBlockOptionBlockID(questionBlock)),
		buttons(m.Choices),
	}
	return parts
}

// fitsButtons reports whether Slack takes the choices as buttons.
func fitsButtons(choices []connectors.Choice) bool {
	if len(choices) > MaxButtons {
		return false
	}
	for _, ch := range choices {
		if ch.ID == "" || utf8.RuneCountInString(ch.ID) > MaxButtonValue ||
			ch.Title == "" || utf8.RuneCountInString(ch.Title) > MaxButtonText {
			return false
		}
	}
	return true
}

// buttons is the actions block of the choices: one button each, its
// value the choice's id.
func buttons(choices []connectors.Choice) *slack.ActionBlock {
	els := make([]slack.BlockElement, len(choices))
	for i, ch := range choices {
		els[i] = slack.NewButtonBlockElement(choicePrefix+strconv.Itoa(i+1), ch.ID,
			slack.NewTextBlockObject(slack.PlainTextType, ch.Title, true, false))
	}
	return slack.NewActionBlock(choicesBlock, els...)
}

// temporaryErrors are the Web API's error codes after which the same
// call may succeed later; every other one is permanent (not_in_channel,
// channel_not_found, invalid_auth, msg_too_long, invalid_blocks, …).
var temporaryErrors = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// classify marks a chat.postMessage failure temporary or permanent, with
// the delay a 429 asked for.
func classify(err error, i, n int) error {
	where := "chat.postMessage"
	if n > 1 {
		where += " (part " + strconv.Itoa(i+1) + " of " + strconv.Itoa(n) + ")"
	}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return connectors.RetryAfter(errorf("%s: rate limited by Slack: %w", where, err), rl.RetryAfter)
	case errors.As(err, &sc):
		e := errorf("%s: HTTP %d: %w", where, sc.Code, err)
		if sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusTooManyRequests && sc.Code != http.StatusRequestTimeout {
			return connectors.Permanent(e)
		}
		return e
	case errors.As(err, &se):
		e := errorf("%s: %s%s", where, se.Err, hint(se))
		if temporaryErrors[se.Err] {
			return e
		}
		return connectors.Permanent(e)
	}
	return errorf("%s: %w", where, err)
}

// hint explains the errors an operator can fix.
func hint(se slack.SlackErrorResponse) string {
	switch se.Err {
	case "not_in_channel":
		return " (invite the app to the channel: /invite @app)"
	case "channel_not_found":
		return " (the channel does not exist or the app cannot see it)"
	case "missing_scope":
		return " (the bot token lacks the scope " + se.Needed + ": add it under OAuth & Permissions and reinstall the app)"
	case "invalid_auth", "not_authed", "token_revoked", "account_inactive":
		return " (check bot_token)"
	}
	return ""
}
