package messenger_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging/messagingtest"
	"github.com/switchboard-dev/switchboard/connectors/meta/messenger"
)

// FuzzMessengerReceive: see messagingtest.Fuzz. Seeds: the recorded
// payloads and testdata/fuzz/FuzzMessengerReceive.
func FuzzMessengerReceive(f *testing.F) {
	c := newConnector(f, config("http://127.0.0.1:1", nil), connectors.Resources{})
	messagingtest.Fuzz(f, c, messagingtest.Load(f, payloads), secret, hook, messenger.Channel)
}

// BenchmarkReceive measures verifying and parsing one text message as
// Meta posts it.
func BenchmarkReceive(b *testing.B) {
	c := newConnector(b, config("http://127.0.0.1:1", nil), connectors.Resources{})
	messagingtest.Bench(b, c, messagingtest.Find(b, messagingtest.Load(b, payloads), "text"), secret, hook)
}

// BenchmarkReceiveBatched measures an entry of two events, a message and
// a delivery receipt.
func BenchmarkReceiveBatched(b *testing.B) {
	c := newConnector(b, config("http://127.0.0.1:1", nil), connectors.Resources{})
	messagingtest.Bench(b, c, messagingtest.Find(b, messagingtest.Load(b, payloads), "batched"), secret, hook)
}
