package line_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
)

// BenchmarkReceive measures verifying and parsing one webhook as LINE
// posts it: a text message (CHANNELS.md §14 T8's body), and a batch of
// four events.
func BenchmarkReceive(b *testing.B) {
	for _, name := range []string{"text", "batch"} {
		b.Run(name, func(b *testing.B) {
			c := newConnector(b, config("http://127.0.0.1:1", nil), connectors.Resources{})
			r := linefake.Webhook(secret, webhook, findPayload(b, name).Body)
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
