package rcs_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/rcs/rbmfake"
)

// FuzzRCSReceive feeds Receive arbitrary envelopes and signatures. When
// sign is true the signature is computed over the envelope's data, so the
// fuzzer reaches the parser. Properties: Receive never panics; it accepts
// only an envelope whose data an independent computation finds signed;
// every refusal is a *StatusError, and a 400 (the parser speaking) only
// answers authentic data; every message has a PlatformID, a From that is
// its Phone and the channel rcs, and a delivery report a Status with its
// platform id. Seeds: the recorded events and testdata/fuzz/FuzzRCSReceive.
func FuzzRCSReceive(f *testing.F) {
	for _, p := range loadPayloads(f) {
		f.Add(rbmfake.Envelope(p.event), "", true)
	}
	f.Add([]byte(`{"clientToken":"SJENCPGJESMGUFPY","secret":"1"}`), "", false)
	fake := rbmfake.New(f, agent)
	c := newConnector(f, config(f, fake, nil), connectors.Resources{})
	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool) {
		var env struct {
			Message struct {
				Data *string `json:"data"`
			} `json:"message"`
		}
		var data []byte
		hasData := json.Unmarshal(body, &env) == nil && env.Message.Data != nil
		if hasData {
			var err error
			data, err = base64.StdEncoding.DecodeString(*env.Message.Data)
			hasData = err == nil
		}
		if sign && hasData {
			sig = rbmfake.Signature(clientToken, data)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("X-Goog-Signature", sig)
		in, err := c.Receive(context.Background(), &connectors.Request{Method: http.MethodPost, URL: webhook, Header: h, Body: body})
		authentic := hasData && sig == rbmfake.Signature(clientToken, data)
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, 400)
			return
		}
		if !authentic {
			t.Fatalf("accepted a body without a valid signature: %q %q", body, sig)
		}
		for i, m := range in {
			if m.PlatformID == "" || m.From == "" || m.Phone != m.From || m.Channel != "rcs" {
				t.Fatalf("message %d breaks the contract: %+v", i, m)
			}
			if m.Status != nil && (m.Status.PlatformID == "" || m.PlatformID != m.Status.PlatformID+"/"+m.Status.Status) {
				t.Fatalf("message %d: status %+v under %q", i, m.Status, m.PlatformID)
			}
		}
	})
}
