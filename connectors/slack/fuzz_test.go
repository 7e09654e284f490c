package slack_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/slack"
)

// FuzzSlackReceive feeds Receive arbitrary bodies, content types,
// signatures and timestamps. When sign is true the body is signed
// correctly, so the fuzzer reaches the parsers (JSON events and
// interaction forms). Properties: Receive never panics; it accepts only a
// body whose signature an independent computation confirms, sent within
// the replay window; every refusal is a *StatusError, and a 400 (the
// parser speaking) only answers an authentic body; every message has a
// PlatformID, a "channel/user" From and the channel slack. Seeds: the
// recorded payloads and testdata/fuzz/FuzzSlackReceive.
func FuzzSlackReceive(f *testing.F) {
	for _, p := range loadPayloads(f) {
		f.Add(p.body, p.request(now).Header.Get("Content-Type"), "", int64(0), true)
	}
	c := newConnector(f, config("http://127.0.0.1:1/api/", nil), connectors.Resources{})
	f.Fuzz(func(t *testing.T, body []byte, contentType, sig string, skew int64, sign bool) {
		ts := strconv.FormatInt(now.Unix()+skew, 10)
		if sign {
			sig = slack.Sign(secret, ts, body)
		}
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set(slack.HeaderSignature, sig)
		h.Set(slack.HeaderTimestamp, ts)
		r := &connectors.Request{Method: http.MethodPost, URL: webhook, Header: h, Body: body}
		in, err := c.Receive(context.Background(), r)
		fresh := time.Duration(max(skew, -skew))*time.Second <= slack.Tolerance
		authentic := fresh && sig == slack.Sign(secret, ts, body)
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, 400)
			return
		}
		if !authentic {
			t.Fatalf("accepted a body without a valid, fresh signature: %q %q skew %d", body, sig, skew)
		}
		for i, m := range in {
			if m.PlatformID == "" || len(m.From) < 3 || m.Channel != slack.Channel {
				t.Fatalf("message %d breaks the contract: %+v", i, m)
			}
		}
	})
}
