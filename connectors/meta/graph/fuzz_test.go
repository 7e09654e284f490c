package graph_test

import (
	"net/http"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
)

// FuzzVerifySignature checks that any header and body is either accepted
// (only with the right signature) or refused with a 401, never a panic.
func FuzzVerifySignature(f *testing.F) {
	v := loadVector(f)
	f.Add(v.AppSecret, v.Signature, []byte(v.Body))
	f.Add(v.AppSecret, "sha1=0123", []byte("{}"))
	f.Add("", "", []byte(nil))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte) {
		req := &connectors.Request{Method: http.MethodPost, Header: http.Header{}, Body: body}
		req.Header.Set(graph.HeaderSignature, header)
		err := graph.VerifySignature(req, secret)
		if err == nil {
			if secret == "" {
				t.Fatal("accepted with no app secret")
			}
			if want := graph.Signature(secret, body); len(header) != len(want) {
				t.Fatalf("accepted %q, want %q", header, want)
			}
			return
		}
		if connectors.StatusOf(err) != http.StatusUnauthorized {
			t.Fatalf("status %d for %v", connectors.StatusOf(err), err)
		}
	})
}
