package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

// FuzzReceive feeds Receive arbitrary bodies, Authorization headers and
// content types. When signed is true a valid token of fuzzVisitor is put
// before auth, so the fuzzer also reaches the parser. Properties: Receive
// never panics; every accepted request carries a valid token (checked
// independently of the signer) and gives one message from that token's
// visitor, with a choice id of at most MaxChoiceBytes without control
// characters; every refusal is a *StatusError, and a 400 or 413 (the parser
// speaking) only ever answers a request with a valid token. The seed
// corpus is testdata/fuzz/FuzzReceive.
func FuzzReceive(f *testing.F) {
	c := newTest(f, connectors.Config{"secret": testSecret}, connectors.Resources{})
	token := c.Token(fuzzVisitor)
	f.Fuzz(func(t *testing.T, body []byte, auth, contentType string, signed bool) {
		if signed {
			auth = "Bearer " + token + auth
		}
		h := http.Header{}
		h.Set("Authorization", auth)
		h.Set("Content-Type", contentType)
		r := &connectors.Request{Method: http.MethodPost, Header: h, Body: body}

		in, err := c.Receive(context.Background(), r)
		visitor, authentic := independentVerify(h.Get("Authorization"))
		if err != nil {
			se := connectortest.CheckRefusal(t, err, authentic, 400, 413)
			if se.Reason == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		if !authentic {
			t.Fatalf("accepted a request without a valid token: %q", auth)
		}
		if len(in) != 1 {
			t.Fatalf("%d messages", len(in))
		}
		m := in[0]
		id, ok := strings.CutPrefix(m.PlatformID, visitor+":")
		if !ok || id == "" || len(id) > MaxIDBytes || m.From != visitor || m.Channel != Name || strings.TrimSpace(m.Text) == "" || len(m.Text) > MaxTextBytes ||
			len(m.Choice) > MaxChoiceBytes || strings.ContainsFunc(m.Choice, unicode.IsControl) {
			t.Fatalf("message %+v", m)
		}
	})
}

const fuzzVisitor = "v_fuzzfuzzfuzzfuzzfuzzfuzz"

// independentVerify checks a bearer token without the signer's code.
func independentVerify(auth string) (string, bool) {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return "", false
	}
	visitor, sig, ok := strings.Cut(strings.TrimSpace(tok), ".")
	if !ok || !validVisitorID(visitor) {
		return "", false
	}
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write([]byte("switchboard-webchat-v1\x00default\x00" + visitor))
	return visitor, sig == base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
