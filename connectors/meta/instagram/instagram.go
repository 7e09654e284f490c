// Package instagram is the Instagram Direct connector, registered as
// "instagram": the conversations of an Instagram professional account.
//
// It sits among the connectors under connectors/ and registers itself
// with connectors.Default. Meta has two APIs for it, and an instance
// uses one (config `api`): the Instagram API with Instagram Login
// (instagram_login: graph.instagram.com, the account's Instagram user
// access token, the Instagram app's secret) and the Page-linked API
// (facebook_login: graph.facebook.com, the linked Facebook Page's access
// token, the Meta app's secret). Both verify the webhook,
// /v1/webhooks/instagram/{instance}, with a hub.challenge GET
// (connectors.Handshaker) and POST {"object": "instagram"} events in
// Messenger's format: Receive checks X-Hub-Signature-256 and turns each
// message, postback, reaction and read receipt into an Inbound on the
// channel "instagram" (connectors/meta/messaging, shared with
// Messenger). Send posts replies to the Send API of the chosen API;
// choices become quick replies (connectors.ChoiceRenderer).
// docs/CONNECTORS.md is the reference for operators.
package instagram

import (
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/messaging"
)

// Name is the connector's registered name; Channel is its messages'.
const (
	Name    = "instagram"
	Channel = "instagram"
)

// The values of the config field api.
const (
	APIInstagramLogin = "instagram_login"
	APIFacebookLogin  = "facebook_login"
)

// InstagramGraphURL is the host of the Instagram API with Instagram Login.
const InstagramGraphURL = "https://graph.instagram.com"

// MaxText is the longest text of one message, in UTF-8 bytes: Instagram
// takes fewer than 1000.
const MaxText = 999

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "Instagram Direct conversations of a professional account, with Instagram Login or through a linked Page",
		Description: "Answers Meta's webhook verification, receives the account's messages, postbacks, reactions and read receipts, " +
			"checked with X-Hub-Signature-256, and sends replies with the Send API of the Instagram API with Instagram Login " +
			"or of the Page-linked API, choices as quick replies. See docs/CONNECTORS.md.",
		Fields: []connectors.Field{
			{Name: "api", Default: APIInstagramLogin, Example: APIFacebookLogin,
				Description: "Which of Meta's APIs the instance uses: `instagram_login` (the Instagram API with Instagram Login, " +
					"graph.instagram.com) or `facebook_login` (the API of the Facebook Page linked to the account, graph.facebook.com)."},
			{Name: "ig_id", Required: true, Example: "17841405822304914",
				Description: "The Instagram professional account's id: the `entry` id of its webhooks, and with `instagram_login` the sender of replies."},
			{Name: "page_id", Example: "104729681234567",
				Description: "With `facebook_login`, required: the id of the Facebook Page linked to the account, which sends the replies."},
			{Name: "access_token", Secret: true, Required: true, Example: "IGAAR…",
				Description: "With `instagram_login`, the account's Instagram user access token (`instagram_business_manage_messages`); " +
					"with `facebook_login`, the Page access token (`instagram_manage_messages`)."},
			{Name: "app_secret", Secret: true, Required: true, Example: "3f1c9a0e7b2d4c5f8a6e1d0b9c7a2e4f",
				Description: "The secret Meta signs the webhooks with: the Instagram app's secret with `instagram_login`, the Meta app's with `facebook_login`."},
			{Name: "verify_token", Secret: true, Required: true, Example: "a-long-random-string",
				Description: "The verify token entered with the callback URL in the app's webhook settings."},
			{Name: "graph_url", Type: connectors.TypeURL, Example: "http://127.0.0.1:8098",
				Description: "Base URL of the Graph API. Default: `https://graph.instagram.com` with `instagram_login`, " +
					"`https://graph.facebook.com` with `facebook_login`; tests point it at a fake."},
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
	igID, err := messaging.ID(cfg, "ig_id", "the Instagram account's")
	if err != nil {
		return nil, err
	}
	sender, host := igID, InstagramGraphURL
	switch api := cfg.String("api"); api {
	case APIInstagramLogin, "":
		if cfg.Has("page_id") {
			return nil, &connectors.FieldError{Field: "page_id", Problem: "is for api facebook_login: with instagram_login, ig_id sends the replies"}
		}
	case APIFacebookLogin:
		if sender, err = messaging.ID(cfg, "page_id", "the linked Facebook Page's"); err != nil {
			return nil, err
		}
		host = graph.DefaultBaseURL
	default:
		return nil, &connectors.FieldError{Field: "api", Problem: `must be "instagram_login" or "facebook_login", not "` + api + `"`}
	}
	c, err := messaging.Configure(cfg, res, messaging.Options{
		Name: Name, Object: messaging.ObjectInstagram, Channel: Channel, AccountID: igID, SendPath: sender + "/messages",
		Style: messaging.Style{Limit: messaging.TextLimit{Max: MaxText, Bytes: true}},
		// Instagram reports reads only (messaging_seen), no deliveries: a
		// send that waited for a report would wait until the customer
		// opens the conversation.
		Reports: false,
	}, "access_token", host)
	if err != nil {
		return nil, err
	}
	return c, nil
}
