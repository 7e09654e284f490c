package whatsapp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
)

// FuzzWhatsAppReceive feeds Receive arbitrary bodies and signatures. When
// sign is true the body is signed correctly, so the fuzzer reaches the
// parser. Properties: Receive never panics; it accepts only a body whose
// signature an independent computation confirms; every refusal is a
// *StatusError, and a 400 (the parser speaking) only answers an authentic
// body; every message has a PlatformID, a From and the channel whatsapp,
// and a status report a Status with its platform id. Seeds: the recorded
// payloads and testdata/fuzz/FuzzWhatsAppReceive. The connector points at
// an unreachable Graph API: media fetches fail in the background.
func FuzzWhatsAppReceive(f *testing.F) {
	for _, p := range loadPayloads(f) {
		f.Add(p.Body, "", true)
	}
	c := newConnector(f, config(f, "http://127.0.0.1:1", nil), connectors.Resources{})
	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool) {
		if sign {
			sig = graph.Signature(appSecret, body)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(graph.HeaderSignature, sig)
		r := &connectors.Request{Method: http.MethodPost, URL: webhook, Header: h, Body: body}
		in, err := c.Receive(context.Background(), r)
		authentic := sig == graph.Signature(appSecret, body)
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, 400)
			return
		}
		if !authentic {
			t.Fatalf("accepted a body without a valid signature: %q %q", body, sig)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not JSON: %q", body)
		}
		for i, m := range in {
			if m.PlatformID == "" || m.From == "" || m.Channel != "whatsapp" {
				t.Fatalf("message %d breaks the contract: %+v", i, m)
			}
			if m.Status != nil && (m.Status.PlatformID == "" || m.PlatformID != m.Status.PlatformID+"/"+m.Status.Status) {
				t.Fatalf("message %d: status %+v under %q", i, m.Status, m.PlatformID)
			}
		}
	})
}
