package email_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/email"
)

// FuzzEmailReceive feeds Receive arbitrary raw messages, with the right
// secret or a fuzzed one. Properties: Receive never panics; it accepts
// only requests with the secret; every refusal is a *StatusError, a 400
// (the parser speaking) only for an authentic request; every message has
// a PlatformID within MaxIDBytes (or a hash), a From, the email channel,
// a thread within MaxIDBytes, and valid UTF-8 text. The recorded
// messages seed it, with the corpus in testdata/fuzz/FuzzEmailReceive.
func FuzzEmailReceive(f *testing.F) {
	for _, p := range loadPayloads(f) {
		f.Add(p.raw, secret, "message/rfc822")
	}
	c := newConnector(f, nil, connectors.Resources{})
	f.Fuzz(func(t *testing.T, raw []byte, key, contentType string) {
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set(email.HeaderSecret, key)
		r := &connectors.Request{Method: http.MethodPost, Header: h, Body: raw}
		in, err := c.Receive(context.Background(), r)
		authentic := key == secret
		if err != nil {
			connectortest.CheckRefusal(t, err, authentic, 400)
			return
		}
		if !authentic {
			t.Fatalf("accepted a request with secret %q", key)
		}
		for i, m := range in {
			if m.PlatformID == "" || len(m.PlatformID) > email.MaxIDBytes || m.From == "" || m.Channel != email.Channel || m.Thread == "" || len(m.Thread) > email.MaxIDBytes {
				t.Fatalf("message %d breaks the contract: %+v", i, m)
			}
			if !utf8.ValidString(m.Text) {
				t.Fatalf("message %d: text is not UTF-8: %q", i, m.Text)
			}
		}
	})
}

// TestFuzzCorpus checks that the checked-in corpus exists, so a fuzz
// regression stays a test.
func TestFuzzCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzEmailReceive", "*"))
	if len(files) == 0 {
		t.Fatal("no seed corpus in testdata/fuzz/FuzzEmailReceive")
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}
