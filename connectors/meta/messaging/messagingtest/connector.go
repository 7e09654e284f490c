package messagingtest

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Connector describes one of the Meta messaging connectors to the shared
// tests.
type Connector struct {
	Spec *connectors.Spec
	Ctor connectors.Constructor
	// Config is a working configuration calling the Graph API at apiURL,
	// with extra's fields over it (an empty value deletes the field).
	Config   func(apiURL string, extra connectors.Config) connectors.Config
	Payloads string // the directory of its recorded webhooks and signatures.json
	Secret   string // the app secret of Config
	Verify   string // the verify token of Config
	Hook     string // the instance's webhook URL
	To       string // a customer's id
}

// channel is the connector's channel, named like it.
func (k Connector) channel() string { return k.Spec.Name }

// New builds an instance of cfg with a registry of its own.
func (k Connector) New(t testing.TB, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	return Instance(t, k.Spec, k.Ctor, cfg, res)
}

// Offline builds a working instance whose Graph API cannot be reached:
// for the tests of Receive, which makes no call.
func (k Connector) Offline(t testing.TB) connectors.Connector {
	return k.New(t, k.Config("http://127.0.0.1:1", nil), connectors.Resources{})
}

// RunReceive runs the recorded payloads, the handshake, the signature
// vectors (the connector's own and CHANNELS.md's T7, from
// connectors/meta/graph's testdata) and the conformance kit.
func (k Connector) RunReceive(t *testing.T) {
	t.Run("payloads", func(t *testing.T) { RunPayloads(t, k.Offline(t), k.Payloads, k.Secret, k.Hook, k.channel()) })
	t.Run("handshake", func(t *testing.T) { RunHandshake(t, k.Offline(t), k.Hook, k.Verify) })
	t.Run("vectors", func(t *testing.T) {
		newConn := func(t testing.TB, appSecret string) connectors.Connector {
			return k.New(t, k.Config("http://127.0.0.1:1", connectors.Config{"app_secret": appSecret}), connectors.Resources{})
		}
		RunVectors(t, newConn, k.Hook, k.Payloads+"/signatures.json", "../graph/testdata/vectors.json")
	})
	t.Run("kit", func(t *testing.T) {
		Conformance(t, Kit{
			New: func(t testing.TB, apiURL string, res connectors.Resources) connectors.Connector {
				return k.New(t, k.Config(apiURL, nil), res)
			},
			Body: Find(t, Load(t, k.Payloads), "text").Body, Secret: k.Secret, Hook: k.Hook, Channel: k.channel(), To: k.To,
		})
	})
}

// Fuzz fuzzes Receive (see the function Fuzz) seeded with the payloads.
func (k Connector) Fuzz(f *testing.F) {
	Fuzz(f, k.Offline(f), Load(f, k.Payloads), k.Secret, k.Hook, k.channel())
}

// Bench measures Receive of the payload called name.
func (k Connector) Bench(b *testing.B, name string) {
	Bench(b, k.Offline(b), Find(b, Load(b, k.Payloads), name), k.Secret, k.Hook)
}

// Configured builds an instance of Config's fields with extra over them
// and res; when problem is not "", it checks that the configuration is
// refused with an error that says it, and returns nil.
func (k Connector) Configured(t *testing.T, extra connectors.Config, res connectors.Resources, problem string) connectors.Connector {
	t.Helper()
	reg := connectors.NewRegistry()
	reg.MustRegister(k.Spec, k.Ctor)
	c, err := reg.New(k.Spec.Name, k.Config("http://127.0.0.1:1", extra), res)
	switch {
	case problem != "" && (err == nil || !strings.Contains(err.Error(), problem)):
		t.Fatalf("err = %v, want %q", err, problem)
	case problem != "":
		return nil
	case err != nil:
		t.Fatal(err)
	}
	return c
}
