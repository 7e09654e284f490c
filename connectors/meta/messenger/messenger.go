// Package messenger is the Facebook Messenger connector, registered as
// "messenger": the conversations of a Facebook Page.
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default. Meta verifies the instance's webhook,
// /v1/webhooks/messenger/{instance}, with a hub.challenge GET
// (connectors.Handshaker), then POSTs the Page's events: Receive checks
// X-Hub-Signature-256 with the app secret and turns each message,
// postback, reaction and delivery or read receipt into an Inbound on the
// channel "messenger" (connectors/meta/messaging, shared with Instagram).
// Send posts replies to the Send API, /{page-id}/messages, with the Page
// access token; delivery and read receipts report on them
// (connectors.DeliveryReporter), and a message's choices are quick
// replies (connectors.ChoiceRenderer). docs/CONNECTORS.md is the
// reference for operators.
package messenger

import (
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging"
)

// Name is the connector's registered name; Channel is its messages'.
const (
	Name    = "messenger"
	Channel = "messenger"
)

// MaxText is the longest text of one message, in characters (UTF-16 code
// units): Messenger takes fewer than 2000.
const MaxText = 1999

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "Facebook Messenger conversations of a Page, through Meta's Messenger Platform",
		Description: "Answers Meta's webhook verification, receives the Page's messages, postbacks, reactions and receipts, " +
			"checked with X-Hub-Signature-256, and sends replies with the Send API, choices as quick replies. See docs/CONNECTORS.md.",
		Fields: []connectors.Field{
			{Name: "page_id", Required: true, Example: "104729681234567",
				Description: "The Facebook Page's id: the `entry` id of its webhooks and the sender of replies."},
			{Name: "page_access_token", Secret: true, Required: true, Example: "EAAGm0PX4ZCpsBA…",
				Description: "A Page access token with `pages_messaging`, for the Send API."},
			{Name: "app_secret", Secret: true, Required: true, Example: "3f1c9a0e7b2d4c5f8a6e1d0b9c7a2e4f",
				Description: "The Meta app's secret (**App settings → Basic**): Meta signs webhooks with it."},
			{Name: "verify_token", Secret: true, Required: true, Example: "a-long-random-string",
				Description: "The verify token entered with the callback URL in the app's webhook settings."},
			{Name: "graph_url", Type: connectors.TypeURL, Default: graph.DefaultBaseURL, Example: "http://127.0.0.1:8098",
				Description: "Base URL of the Graph API; tests point it at a fake."},
			{Name: "graph_version", Default: graph.DefaultVersion, Example: "v23.0",
				Description: "The Graph API version of every call, the one the app was built against."},
			{Name: "human_agent_tag", Type: connectors.TypeBool, Default: "false", Example: "true",
				Description: "Send agent replies with the `HUMAN_AGENT` message tag, which Meta allows for 7 days after the customer's last " +
					"message instead of 24 hours; the app needs the Human Agent permission."},
		},
	}
}

// New builds an instance; it is the registered connectors.Constructor.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	page, err := messaging.ID(cfg, "page_id", "the Page's")
	if err != nil {
		return nil, err
	}
	c, err := messaging.Configure(cfg, res, messaging.Options{
		Name: Name, Object: messaging.ObjectPage, Channel: Channel, AccountID: page, SendPath: page + "/messages",
		Style: messaging.Style{Limit: messaging.TextLimit{Max: MaxText}}, Reports: true,
	}, "page_access_token", graph.DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	return c, nil
}
