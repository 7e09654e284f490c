package instagram_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/connectors/meta/instagram"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging/messagingtest"
)

const (
	igID     = "17841405822304914"
	pageID   = "104729681234567"
	secret   = "b7e2d94f1a3c6e8d0f2b4a6c8e1d3f5a"
	verify   = "switchboard-verify-ig-3Hx9"
	hook     = "https://switchboard.example.com/v1/webhooks/instagram/default"
	payloads = "../../../testdata/connectors/instagram"
)

// config is a working instagram_login configuration against api; extra
// fields override it ("" deletes).
func config(api string, extra connectors.Config) connectors.Config {
	cfg := connectors.Config{"ig_id": igID, "access_token": graphfake.Token, "app_secret": secret,
		"verify_token": verify, "graph_url": api}
	return messagingtest.Merge(cfg, extra)
}

// newConnector builds an instance with a registry of its own.
func newConnector(t testing.TB, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	return messagingtest.Instance(t, instagram.Spec(), instagram.New, cfg, res)
}

// TestReceivePayloads runs the recorded webhooks through both APIs'
// instances: they take the same events.
func TestReceivePayloads(t *testing.T) {
	for _, api := range []connectors.Config{{"api": instagram.APIInstagramLogin}, {"api": instagram.APIFacebookLogin, "page_id": pageID}} {
		t.Run(api.String("api"), func(t *testing.T) {
			c := newConnector(t, config("http://127.0.0.1:1", api), connectors.Resources{})
			messagingtest.RunPayloads(t, c, payloads, secret, hook, instagram.Channel)
		})
	}
}

// fakeConnector builds an instance against the fake Graph API.
func fakeConnector(t testing.TB, f *graphfake.Fake, extra connectors.Config) connectors.Connector {
	res := connectors.Resources{HTTPClient: f.Client()}
	return newConnector(t, config(f.URL, extra), res)
}

// TestSend runs the Send cases on both APIs: the same bodies, to the
// account's endpoint with Instagram Login, to the Page's with Facebook
// Login.
func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name string
		api  connectors.Config
		path string
	}{
		{instagram.APIInstagramLogin, nil, igID + "/messages"},
		{instagram.APIFacebookLogin, connectors.Config{"api": instagram.APIFacebookLogin, "page_id": pageID}, pageID + "/messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newConn := func(t testing.TB, f *graphfake.Fake, extra connectors.Config) connectors.Connector {
				return fakeConnector(t, f, messagingtest.Merge(tc.api, extra))
			}
			messagingtest.RunSend(t, messagingtest.Send{New: newConn, Path: graphfake.Path(tc.path),
				Channel: instagram.Channel, To: "1284659371024863", Limit: instagram.MaxText, Bytes: true})
		})
	}
}
