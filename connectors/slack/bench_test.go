package slack_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// BenchmarkReceive measures verifying and parsing one request as Slack
// posts it: a direct message (an Events API event) and a tapped button
// (an interaction form).
func BenchmarkReceive(b *testing.B) {
	for _, name := range []string{"dm-text", "block-actions"} {
		b.Run(name, func(b *testing.B) {
			c := newConnector(b, config("http://127.0.0.1:1/api/", nil), connectors.Resources{})
			r := findPayload(b, name).request(now)
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
