package cli

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/discord"
	"github.com/switchboard-dev/switchboard/connectors/discord/discordfake"
)

// The discord connector end to end: `switchboard serve` runs the shipped
// flows with the connector pointed at a fake Discord. serve holds the
// instance's Gateway under its pull lease; a customer's DM arrives there
// and reaches the support flow, whose language question is posted to the
// DM channel with buttons; the tap comes back as a signed interaction,
// answered inline with a deferred update; the task is created with the
// chosen language, and the agent's reply is posted to the DM channel.

const (
	dcAppID   = "1197048256485963936"
	dcChannel = "1345828002201600003"
	dcUser    = "1573264778749546497"
	// RFC 8032 section 7.1 TEST 1's key pair, the T9 vector's.
	dcSeed   = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	dcPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

// discordInteraction posts an interaction signed as Discord signs it and
// returns the answer.
func discordInteraction(r *shipped, body, sigOverride string) (int, string) {
	r.t.Helper()
	seed, _ := hex.DecodeString(dcSeed)
	ts := "1796651943"
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(discord.HeaderTimestamp, ts)
	sig := hex.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seed), []byte(ts+body)))
	if sigOverride != "" {
		sig = sigOverride
	}
	h.Set(discord.HeaderSignature, sig)
	status, _, answer := r.post(r.base+"/v1/webhooks/discord/default", h, []byte(body))
	return status, string(answer)
}

func TestDiscordChoicesToATask(t *testing.T) {
	fake := discordfake.New(t)
	t.Setenv("DISCORD_TOKEN", discordfake.Token)
	r := serveShipped(t, "--connector", "discord/default,bot_token=env:DISCORD_TOKEN,public_key="+dcPublic+
		",application_id="+dcAppID+",api_url="+fake.URL+"/api/v10,gateway_url="+fake.GatewayURL)
	agent := r.worker("ana", map[string]any{"languages": []string{"id", "en"}, "department": "support"}, map[string]int{"chat": 5})

	// Saving the Interactions Endpoint URL: a PING, and a probe with a bad signature.
	if status, answer := discordInteraction(r, `{"application_id":"`+dcAppID+`","id":"1579497724921847290","token":"t","type":1,"version":1}`, ""); status != 200 || answer != `{"type":1}` {
		t.Fatalf("PING: %d %s", status, answer)
	}
	if status, _ := discordInteraction(r, `{"type":1}`, strings.Repeat("00", 64)); status != http.StatusUnauthorized {
		t.Fatalf("a bad signature: %d, want 401", status)
	}

	fake.WaitReady(t) // serve took the lease and identified
	fake.Dispatch("MESSAGE_CREATE", map[string]any{"type": 0, "tts": false, "timestamp": "2026-12-07T13:58:41.812000+00:00",
		"id": "1579497383262266035", "channel_id": dcChannel, "content": "I want a live agent", "attachments": []any{}, "embeds": []any{},
		"mentions": []any{}, "pinned": false, "flags": 0, "nonce": "1579497381806571520", "channel_type": 1,
		"author": map[string]any{"id": dcUser, "username": "mira.k", "global_name": "Mira K", "discriminator": "0"}})
	question := fake.WaitPost(t, "Which language do you prefer?")
	comps, _ := json.Marshal(question.Body["components"])
	if question.Channel != dcChannel || string(comps) != `[{"components":[{"custom_id":"en","label":"English","style":1,"type":2},{"custom_id":"id","label":"Bahasa Indonesia","style":1,"type":2}],"type":1}]` {
		t.Fatalf("the question went to %s with components %s", question.Channel, comps)
	}

	msg, _ := json.Marshal(map[string]any{"id": "1311000000000000001", "channel_id": dcChannel, "type": 0, "content": question.Body["content"],
		"components": question.Body["components"], "author": map[string]any{"id": discordfake.BotID, "username": "Switchboard", "bot": true}})
	status, answer := discordInteraction(r, fmt.Sprintf(`{"app_permissions":"562949953601536","application_id":"%s","channel_id":"%s","context":1,`+
		`"data":{"component_type":2,"custom_id":"id","id":3},"entitlements":[],"id":"1579497724921847301","locale":"id","message":%s,`+
		`"token":"aW50ZXJhY3Rpb246MTU3OTQ5NzcyNDkyMTg0NzMwMQ","type":3,"user":{"id":"%s","username":"mira.k","global_name":"Mira K"},"version":1}`,
		dcAppID, dcChannel, msg, dcUser), "")
	if status != 200 || answer != `{"type":6}` {
		t.Fatalf("the tap was answered %d %s, want the deferred update", status, answer)
	}
	task := r.accept("ana", agent)
	got := r.taskStatus(task, "assigned")
	if attrs, _ := got["attributes"].(map[string]any); attrs["language"] != "id" || attrs["channel"] != "discord" {
		t.Fatalf("the task's attributes %v", got["attributes"])
	}

	r.api("POST", "/v1/tasks/"+task+"/messages", agent, map[string]any{"text": "Hi, Ana here. How can I help?"}, http.StatusAccepted)
	if reply := fake.WaitPost(t, "Hi, Ana here. How can I help?"); reply.Channel != dcChannel {
		t.Errorf("the agent's reply went to channel %s", reply.Channel)
	}
	r.api("POST", "/v1/tasks/"+task+"/complete", agent, nil, http.StatusOK)
}
