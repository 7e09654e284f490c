package discord_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/discord"
)

// TestConfig: configurations the constructor refuses, with the field and
// the problem.
func TestConfig(t *testing.T) {
	if err := discord.Spec().Validate(); err != nil {
		t.Fatal(err)
	}
	base := config("https://discord.com/api/v10", "wss://gateway.discord.gg")
	for _, tc := range []struct {
		name  string
		field string
		value string
		want  string
	}{
		{"no token", "bot_token", "", `config field "bot_token": required`},
		{"no public key", "public_key", "", `config field "public_key": required`},
		{"a short public key", "public_key", "d75a9801", `config field "public_key": want the application's public key as 64 hex digits, got 8 characters`},
		{"a public key not hex", "public_key", strings.Repeat("zz", 32), `config field "public_key": want the application's public key as 64 hex digits, got 64 characters`},
		{"an http gateway", "gateway_url", "https://gateway.discord.gg", `config field "gateway_url": "https://gateway.discord.gg" is not a ws:// or wss:// URL`},
		{"a gateway with its query", "gateway_url", "wss://gateway.discord.gg/?v=10&encoding=json", `config field "gateway_url": the connector adds the query (v=10&encoding=json) itself`},
		{"an api_url that is no URL", "api_url", "discord.com", `config field "api_url"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := connectors.Config{}
			for k, v := range base {
				cfg[k] = v
			}
			cfg[tc.field] = tc.value
			reg := connectors.NewRegistry()
			reg.MustRegister(discord.Spec(), discord.New)
			_, err := reg.New(discord.Name, cfg, connectors.Resources{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRespondEmptyReplies: replies with nothing to show leave the
// interaction's deferral, since Discord refuses an empty message.
func TestRespondEmptyReplies(t *testing.T) {
	c := offline(t)
	in := []connectors.Inbound{{PlatformID: "1", From: dm, Channel: "discord", Attributes: map[string]any{"interaction": "component"}}}
	if _, _, body := c.Respond(in, connectors.Reaction{Replies: []connectors.Outbound{{Key: "a", To: dm, Text: "  "}}}); string(body) != `{"type":6}` {
		t.Errorf("Respond = %s, want the deferred update", body)
	}
}
