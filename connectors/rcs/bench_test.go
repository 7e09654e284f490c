package rcs_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/rcs/rbmfake"
)

// BenchmarkReceive measures decoding, verifying and parsing one event as
// RBM posts it: a text, a tapped suggestion, a delivery report.
func BenchmarkReceive(b *testing.B) {
	for _, name := range []string{"text", "suggestion-response", "delivered"} {
		b.Run(name, func(b *testing.B) {
			c := newConnector(b, config(b, rbmfake.New(b, agent), nil), connectors.Resources{})
			r := rbmfake.Webhook(clientToken, webhook, findPayload(b, name).event)
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
