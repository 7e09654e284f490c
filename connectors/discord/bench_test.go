package discord_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// BenchmarkReceive measures verifying and parsing a button's interaction,
// the recorded one with its message.
func BenchmarkReceive(b *testing.B) {
	c := offline(b)
	p := payloads(b, "interactions")
	var r *connectors.Request
	for _, pl := range p {
		if pl.name == "button" {
			r = signed(pl.section("body"), "1796651943")
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Receive(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
