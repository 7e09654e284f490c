package messenger_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/messenger"
)

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     connectors.Config
		problem string // "" for a valid configuration
	}{
		{"valid", nil, ""},
		{"the defaults", connectors.Config{"graph_url": "", "graph_version": "", "human_agent_tag": ""}, ""},
		{"human_agent_tag", connectors.Config{"human_agent_tag": "true"}, ""},
		{"no page id", connectors.Config{"page_id": ""}, `"page_id": required`},
		{"a page name", connectors.Config{"page_id": "acme.support"}, "must be the Page's numeric id"},
		{"no token", connectors.Config{"page_access_token": ""}, `"page_access_token": required`},
		{"no app secret", connectors.Config{"app_secret": ""}, `"app_secret": required`},
		{"no verify token", connectors.Config{"verify_token": ""}, `"verify_token": required`},
		{"graph version", connectors.Config{"graph_version": "23.0"}, `like "v23.0"`},
		{"graph url", connectors.Config{"graph_url": "graph.facebook.com"}, "graph_url"},
		{"human_agent_tag not a bool", connectors.Config{"human_agent_tag": "sometimes"}, "human_agent_tag"},
		{"unknown field", connectors.Config{"page_token": "x"}, `unknown field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := meta.Configured(t, tc.cfg, connectors.Resources{}, tc.problem)
			if c == nil {
				return
			}
			if !c.(connectors.DeliveryReporter).ReportsDelivery() {
				t.Error("ReportsDelivery is false: Messenger reports deliveries and reads")
			}
			cr := c.(connectors.ChoiceRenderer)
			if !cr.RendersChoices(messenger.Channel) || cr.RendersChoices("sms") {
				t.Error("RendersChoices: want messenger alone")
			}
		})
	}
}
