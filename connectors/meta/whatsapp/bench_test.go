package whatsapp_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

// BenchmarkReceive measures verifying and parsing one notification as
// Meta posts it: a text message (CHANNELS.md §14 T7's body), and a
// delivery status.
func BenchmarkReceive(b *testing.B) {
	for _, name := range []string{"text", "status-delivered"} {
		b.Run(name, func(b *testing.B) {
			c := newConnector(b, config(b, "http://127.0.0.1:1", nil), connectors.Resources{})
			r := graphfake.Webhook(appSecret, webhook, findPayload(b, name).Body)
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
