package messenger_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging/messagingtest"
	"github.com/switchboard-dev/switchboard/connectors/meta/messenger"
)

const (
	pageID = "104729681234567"
	psid   = "6783451209876543"
	secret = "6f3b1e9a2c7d4f8e0a5b3c1d9e7f2a4b"
	hook   = "https://switchboard.example.com/v1/webhooks/messenger/default"
)

var meta = messagingtest.Connector{
	Spec: messenger.Spec(), Ctor: messenger.New,
	Config: func(api string, extra connectors.Config) connectors.Config {
		return messagingtest.Merge(connectors.Config{"page_id": pageID, "page_access_token": graphfake.Token, "app_secret": secret,
			"verify_token": "switchboard-verify-7Qm2", "graph_url": api}, extra)
	},
	Payloads: "../../../testdata/connectors/messenger", Secret: secret, Verify: "switchboard-verify-7Qm2", Hook: hook, To: psid,
}

// TestReceive: the recorded payloads, the handshake, the signature
// vectors and the conformance kit.
func TestReceive(t *testing.T) { meta.RunReceive(t) }

func TestSend(t *testing.T) {
	messagingtest.RunSend(t, messagingtest.Send{
		New: func(t testing.TB, f *graphfake.Fake, extra connectors.Config) connectors.Connector {
			return meta.New(t, meta.Config(f.URL, extra), connectors.Resources{HTTPClient: f.Client()})
		},
		Path: graphfake.Path(pageID + "/messages"), Channel: messenger.Channel, To: psid, Limit: messenger.MaxText})
}

// FuzzMessengerReceive: see messagingtest.Fuzz. Seeds: the recorded
// payloads and testdata/fuzz/FuzzMessengerReceive.
func FuzzMessengerReceive(f *testing.F) { meta.Fuzz(f) }

// BenchmarkReceive measures verifying and parsing one text message as
// Meta posts it; BenchmarkReceiveBatched an entry of a message and a
// delivery receipt.
func BenchmarkReceive(b *testing.B)        { meta.Bench(b, "text") }
func BenchmarkReceiveBatched(b *testing.B) { meta.Bench(b, "batched") }
