package telegram_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/telegram/telegramfake"
)

// BenchmarkReceive measures checking the secret and parsing one update as
// Telegram posts it: a text message, and a button tap (whose answer goes
// to an unreachable API in the background).
func BenchmarkReceive(b *testing.B) {
	for _, name := range []string{"text", "callback"} {
		b.Run(name, func(b *testing.B) {
			c := newConnector(b, config(b, "http://127.0.0.1:1", nil), connectors.Resources{})
			r := telegramfake.Webhook(secret, webhook, findPayload(b, name).Body)
			b.SetBytes(int64(len(r.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Receive(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
