package instagram_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/instagram"
)

// recorder is a transport that answers every request as the Send API
// would and keeps the URLs called.
type recorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Request: req,
		Body: io.NopCloser(strings.NewReader(`{"recipient_id":"1284659371024863","message_id":"aWdfZAG1faXRlbTox"}`))}, nil
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     connectors.Config
		problem string // "" for a valid configuration
		url     string // where a send goes
	}{
		{"instagram_login by default", connectors.Config{"graph_url": ""}, "", "https://graph.instagram.com/v23.0/" + igID + "/messages"},
		{"facebook_login", connectors.Config{"api": instagram.APIFacebookLogin, "page_id": pageID, "graph_url": ""}, "", "https://graph.facebook.com/v23.0/" + pageID + "/messages"},
		{"another version and host", connectors.Config{"graph_url": "https://graph.example.com/", "graph_version": "v24.0"}, "",
			"https://graph.example.com/v24.0/" + igID + "/messages"},
		{"facebook_login without page_id", connectors.Config{"api": instagram.APIFacebookLogin}, `"page_id": required`, ""},
		{"page_id with instagram_login", connectors.Config{"page_id": pageID}, "is for api facebook_login", ""},
		{"another api", connectors.Config{"api": "basic_display"}, `must be "instagram_login" or "facebook_login", not "basic_display"`, ""},
		{"no ig_id", connectors.Config{"ig_id": ""}, `"ig_id": required`, ""},
		{"an ig_id that is a name", connectors.Config{"ig_id": "@acme"}, "must be the Instagram account's numeric id", ""},
		{"no access token", connectors.Config{"access_token": ""}, `"access_token": required`, ""},
		{"no app secret", connectors.Config{"api": instagram.APIFacebookLogin, "page_id": pageID, "app_secret": ""}, `"app_secret": required`, ""},
		{"no verify token", connectors.Config{"verify_token": ""}, `"verify_token": required`, ""},
		{"graph version", connectors.Config{"graph_version": "latest"}, `like "v23.0"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			c := ig.Configured(t, tc.cfg, connectors.Resources{HTTPClient: &http.Client{Transport: rec}}, tc.problem)
			if c == nil {
				return
			}
			if _, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: instagram.Channel, To: "1284659371024863", Text: "hi"}); err != nil {
				t.Fatal(err)
			}
			if len(rec.urls) != 1 || rec.urls[0] != tc.url {
				t.Errorf("sent to %v, want %s", rec.urls, tc.url)
			}
			if c.(connectors.DeliveryReporter).ReportsDelivery() {
				t.Error("ReportsDelivery is true: Instagram reports reads only")
			}
			if !c.(connectors.ChoiceRenderer).RendersChoices(instagram.Channel) {
				t.Error("RendersChoices(instagram) is false")
			}
		})
	}
}
