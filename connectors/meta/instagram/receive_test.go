package instagram_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/connectors/meta/instagram"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging/messagingtest"
)

func TestHandshake(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	messagingtest.RunHandshake(t, c, hook, verify)
}

func TestSignatureVectors(t *testing.T) {
	newConn := func(t testing.TB, appSecret string) connectors.Connector {
		return newConnector(t, config("http://127.0.0.1:1", connectors.Config{"app_secret": appSecret}), connectors.Resources{})
	}
	messagingtest.RunVectors(t, newConn, hook, payloads+"/signatures.json", "../graph/testdata/vectors.json")
}

func TestConformance(t *testing.T) {
	messagingtest.Conformance(t, messagingtest.Kit{
		New: func(t testing.TB, apiURL string, res connectors.Resources) connectors.Connector {
			return newConnector(t, config(apiURL, nil), res)
		},
		Body: messagingtest.Find(t, messagingtest.Load(t, payloads), "text").Body, Secret: secret, Hook: hook,
		Channel: instagram.Channel, To: "1284659371024863",
	})
}

// TestReceiveMessengerObject: a Page's notification sent to an Instagram
// webhook is refused for its object.
func TestReceiveMessengerObject(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	_, err := c.Receive(context.Background(), graphfake.Webhook(secret, hook, []byte(`{"object":"page","entry":[]}`)))
	var se *connectors.StatusError
	if connectors.StatusOf(err) != 400 || !errors.As(err, &se) || se.Reason != `object "page": this webhook takes "instagram" notifications` {
		t.Errorf("err = %v", err)
	}
}

// FuzzInstagramReceive: see messagingtest.Fuzz. Seeds: the recorded
// payloads and testdata/fuzz/FuzzInstagramReceive.
func FuzzInstagramReceive(f *testing.F) {
	c := newConnector(f, config("http://127.0.0.1:1", nil), connectors.Resources{})
	messagingtest.Fuzz(f, c, messagingtest.Load(f, payloads), secret, hook, instagram.Channel)
}

// BenchmarkReceive measures verifying and parsing one Direct message as
// Meta posts it.
func BenchmarkReceive(b *testing.B) {
	c := newConnector(b, config("http://127.0.0.1:1", nil), connectors.Resources{})
	messagingtest.Bench(b, c, messagingtest.Find(b, messagingtest.Load(b, payloads), "text"), secret, hook)
}

// BenchmarkReceiveBatched measures an entry of two events, a message and
// a read receipt.
func BenchmarkReceiveBatched(b *testing.B) {
	c := newConnector(b, config("http://127.0.0.1:1", nil), connectors.Resources{})
	messagingtest.Bench(b, c, messagingtest.Find(b, messagingtest.Load(b, payloads), "batched"), secret, hook)
}
