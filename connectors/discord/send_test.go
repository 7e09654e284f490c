package discord_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/discord"
	"github.com/switchboard-dev/switchboard/connectors/discord/discordfake"
)

const dm = "1345828002201600003"

func language() []connectors.Choice {
	return []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}
}

// TestSendBodies: the exact JSON Send posts, choices as Discord renders
// them or, past its limits, as the numbered menu.
func TestSendBodies(t *testing.T) {
	many := make([]connectors.Choice, 7)
	for i := range many {
		many[i] = connectors.Choice{ID: "c" + string(rune('1'+i)), Title: "Option " + string(rune('1'+i))}
	}
	long := []connectors.Choice{{ID: "a", Title: strings.Repeat("x", 81)}, {ID: "b", Title: "B"}}
	nonce := discord.Nonce("k-1", 0)
	for _, tc := range []struct {
		name string
		m    connectors.Outbound
		want string
	}{
		{"text", connectors.Outbound{Text: "Hello Mira"},
			`{"content":"Hello Mira","nonce":"` + nonce + `","enforce_nonce":true}`},
		{"buttons", connectors.Outbound{Text: "Which language do you prefer?", Choices: language()},
			`{"content":"Which language do you prefer?","components":[{"type":1,"components":[{"type":2,"style":1,"label":"English","custom_id":"en"},{"type":2,"style":1,"label":"Bahasa Indonesia","custom_id":"id"}]}],"nonce":"` + nonce + `","enforce_nonce":true}`},
		{"seven buttons in two rows", connectors.Outbound{Text: "Pick", Choices: many},
			`{"content":"Pick","components":[{"type":1,"components":[{"type":2,"style":1,"label":"Option 1","custom_id":"c1"},{"type":2,"style":1,"label":"Option 2","custom_id":"c2"},{"type":2,"style":1,"label":"Option 3","custom_id":"c3"},{"type":2,"style":1,"label":"Option 4","custom_id":"c4"},{"type":2,"style":1,"label":"Option 5","custom_id":"c5"}]},{"type":1,"components":[{"type":2,"style":1,"label":"Option 6","custom_id":"c6"},{"type":2,"style":1,"label":"Option 7","custom_id":"c7"}]}],"nonce":"` + nonce + `","enforce_nonce":true}`},
		{"a label over 80 characters: the numbered menu", connectors.Outbound{Text: "Pick", Choices: long},
			`{"content":"Pick\n1. ` + strings.Repeat("x", 81) + `\n2. B","nonce":"` + nonce + `","enforce_nonce":true}`},
		{"a menu: a select", connectors.Outbound{Text: "Topic?", Menu: "Choose a topic", Choices: []connectors.Choice{{ID: "billing", Title: "Billing", Description: "Invoices and refunds"}}},
			`{"content":"Topic?","components":[{"type":1,"components":[{"type":3,"custom_id":"choice","placeholder":"Choose a topic","options":[{"label":"Billing","value":"billing","description":"Invoices and refunds"}]}]}],"nonce":"` + nonce + `","enforce_nonce":true}`},
		{"media as links", connectors.Outbound{Text: "Your label", Media: []string{"https://files.example.com/label-4521.pdf"}},
			`{"content":"Your label\nhttps://files.example.com/label-4521.pdf","nonce":"` + nonce + `","enforce_nonce":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := discordfake.New(t)
			c := newConn(t, config(f.URL+"/api/v10", f.GatewayURL), connectors.Resources{})
			m := tc.m
			m.Key, m.To, m.Channel = "k-1", dm, "discord"
			id, err := c.Send(context.Background(), &m)
			if err != nil {
				t.Fatal(err)
			}
			posts := f.Posts()
			if len(posts) != 1 || id != "1311000000000000001" {
				t.Fatalf("%d posts, id %q", len(posts), id)
			}
			p := posts[0]
			if string(p.Raw) != tc.want {
				t.Errorf("body\n%s\nwant\n%s", p.Raw, tc.want)
			}
			if p.Channel != dm || p.Header.Get("Authorization") != "Bot "+discordfake.Token || p.Header.Get("Content-Type") != "application/json" {
				t.Errorf("posted to %s with %v", p.Channel, p.Header)
			}
		})
	}
}

// TestSendSplit: a text over 2000 characters goes in parts, the choices
// under the last; a retry after a failed part sends only the rest, under
// the same nonces.
func TestSendSplit(t *testing.T) {
	f := discordfake.New(t)
	c := newConn(t, config(f.URL+"/api/v10", f.GatewayURL), connectors.Resources{})
	text := strings.Repeat("word ", 500) // 2500 characters
	m := &connectors.Outbound{Key: "k-2", To: dm, Text: text, Choices: language()}
	f.Script(discordfake.Reply{}, discordfake.Reply{Status: 502, Body: `{"message": "502: Bad Gateway", "code": 0}`})
	if _, err := c.Send(context.Background(), m); err == nil || connectors.IsPermanent(err) {
		t.Fatalf("Send = %v, want a temporary error", err)
	}
	id, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	posts := f.Posts()
	if len(posts) != 3 || id != "1311000000000000003" {
		t.Fatalf("%d posts, id %s; want 3 (the second one twice), the last's id", len(posts), id)
	}
	for i, want := range []struct {
		nonce string
		comps bool
	}{{discord.Nonce("k-2", 0), false}, {discord.Nonce("k-2", 1), true}, {discord.Nonce("k-2", 1), true}} {
		p := posts[i].Body
		if p["nonce"] != want.nonce || (p["components"] != nil) != want.comps || len([]rune(p["content"].(string))) > 2000 {
			t.Errorf("post %d: nonce %v components %v, %d characters", i, p["nonce"], p["components"], len(p["content"].(string)))
		}
	}
}

// TestSendErrors: Discord's refusals, temporary or permanent.
func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reply     discordfake.Reply
		permanent bool
		delay     time.Duration
		msg       string
	}{
		{"rate limited", discordfake.Reply{Status: 429, Header: http.Header{"Retry-After": {"2"}},
			Body: `{"message": "You are being rate limited.", "retry_after": 1.337, "global": false}`}, false, 1337 * time.Millisecond,
			"discord: POST /channels/1345828002201600003/messages: 429 You are being rate limited."},
		{"the user takes no DMs", discordfake.Reply{Status: 403, Body: `{"message": "Cannot send messages to this user", "code": 50007}`}, true, 0,
			"discord: POST /channels/1345828002201600003/messages: 403 Cannot send messages to this user (50007)"},
		{"bad token", discordfake.Reply{Status: 401, Body: `{"message": "401: Unauthorized", "code": 0}`}, true, 0,
			"discord: POST /channels/1345828002201600003/messages: 401 401: Unauthorized"},
		{"unknown channel", discordfake.Reply{Status: 404, Body: `{"message": "Unknown Channel", "code": 10003}`}, true, 0,
			"discord: POST /channels/1345828002201600003/messages: 404 Unknown Channel (10003)"},
		{"a proxy's page", discordfake.Reply{Status: 503, Body: "<html><body>upstream connect error</body></html>"}, false, 0,
			"discord: POST /channels/1345828002201600003/messages: 503 <html><body>upstream connect error</body></html>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := discordfake.New(t)
			c := newConn(t, config(f.URL+"/api/v10", f.GatewayURL), connectors.Resources{})
			f.Script(tc.reply)
			_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k-3", To: dm, Text: "hi"})
			if err == nil || connectors.IsPermanent(err) != tc.permanent || err.Error() != tc.msg {
				t.Fatalf("err = %v (permanent %v), want %q (permanent %v)", err, connectors.IsPermanent(err), tc.msg, tc.permanent)
			}
			if d, ok := connectors.RetryDelay(err); ok != (tc.delay > 0) || d != tc.delay {
				t.Errorf("retry delay %v %v, want %v", d, ok, tc.delay)
			}
		})
	}
	c := offline(t)
	for _, m := range []connectors.Outbound{{Key: "k", To: "mira.k", Text: "hi"}, {Key: "k", To: dm}} {
		if _, err := c.Send(context.Background(), &m); !connectors.IsPermanent(err) {
			t.Errorf("Send(%+v) = %v, want a permanent error", m, err)
		}
	}
}

// TestRespondReplies: the flow's replies to an interaction are its
// message answer, with the last reply's choices as buttons.
func TestRespondReplies(t *testing.T) {
	c := offline(t)
	in := []connectors.Inbound{{PlatformID: "1", From: dm, Channel: "discord", Attributes: map[string]any{"interaction": "component"}}}
	_, _, body := c.Respond(in, connectors.Reaction{Replies: []connectors.Outbound{
		{Key: "a", To: dm, Text: "Thanks!"},
		{Key: "b", To: dm, Text: "Anything else?", Choices: []connectors.Choice{{ID: "no", Title: "No"}}},
	}})
	want := `{"type":4,"data":{"content":"Thanks!\n\nAnything else?","components":[{"type":1,"components":[{"type":2,"style":1,"label":"No","custom_id":"no"}]}]}}`
	if string(body) != want {
		t.Errorf("Respond =\n%s\nwant\n%s", body, want)
	}
}

// TestKit runs the conformance kit on the interactions endpoint and Send.
func TestKit(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			return newConn(t, config(api.URL+"/api/v10", "ws://127.0.0.1:1/gateway"), res)
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var body struct{ Content, Nonce string }
				if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				key := body.Nonce
				if key == discord.Nonce("effect-0001", 0) {
					key = "effect-0001"
				}
				to := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v10/channels/"), "/messages")
				reply := api.Deliver(connectortest.Delivery{Key: key, To: to, Text: body.Content, Header: r.Header})
				w.Header().Set("Content-Type", "application/json")
				if reply.Status != http.StatusOK {
					w.WriteHeader(reply.Status)
					_, _ = w.Write([]byte(`{"message": "` + http.StatusText(reply.Status) + `", "code": 0}`))
					return
				}
				_ = json.NewEncoder(w).Encode(map[string]any{"id": reply.ID, "channel_id": to, "content": body.Content})
			})
		},
		Request: func(t testing.TB, now time.Time) *connectors.Request {
			return signed([]byte(`{"application_id":"1197048256485963936","channel_id":"1345828002201600003","data":{"component_type":2,"custom_id":"en"},"id":"1579497724921847301","type":3,"user":{"id":"1573264778749546497","username":"mira.k"},"version":1}`), "1796651943")
		},
		Unsign: func(r *connectors.Request) { r.Header.Del(discord.HeaderSignature) },
		Malformed: func(t testing.TB, now time.Time) *connectors.Request {
			return signed([]byte(`{"type":3,"id":`), "1796651943")
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: "effect-0001", Channel: "discord", To: dm, Text: "Hello from the kit", ConversationID: "conv-1"}
		},
	})
}
