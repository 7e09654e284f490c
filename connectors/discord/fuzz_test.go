package discord_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/discord"
)

// FuzzDiscordReceive feeds the interactions endpoint arbitrary bodies and
// headers. When sign is true a valid signature of (ts, body) replaces sig,
// so the fuzzer also reaches the parser. Properties: Receive never
// panics; it accepts only authentic requests, and gives messages with a
// PlatformID and a From; every refusal is a *StatusError, and a 400 (the
// parser speaking) only answers an authentic request; Respond always
// answers 200 with JSON. The seed corpus is testdata/fuzz/FuzzDiscordReceive.
func FuzzDiscordReceive(f *testing.F) {
	c := offline(f)
	f.Fuzz(func(t *testing.T, body []byte, ts, sig, contentType string, sign bool) {
		if sign {
			sig = hex.EncodeToString(ed25519.Sign(private, append([]byte(ts), body...)))
		}
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set(discord.HeaderTimestamp, ts)
		h.Set(discord.HeaderSignature, sig)
		in, err := c.Receive(context.Background(), &connectors.Request{Method: http.MethodPost, Header: h, Body: body})
		raw, _ := hex.DecodeString(sig)
		authentic := ts != "" && len(raw) == ed25519.SignatureSize && ed25519.Verify(private.Public().(ed25519.PublicKey), append([]byte(ts), body...), raw)
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, 400)
			return
		}
		if !authentic {
			t.Fatalf("accepted a request without a valid signature: ts %q sig %q", ts, sig)
		}
		for i, m := range in {
			if m.PlatformID == "" || m.From == "" || m.Channel != discord.Channel {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
		if status, ct, _ := c.Respond(in, connectors.Reaction{}); status != 200 || ct != "application/json" {
			t.Fatalf("Respond = %d %s", status, ct)
		}
	})
}
