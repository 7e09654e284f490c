package messaging_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// BenchmarkReceive measures verifying and parsing one inbound WhatsApp
// message as Twilio posts it.
func BenchmarkReceive(b *testing.B) {
	c := newConnector(b, config("http://127.0.0.1:1", nil), connectors.Resources{})
	var body string
	for _, p := range loadPayloads(b) {
		if p.Name == "whatsapp-profile-name" {
			body = p.body
		}
	}
	r := post("", body, token)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Receive(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiveStatus measures a status callback.
func BenchmarkReceiveStatus(b *testing.B) {
	c := newConnector(b, config("http://127.0.0.1:1", nil), connectors.Resources{})
	var body string
	for _, p := range loadPayloads(b) {
		if p.Name == "status-delivered" {
			body = p.body
		}
	}
	r := post("", body, token)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Receive(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRespond measures the TwiML answer with one reply.
func BenchmarkRespond(b *testing.B) {
	c := newConnector(b, config("http://127.0.0.1:1", nil), connectors.Resources{}).(connectors.InlineResponder)
	in := []connectors.Inbound{{PlatformID: "SM1", From: "+14155550100", Channel: "sms"}}
	re := connectors.Reaction{Replies: []connectors.Outbound{{Key: "01HF7Y3M9Q2ZP6C8W4K5J0T1VX", To: "+14155550100", Text: "Thanks! An agent will reply shortly."}}}
	b.ReportAllocs()
	for b.Loop() {
		c.Respond(in, re)
	}
}
