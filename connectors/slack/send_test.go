package slack_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/slack"
	"github.com/switchboard-dev/switchboard/connectors/slack/slackfake"
)

const dm = "D024BE91L/U2147483697"

var language = []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}

// languageBlocks is the Block Kit Send posts for the support flow's
// language question.
const languageBlocks = `[{"type":"section","text":{"type":"plain_text","text":"Which language do you prefer?","emoji":true},"block_id":"switchboard_text"},` +
	`{"type":"actions","block_id":"switchboard_choices","elements":[` +
	`{"type":"button","text":{"type":"plain_text","text":"English","emoji":true},"action_id":"choice_1","value":"en"},` +
	`{"type":"button","text":{"type":"plain_text","text":"Bahasa Indonesia","emoji":true},"action_id":"choice_2","value":"id"}]}]`

// TestSendExact asserts the exact chat.postMessage forms Send makes.
func TestSendExact(t *testing.T) {
	many := make([]connectors.Choice, 26)
	for i := range many {
		many[i] = connectors.Choice{ID: fmt.Sprint("c", i+1), Title: fmt.Sprint("Option ", i+1)}
	}
	for _, tc := range []struct {
		name string
		m    connectors.Outbound
		want []url.Values // token and channel are checked for every post
	}{
		{"text in a DM", connectors.Outbound{To: dm, Text: "Hello"},
			[]url.Values{{"text": {"Hello"}}}},
		{"in a thread", connectors.Outbound{To: "C0LAN2Q65/U061F7AUR", Text: "On it", Thread: "1515449522.000016"},
			[]url.Values{{"text": {"On it"}, "thread_ts": {"1515449522.000016"}}}},
		{"control characters escaped", connectors.Outbound{To: dm, Text: "<!channel> a < b & c"},
			[]url.Values{{"text": {"&lt;!channel&gt; a &lt; b &amp; c"}}}},
		{"media as links", connectors.Outbound{To: dm, Text: "Your invoice", Media: []string{"https://files.example.com/inv.pdf"}},
			[]url.Values{{"text": {"Your invoice\nhttps://files.example.com/inv.pdf"}}}},
		{"choices as buttons", connectors.Outbound{To: dm, Text: "Which language do you prefer?", Choices: language},
			[]url.Values{{"text": {"Which language do you prefer?"}, "blocks": {languageBlocks}}}},
		{"too many choices: a menu", connectors.Outbound{To: dm, Text: "Pick", Choices: many},
			[]url.Values{{"text": {connectors.MenuText("Pick", many)}}}},
		{"a title too long: a menu", connectors.Outbound{To: dm, Text: "Pick", Choices: []connectors.Choice{{ID: "a", Title: strings.Repeat("x", 76)}}},
			[]url.Values{{"text": {"Pick\n1. " + strings.Repeat("x", 76)}}}},
		{"a long text in parts", connectors.Outbound{To: dm, Text: strings.Repeat("word ", 1000) + "end"},
			[]url.Values{{"text": {strings.TrimSpace(strings.Repeat("word ", 800))}}, {"text": {strings.TrimSpace(strings.Repeat("word ", 200)) + " end"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := slackfake.New(t)
			c := newConnector(t, config(f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
			m := tc.m
			m.Key, m.Channel = "effect-1", slack.Channel
			ts, err := c.Send(context.Background(), &m)
			if err != nil {
				t.Fatal(err)
			}
			posts := f.Posts()
			if len(posts) != len(tc.want) {
				t.Fatalf("%d posts, want %d: %v", len(posts), len(tc.want), posts)
			}
			if ts != slackfake.TS(len(posts)) {
				t.Errorf("Send gave %q, want the last part's ts %q", ts, slackfake.TS(len(posts)))
			}
			channel, _, _ := strings.Cut(m.To, "/")
			for i, want := range tc.want {
				want.Set("token", slackfake.Token)
				want.Set("channel", channel)
				if got := posts[i].Encode(); got != want.Encode() {
					t.Errorf("post %d:\n got %s\nwant %s", i, got, want.Encode())
				}
			}
		})
	}
}

// TestSendErrors: how Send classifies Slack's answers.
func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    slackfake.Answer
		permanent bool
		retry     time.Duration // the delay asked for, 0 for none
		want      string
	}{
		{"not_in_channel", slackfake.Answer{Error: "not_in_channel"}, true, 0, "not_in_channel (invite the app"},
		{"channel_not_found", slackfake.Answer{Error: "channel_not_found"}, true, 0, "channel_not_found"},
		{"invalid_auth", slackfake.Answer{Error: "invalid_auth"}, true, 0, "check bot_token"},
		{"msg_too_long", slackfake.Answer{Error: "msg_too_long"}, true, 0, "msg_too_long"},
		{"ratelimited in the body", slackfake.Answer{Error: "ratelimited"}, false, 0, "ratelimited"},
		{"internal_error", slackfake.Answer{Error: "internal_error"}, false, 0, "internal_error"},
		{"429 with Retry-After", slackfake.Answer{Status: 429, Header: http.Header{"Retry-After": {"30"}}}, false, 30 * time.Second, "rate limited"},
		{"503", slackfake.Answer{Status: 503}, false, 0, "HTTP 503"},
		{"400", slackfake.Answer{Status: 400}, true, 0, "HTTP 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := slackfake.New(t)
			c := newConnector(t, config(f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
			f.Script(tc.answer)
			_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: slack.Channel, To: dm, Text: "Hi"})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if connectors.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v (permanent %v), want permanent %v with %q", err, connectors.IsPermanent(err), tc.permanent, tc.want)
			}
			if d, ok := connectors.RetryDelay(err); d != tc.retry || ok != (tc.retry != 0) {
				t.Errorf("retry delay %v %v, want %v", d, ok, tc.retry)
			}
		})
	}
	c := newConnector(t, config("http://127.0.0.1:1/api/", nil), connectors.Resources{})
	for _, to := range []string{"", "/U2147483697"} {
		_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: slack.Channel, To: to, Text: "Hi"})
		if !connectors.IsPermanent(err) || !strings.Contains(err.Error(), "not a Slack address") {
			t.Errorf("To %q: err = %v, want a permanent one naming the address", to, err)
		}
	}
	_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: slack.Channel, To: dm, Text: " "})
	if !connectors.IsPermanent(err) || !strings.Contains(err.Error(), "no text") {
		t.Errorf("a blank message: err = %v", err)
	}
}

// TestSendRetryPostsTheRest: the outbox's retry of a message in parts
// posts only the parts Slack did not accept, and a failing second part
// names itself.
func TestSendRetryPostsTheRest(t *testing.T) {
	f := slackfake.New(t)
	c := newConnector(t, config(f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	m := &connectors.Outbound{Key: "effect-9", Channel: slack.Channel, To: dm, Text: strings.Repeat("a ", 2500) + "end"}
	f.Script(slackfake.Answer{}, slackfake.Answer{Status: 503})
	_, err := c.Send(context.Background(), m)
	if err == nil || connectors.IsPermanent(err) || !strings.Contains(err.Error(), "part 2 of 2") {
		t.Fatalf("err = %v, want a temporary one naming part 2 of 2", err)
	}
	if _, err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 3 || len(f.Posts()) != 2 || !strings.HasSuffix(f.Posts()[1].Get("text"), "end") {
		t.Fatalf("requests %d, posts %v", len(reqs), f.Posts())
	}
	var se *connectors.StatusError
	if errors.As(err, &se) {
		t.Fatal("a Send error is not a webhook refusal")
	}
}
