package instagram_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/connectors/meta/instagram"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging/messagingtest"
)

const (
	igID   = "17841405822304914"
	pageID = "104729681234567"
	igsid  = "1284659371024863"
	secret = "b7e2d94f1a3c6e8d0f2b4a6c8e1d3f5a"
)

// ig is the connector with Instagram Login; fb the same with Facebook
// Login, through the Page.
var (
	ig = messagingtest.Connector{
		Spec: instagram.Spec(), Ctor: instagram.New,
		Config: func(api string, extra connectors.Config) connectors.Config {
			return messagingtest.Merge(connectors.Config{"ig_id": igID, "access_token": graphfake.Token, "app_secret": secret,
				"verify_token": "switchboard-verify-ig-3Hx9", "graph_url": api}, extra)
		},
		Payloads: "../../../testdata/connectors/instagram", Secret: secret, Verify: "switchboard-verify-ig-3Hx9",
		Hook: "https://switchboard.example.com/v1/webhooks/instagram/default", To: igsid,
	}
	fb = facebookLogin()
)

func facebookLogin() messagingtest.Connector {
	k := ig
	k.Config = func(api string, extra connectors.Config) connectors.Config {
		return ig.Config(api, messagingtest.Merge(connectors.Config{"api": instagram.APIFacebookLogin, "page_id": pageID}, extra))
	}
	return k
}

// TestReceive: the recorded payloads, the handshake, the signature
// vectors and the conformance kit, through both APIs: they take the same
// events.
func TestReceive(t *testing.T) {
	t.Run(instagram.APIInstagramLogin, ig.RunReceive)
	t.Run(instagram.APIFacebookLogin, fb.RunReceive)
}

// TestSend runs the Send cases on both APIs: the same bodies, to the
// account's endpoint with Instagram Login, to the Page's with Facebook
// Login.
func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name string
		k    messagingtest.Connector
		path string
	}{
		{instagram.APIInstagramLogin, ig, igID + "/messages"},
		{instagram.APIFacebookLogin, fb, pageID + "/messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			messagingtest.RunSend(t, messagingtest.Send{
				New: func(t testing.TB, f *graphfake.Fake, extra connectors.Config) connectors.Connector {
					return tc.k.New(t, tc.k.Config(f.URL, extra), connectors.Resources{HTTPClient: f.Client()})
				},
				Path: graphfake.Path(tc.path), Channel: instagram.Channel, To: igsid, Limit: instagram.MaxText, Bytes: true})
		})
	}
}

// FuzzInstagramReceive: see messagingtest.Fuzz. Seeds: the recorded
// payloads and testdata/fuzz/FuzzInstagramReceive.
func FuzzInstagramReceive(f *testing.F) { ig.Fuzz(f) }

// BenchmarkReceive measures verifying and parsing one Direct message as
// Meta posts it; BenchmarkReceiveBatched an entry of a message and a read
// receipt.
func BenchmarkReceive(b *testing.B)        { ig.Bench(b, "text") }
func BenchmarkReceiveBatched(b *testing.B) { ig.Bench(b, "batched") }
