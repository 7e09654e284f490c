package custom_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// FuzzCustomReceive feeds Receive arbitrary bodies and headers. When sign
// is true a valid signature for (ts, body) is put before sig, so the
// fuzzer also reaches the parser. Properties: Receive never panics; every
// accepted request carries a valid signature and a fresh timestamp, and
// gives messages with a PlatformID and a From; every refusal is a
// *StatusError, and a 400 (the parser speaking) only ever answers an
// authentic request. The seed corpus is testdata/fuzz/FuzzCustomReceive.
func FuzzCustomReceive(f *testing.F) {
	c := newConnector(f, connectors.Config{"secret": secret}, connectors.Resources{})
	f.Fuzz(func(t *testing.T, body []byte, ts, sig, contentType string, sign bool) {
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set(custom.HeaderTimestamp, ts)
		if sign {
			sig = "v1=" + hmacHex(secret, ts, body) + "," + sig
		}
		h.Set(custom.HeaderSignature, sig)
		r := &connectors.Request{Method: http.MethodPost, Header: h, Body: body}

		in, err := c.Receive(context.Background(), r)
		authentic := validSignature(ts, sig, body) && fresh(ts)
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, 400)
			return
		}
		if !authentic {
			t.Fatalf("accepted a request without a valid, fresh signature: ts %q sig %q", ts, sig)
		}
		for i, m := range in {
			if m.PlatformID == "" || m.From == "" || m.Channel != "custom" || len(m.PlatformID) > custom.MaxIDBytes {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
	})
}

// validSignature is an independent check of the v1 scheme.
func validSignature(ts, header string, body []byte) bool {
	want := hmacHex(secret, ts, body)
	for part := range strings.SplitSeq(header, ",") {
		scheme, hexsig, _ := strings.Cut(strings.TrimSpace(part), "=")
		if scheme == "v1" && strings.EqualFold(hexsig, want) {
			return true
		}
	}
	return false
}

func fresh(ts string) bool {
	if ts == "" || len(ts) > 12 || strings.Trim(ts, "0123456789") != "" {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d <= custom.DefaultTolerance && d >= -custom.DefaultTolerance
}
