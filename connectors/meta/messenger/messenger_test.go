package messenger_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging/messagingtest"
	"github.com/switchboard-dev/switchboard/connectors/meta/messenger"
)

const (
	pageID   = "104729681234567"
	secret   = "6f3b1e9a2c7d4f8e0a5b3c1d9e7f2a4b"
	verify   = "switchboard-verify-7Qm2"
	hook     = "https://switchboard.example.com/v1/webhooks/messenger/default"
	payloads = "../../../testdata/connectors/messenger"
)

// config is a working configuration against api; extra fields override
// it ("" deletes).
func config(api string, extra connectors.Config) connectors.Config {
	cfg := connectors.Config{"page_id": pageID, "page_access_token": graphfake.Token, "app_secret": secret,
		"verify_token": verify, "graph_url": api}
	return messagingtest.Merge(cfg, extra)
}

// newConnector builds an instance with a registry of its own.
func newConnector(t testing.TB, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	return messagingtest.Instance(t, messenger.Spec(), messenger.New, cfg, res)
}

func TestReceivePayloads(t *testing.T) {
	c := newConnector(t, config("http://127.0.0.1:1", nil), connectors.Resources{})
	messagingtest.RunPayloads(t, c, payloads, secret, hook, messenger.Channel)
}

// fakeConnector builds an instance against the fake Graph API.
func fakeConnector(t testing.TB, f *graphfake.Fake, extra connectors.Config) connectors.Connector {
	res := connectors.Resources{HTTPClient: f.Client()}
	return newConnector(t, config(f.URL, extra), res)
}

func TestSend(t *testing.T) {
	messagingtest.RunSend(t, messagingtest.Send{New: fakeConnector, Path: graphfake.Path(pageID + "/messages"),
		Channel: messenger.Channel, To: "6783451209876543", Limit: messenger.MaxText})
}
