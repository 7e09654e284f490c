package custom_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// BenchmarkReceive measures verifying and parsing one typical message.
func BenchmarkReceive(b *testing.B) {
	c := newConnector(b, connectors.Config{"secret": secret}, connectors.Resources{})
	r := signed(`{"id":"msg-000001","from":"+15550100","to":"kiosk-7","text":"I would like to talk to a live agent please"}`, now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Receive(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRespond measures writing an inline answer with one reply.
func BenchmarkRespond(b *testing.B) {
	c := newConnector(b, connectors.Config{"secret": secret}, connectors.Resources{}).(connectors.InlineResponder)
	in := []connectors.Inbound{{PlatformID: "m", From: "+15550100", Channel: "custom"}}
	re := connectors.Reaction{Replies: []connectors.Outbound{{Key: "01HF7Y3M9Q2ZP6C8W4K5J0T1VX", To: "+15550100", Text: "Hi! Type 'live agent' to talk to a person."}}}
	b.ReportAllocs()
	for b.Loop() {
		c.Respond(in, re)
	}
}
