package email_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// BenchmarkReceive measures checking the secret and parsing one reply
// with quoted history and a signature.
func BenchmarkReceive(b *testing.B) {
	c := newConnector(b, nil, connectors.Resources{})
	r := post(findPayload(b, "reply-gmail").raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Receive(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiveHTML measures an HTML-only message, converted to text.
func BenchmarkReceiveHTML(b *testing.B) {
	c := newConnector(b, nil, connectors.Resources{})
	r := post(findPayload(b, "html-only").raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Receive(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
