package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

// Meta's connectors end to end: `switchboard serve` runs the shipped flows
// with the whatsapp_cloud, messenger and instagram connectors pointed at a
// fake of the Graph API. On each, the support flow's language question
// goes out as the platform's own buttons (reply buttons, quick replies),
// the customer's tap comes back signed as Meta signs it, and the task is
// created with the chosen language.

const (
	metaSecret = "meta-app-secret"
	metaVerify = "meta-verify-token"
	waNumberID = "106540352242922"
	fbPageID   = "104729681234567"
	igID       = "17841405822304914"
)

func startMeta(t *testing.T) (*shipped, *graphfake.Fake) {
	t.Helper()
	fake := graphfake.New(t)
	t.Setenv("META_TOKEN", fake.Token)
	t.Setenv("META_SECRET", metaSecret)
	t.Setenv("META_VERIFY", metaVerify)
	common := ",app_secret=env:META_SECRET,verify_token=env:META_VERIFY,graph_url=" + fake.URL
	sh := serveShipped(t,
		"--connector", "whatsapp_cloud/default,phone_number_id="+waNumberID+",access_token=env:META_TOKEN"+common,
		"--connector", "messenger/default,page_id="+fbPageID+",page_access_token=env:META_TOKEN"+common,
		"--connector", "instagram/default,api=instagram_login,ig_id="+igID+",access_token=env:META_TOKEN"+common)
	return sh, fake
}

// metaHook posts a notification signed with the app secret.
func metaHook(r *shipped, connector string, body string) {
	r.t.Helper()
	url := r.base + "/v1/webhooks/" + connector + "/default"
	req := graphfake.Webhook(metaSecret, url, []byte(body))
	if status, _, answer := r.post(url, req.Header, req.Body); status != http.StatusOK {
		r.t.Fatalf("%s: %d %s", connector, status, answer)
	}
}

// sentTo waits for the first message the fake got on path whose JSON
// mentions want, after skip of them.
func sentTo(t *testing.T, fake *graphfake.Fake, path, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, b := range fake.Bodies(path) {
			if strings.Contains(string(b), want) {
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the fake never got a message to %s with %s: %+v", path, want, fake.Requests())
	return nil
}

func TestMetaChoicesToATask(t *testing.T) {
	r, fake := startMeta(t)
	agent := r.worker("ana", map[string]any{"languages": []string{"id", "en"}, "department": "support"}, map[string]int{"chat": 5})

	// Meta's verification handshake.
	hook := r.base + "/v1/webhooks/whatsapp_cloud/default"
	resp, err := http.Get(hook + "?hub.mode=subscribe&hub.verify_token=" + metaVerify + "&hub.challenge=1158201444")
	if err != nil {
		t.Fatal(err)
	}
	var challenge [16]byte
	n, _ := resp.Body.Read(challenge[:])
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(challenge[:n]) != "1158201444" {
		t.Fatalf("the handshake answered %d %q", resp.StatusCode, challenge[:n])
	}

	cases := []struct {
		connector, path, customer string
		ask, tap                  func(n int) string
		rendered                  string // how the question's buttons look in the Send API body
	}{
		{"whatsapp_cloud", graphfake.Path(waNumberID + "/messages"), "16505551234",
			func(n int) string {
				return waMessage(n, `"type":"text","text":{"body":"I want a live agent"}`)
			},
			func(n int) string {
				return waMessage(n, `"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"id","title":"Bahasa Indonesia"}}`)
			},
			`"type":"button"`},
		{"messenger", graphfake.Path(fbPageID + "/messages"), "6783451209876543",
			func(n int) string {
				return pageMessage("page", fbPageID, "6783451209876543", n, `"text":"I want a live agent"`)
			},
			func(n int) string {
				return pageMessage("page", fbPageID, "6783451209876543", n, `"text":"Bahasa Indonesia","quick_reply":{"payload":"id"}`)
			},
			`"quick_replies"`},
		{"instagram", graphfake.Path(igID + "/messages"), "1284659371024863",
			func(n int) string {
				return pageMessage("instagram", igID, "1284659371024863", n, `"text":"I want a live agent"`)
			},
			func(n int) string {
				return pageMessage("instagram", igID, "1284659371024863", n, `"text":"Bahasa Indonesia","quick_reply":{"payload":"id"}`)
			},
			`"quick_replies"`},
	}
	for i, c := range cases {
		metaHook(r, c.connector, c.ask(2*i))
		question := sentTo(t, fake, c.path, "Which language do you prefer?")
		raw, _ := json.Marshal(question)
		for _, want := range []string{c.rendered, `"English"`, `"Bahasa Indonesia"`, c.customer} {
			if !strings.Contains(string(raw), want) {
				t.Fatalf("%s: the question as sent lacks %s: %s", c.connector, want, raw)
			}
		}
		metaHook(r, c.connector, c.tap(2*i+1))
		task := r.accept("ana", agent)
		got := r.taskStatus(task, "assigned")
		attrs, _ := json.Marshal(got["attributes"])
		if !strings.Contains(string(attrs), `"language":"id"`) {
			t.Fatalf("%s: the task's attributes %s", c.connector, attrs)
		}
		r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
	}
}

// waMessage is a WhatsApp Cloud notification of one message from the
// customer 16505551234, numbered n.
func waMessage(n int, content string) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp",`+
		`"metadata":{"display_phone_number":"15550783881","phone_number_id":"%s"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],`+
		`"messages":[{"from":"16505551234","id":"wamid.e2e%04d","timestamp":"%d",%s}]},"field":"messages"}]}]}`,
		waNumberID, n, time.Now().Unix(), content)
}

// pageMessage is a Messenger ("page") or Instagram notification of one
// message from sender to the account, numbered n.
func pageMessage(object, account, sender string, n int, message string) string {
	ms := time.Now().UnixMilli()
	return fmt.Sprintf(`{"object":"%s","entry":[{"id":"%s","time":%d,"messaging":[{"sender":{"id":"%s"},"recipient":{"id":"%s"},`+
		`"timestamp":%d,"message":{"mid":"m_e2e%04d",%s}}]}]}`, object, account, ms, sender, account, ms, n, message)
}
