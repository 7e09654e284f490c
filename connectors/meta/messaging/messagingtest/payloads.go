// Package messagingtest is the tests the Messenger and Instagram
// connectors share, run by each with its own configuration: the recorded
// webhooks of testdata/connectors/{messenger,instagram} against their
// expected Inbound messages, the hub.challenge handshake, the
// X-Hub-Signature-256 vectors, the exact Send API requests against
// connectors/meta/graphfake, the conformance kit (connectors/connectortest)
// and the fuzzing of Receive. Only tests import it.
package messagingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

// UpdateEnv names the environment variable that makes RunPayloads write
// what Receive gives into the want sections instead of comparing.
const UpdateEnv = "META_UPDATE"

// Payload is one recorded webhook: a txtar file whose comment says what
// it is, with a body section (the JSON exactly as Meta sends it) and a
// want section (the Inbound messages Receive gives, as JSON).
type Payload struct {
	File, Name string
	Body       []byte
	Want       json.RawMessage
	rec        connectortest.Payload
}

// Load reads the payloads of dir.
func Load(t testing.TB, dir string) []Payload {
	t.Helper()
	var out []Payload
	for _, rec := range connectortest.Payloads(t, dir, "body") {
		p := Payload{File: rec.Path, Name: rec.Name, Body: rec.Trimmed("body"), Want: rec.Sections["want"], rec: rec}
		if len(p.Body) == 0 || p.Want == nil || len(bytes.TrimSpace(rec.Comment)) == 0 {
			t.Fatalf("%s: needs a comment, a body and a want", p.File)
		}
		out = append(out, p)
	}
	return out
}

// Find returns the payload called name.
func Find(t testing.TB, payloads []Payload, name string) Payload {
	t.Helper()
	for _, p := range payloads {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no payload %q", name)
	return Payload{}
}

// RunPayloads signs every payload of dir with secret, as Meta would post
// it to hook, and compares what c.Receive gives with its want section.
// Every message must be on channel, with a PlatformID and a From.
func RunPayloads(t *testing.T, c connectors.Connector, dir, secret, hook, channel string) {
	update := os.Getenv(UpdateEnv) != ""
	for _, p := range Load(t, dir) {
		t.Run(p.Name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), graphfake.Webhook(secret, hook, p.Body))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			p.rec.CheckInbounds(t, got, update)
			if update {
				return
			}
			for _, m := range got {
				if m.PlatformID == "" || m.From == "" || m.Channel != channel {
					t.Errorf("message breaks the contract: %+v", m)
				}
			}
		})
	}
}

// Merge returns base with the fields of extra set over it; an empty value
// in extra deletes the field.
func Merge(base, extra connectors.Config) connectors.Config {
	out := connectors.Config{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Instance builds an instance of the connector of spec with a registry
// of its own, as the runtime would.
func Instance(t testing.TB, spec *connectors.Spec, ctor connectors.Constructor, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	reg := connectors.NewRegistry()
	reg.MustRegister(spec, ctor)
	c, err := reg.New(spec.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
