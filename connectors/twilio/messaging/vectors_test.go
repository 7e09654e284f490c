package messaging_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// TestSignatureVectors runs CHANNELS.md §14's Twilio vectors (the
// twilioapi package's testdata) through the connector configured with
// the vector's URL as webhook_url: the signature passes, so the request
// reaches the parser, which refuses it for what it is (call parameters,
// no MessageSid: 400); the same request with another signature is 401.
func TestSignatureVectors(t *testing.T) {
	data, err := os.ReadFile("../twilioapi/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Name, Token, URL, Signature string
		Params                      [][2]string
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors {
		if len(v.Params) == 0 {
			continue // T5 signs a JSON body, which messaging webhooks never have
		}
		t.Run(v.Name, func(t *testing.T) {
			base, query, _ := strings.Cut(v.URL, "?")
			c := newConnector(t, connectors.Config{"account_sid": "AC123", "auth_token": v.Token, "from": "+14155550199",
				"webhook_url": base, "api_base_url": "http://127.0.0.1:1"}, connectors.Resources{})
			form := url.Values{}
			for _, p := range v.Params {
				form.Add(p[0], p[1])
			}
			q, _ := url.ParseQuery(query)
			h := http.Header{}
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			h.Set(twilioapi.HeaderSignature, v.Signature)
			r := &connectors.Request{Method: http.MethodPost, URL: "http://10.0.0.5:8080/v1/webhooks/twilio/default?" + query,
				Header: h, Query: q, Body: []byte(form.Encode())}
			_, err := c.Receive(context.Background(), r)
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != 400 || se.Reason != "missing parameter MessageSid" {
				t.Fatalf("err = %v, want the parser's 400 after a valid signature", err)
			}
			h.Set(twilioapi.HeaderSignature, strings.Replace(v.Signature, v.Signature[:2], "AA", 1))
			if _, err := c.Receive(context.Background(), r); connectors.StatusOf(err) != 401 {
				t.Errorf("another signature: err = %v, want 401", err)
			}
		})
	}
}
