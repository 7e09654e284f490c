package voice_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// sigVector is one case of testdata/connectors/twilio-voice/signatures.json:
// a request to url carrying body and signature, where signature was
// computed outside Go (Python's hmac) over signed_url and the body.
type sigVector struct {
	Name      string `json:"name"`
	Token     string `json:"token"`
	URL       string `json:"url"`
	SignedURL string `json:"signed_url"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
	Accept    bool   `json:"accept"`
}

func TestSignatureVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(payloads, "signatures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []sigVector
	if err := json.Unmarshal(data, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("signatures.json: %v (%d vectors)", err, len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			console, query, _ := strings.Cut(v.URL, "?")
			c := newConnector(t, connectors.Config{"auth_token": v.Token, "webhook_url": console}, connectors.Resources{})
			h := http.Header{}
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			h.Set("X-Twilio-Signature", v.Signature)
			q, _ := url.ParseQuery(query)
			_, err := c.Receive(context.Background(), &connectors.Request{Method: http.MethodPost, URL: v.URL, Header: h, Query: q, Body: []byte(v.Body)})
			var se *connectors.StatusError
			switch {
			case v.Accept && err != nil:
				t.Errorf("Receive refused a request Twilio signed: %v", err)
			case !v.Accept && (!errors.As(err, &se) || se.Status != http.StatusUnauthorized):
				t.Errorf("Receive = %v, want 401", err)
			}
			form, _ := url.ParseQuery(v.Body)
			if got := twilioapi.Signature(v.Token, v.SignedURL, form); v.Accept && got != v.Signature {
				t.Errorf("twilioapi.Signature = %s, the vector says %s", got, v.Signature)
			}
		})
	}
}
