package messaging_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// FuzzTwilioReceive feeds Receive arbitrary bodies, queries and
// signatures. When sign is true the request is signed correctly over the
// decoded body, so the fuzzer also reaches the parser. Properties:
// Receive never panics; it accepts only a request whose signature an
// independent computation confirms; every refusal is a *StatusError, and
// a 400 (the parser speaking) only ever answers an authentic request;
// every message has a PlatformID, a From, the channel sms or whatsapp,
// and a status callback a Status. Seeds: the recorded payloads and
// testdata/fuzz/FuzzTwilioReceive.
func FuzzTwilioReceive(f *testing.F) {
	for _, p := range loadPayloads(f) {
		f.Add([]byte(p.body), p.query, "", true)
	}
	c := newConnector(f, config("http://127.0.0.1:1", nil), connectors.Resources{})
	f.Fuzz(func(t *testing.T, body []byte, query, sig string, sign bool) {
		full := webhook
		if query != "" {
			full += "?" + query
		}
		form, formErr := url.ParseQuery(string(body))
		if sign && formErr == nil {
			sig = twilioapi.Signature(token, full, form)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set(twilioapi.HeaderSignature, sig)
		r := &connectors.Request{Method: http.MethodPost, URL: full, Header: h, Body: body}

		in, err := c.Receive(context.Background(), r)
		authentic := formErr == nil && sig == twilioapi.Signature(token, full, form)
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, 400)
			return
		}
		if !authentic {
			t.Fatalf("accepted a request without a valid signature: %q %q", body, sig)
		}
		for i, m := range in {
			if m.PlatformID == "" || m.From == "" || (m.Channel != "sms" && m.Channel != "whatsapp") {
				t.Fatalf("message %d breaks the contract: %+v", i, m)
			}
			if (form.Get("MessageStatus") != "" && !form.Has("Body")) != (m.Status != nil) {
				t.Fatalf("message %d: status %+v for %q", i, m.Status, body)
			}
		}
	})
}
