package telegram_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/telegram"
)

// FuzzTelegramReceive feeds Receive arbitrary bodies and secret headers.
// When right is true the header carries the instance's secret, so the
// fuzzer reaches the parser. Properties: Receive never panics; it accepts
// only the instance's secret; every refusal is a *StatusError, and a 400
// (the parser speaking) only answers an authentic request; every message
// has a PlatformID under the bot's id, a From and the channel telegram.
// Seeds: the recorded payloads and testdata/fuzz/FuzzTelegramReceive. The
// connector points at an unreachable Bot API: file fetches and answers
// to button taps fail in the background.
func FuzzTelegramReceive(f *testing.F) {
	for _, p := range loadPayloads(f) {
		f.Add(p.Body, "", true)
	}
	c := newConnector(f, config(f, "http://127.0.0.1:1", nil), connectors.Resources{})
	f.Fuzz(func(t *testing.T, body []byte, header string, right bool) {
		if right {
			header = secret
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(telegram.HeaderSecret, header)
		in, err := c.Receive(context.Background(), &connectors.Request{Method: http.MethodPost, URL: webhook, Header: h, Body: body})
		authentic := h.Get(telegram.HeaderSecret) == secret
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, 400)
			return
		}
		if !authentic {
			t.Fatalf("accepted a request without the secret: %q %q", body, header)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not JSON: %q", body)
		}
		for i, m := range in {
			if len(m.PlatformID) < len("123456789/1") || m.PlatformID[:10] != "123456789/" || m.From == "" || m.Channel != telegram.Channel {
				t.Fatalf("message %d breaks the contract: %+v", i, m)
			}
		}
	})
}
