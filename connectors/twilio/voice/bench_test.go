package voice_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// BenchmarkReceive measures verifying and parsing one voice webhook: the
// recorded incoming call, with its 30-odd parameters.
func BenchmarkReceive(b *testing.B) {
	var p payload
	for _, q := range loadPayloads(b) {
		if q.Name == "incoming-call" {
			p = q
		}
	}
	c := newConnector(b, nil, connectors.Resources{})
	r := post(p.query, p.body, authToken)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Receive(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRespond measures rendering a typical TwiML answer: a greeting
// and a menu whose answer the flow waits for.
func BenchmarkRespond(b *testing.B) {
	c := newConnector(b, nil, connectors.Resources{}).(connectors.InlineResponder)
	re := connectors.Reaction{Calls: []connectors.CallVerb{
		{Verb: "say", Text: "Thanks for calling Acme."},
		{Verb: "gather", WaitID: "01HF7Y3M9Q2ZP6C8W4K5J0T1VX", Text: "Press 1 for sales, 2 for support.", Digits: 1, Timeout: 5 * time.Second},
	}}
	b.ReportAllocs()
	for b.Loop() {
		c.Respond(callIn, re)
	}
}

// BenchmarkRespondHold measures the hold loop's answer, rendered every
// time the hold music ends.
func BenchmarkRespondHold(b *testing.B) {
	c := newConnector(b, nil, connectors.Resources{}).(connectors.InlineResponder)
	b.ReportAllocs()
	for b.Loop() {
		c.Respond(callIn, connectors.Reaction{Holding: "WT1"})
	}
}
