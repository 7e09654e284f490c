package twilioapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// FuzzVerify feeds Verify arbitrary URLs, bodies, methods and signatures.
// When sign is true the body is signed correctly for the URL first, so
// the fuzzer also reaches acceptance. Properties: Verify never panics;
// it accepts only a request whose signature an independent computation
// over the parsed form confirms (for the URL with or without its default
// port), returning that form; every refusal is a *StatusError with a 4xx.
// Seeds: testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	const token = "12345"
	f.Fuzz(func(t *testing.T, method, rawURL, contentType string, body []byte, sig string, sign bool) {
		form, formErr := url.ParseQuery(string(body))
		switch {
		case sign && method == http.MethodGet:
			sig = twilioapi.Signature(token, rawURL, nil)
		case sign && formErr == nil:
			sig = twilioapi.Signature(token, rawURL, form)
		}
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set(twilioapi.HeaderSignature, sig)
		r := &connectors.Request{Method: method, URL: rawURL, Header: h, Body: body}
		params, err := twilioapi.Verify(r, "", token)
		if err != nil {
			if method != http.MethodGet && method != http.MethodPost {
				if connectors.StatusOf(err) != http.StatusMethodNotAllowed {
					t.Fatalf("method %q: %v, want 405", method, err)
				}
				return
			}
			connectortest.CheckRefusal(t, err, false)
			return
		}
		if method == http.MethodGet {
			if !acceptable(token, rawURL, nil, sig) {
				t.Fatalf("accepted a wrong signature %q for GET %q", sig, rawURL)
			}
			return
		}
		if formErr != nil {
			t.Fatalf("accepted a body that is not a form: %q", body)
		}
		if params.Encode() != form.Encode() {
			t.Fatalf("params %v, want %v", params, form)
		}
		if !acceptable(token, rawURL, form, sig) {
			t.Fatalf("accepted a wrong signature %q for %q %q", sig, rawURL, body)
		}
	})
}

// acceptable recomputes the signature for rawURL and its default-port
// twin, with net/url rather than Verify's string edits.
func acceptable(token, rawURL string, form url.Values, sig string) bool {
	if twilioapi.Signature(token, rawURL, form) == sig {
		return true
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	def := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	switch {
	case def == "":
		return false
	case u.Port() == "":
		u.Host += ":" + def
	case u.Port() == def:
		u.Host = u.Hostname()
	default:
		return false
	}
	return twilioapi.Signature(token, u.String(), form) == sig
}
