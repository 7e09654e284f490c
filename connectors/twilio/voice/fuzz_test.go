package voice_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

// FuzzVoiceReceive feeds Receive arbitrary callback queries and bodies.
// When sign is true the request carries a valid signature for its URL
// and body, so the fuzzer reaches the parser too. Properties: Receive
// never panics; an accepted request is authentic and gives voice
// messages with a PlatformID, a From and the CallSid as Thread; a refusal
// is a *StatusError, and a 400 (the parser speaking) only ever answers an
// authentic request. The recorded payloads are the seeds.
func FuzzVoiceReceive(f *testing.F) {
	for _, p := range loadPayloads(f) {
		f.Add(p.query, p.body, true)
	}
	f.Add("on=hold&task=WT1", "CallSid=CA1&From=%2B1", false)
	f.Add("on=agent&task=a%2Fb", "CallSid=CA1&From=x&DialCallStatus=busy", true)
	c := newConnector(f, nil, connectors.Resources{})
	f.Fuzz(func(t *testing.T, query, body string, signIt bool) {
		if strings.ContainsAny(query, "#") {
			return // a fragment never reaches the server
		}
		full := webhook
		if query != "" {
			full += "?" + query
		}
		q, _ := url.ParseQuery(query)
		h := http.Header{}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		form, formErr := url.ParseQuery(body)
		authentic := signIt && formErr == nil
		if signIt {
			h.Set("X-Twilio-Signature", sign(authToken, full, form))
		} else {
			h.Set("X-Twilio-Signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
		}
		in, err := c.Receive(context.Background(), &connectors.Request{Method: http.MethodPost, URL: full, Header: h, Query: q, Body: []byte(body)})
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, http.StatusBadRequest)
			return
		}
		if !authentic {
			t.Fatalf("accepted a request without a valid signature: %q %q", query, body)
		}
		for i, m := range in {
			// The thread is the caller's call: the request's own, or its
			// parent when the request is the agent's leg picking up.
			thread := form.Get("CallSid")
			if m.Call != nil && m.Call.Kind == connectors.CallAnsweredEvent {
				thread = form.Get("ParentCallSid")
			}
			if m.PlatformID == "" || m.From == "" || m.Channel != connectors.ChannelVoice || m.Thread != thread ||
				!strings.HasPrefix(m.PlatformID, form.Get("CallSid")) {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
	})
}
