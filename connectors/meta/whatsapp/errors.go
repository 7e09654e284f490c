package whatsapp

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
)

// errorText says what the Cloud API's error codes met most in a contact
// center mean and what to do about them: a status's errors carry Meta's
// short title, which rarely says the latter.
var errorText = map[int]string{
	131047: "more than 24 hours since the customer's last message: send a template",
	131026: "message undeliverable: the number is not on WhatsApp, has not accepted the latest terms, or runs an old WhatsApp",
	131049: "not delivered to keep engagement healthy (Meta limits marketing templates per user): try later, or another template",
	131050: "the customer stopped marketing messages from this business",
	131051: "message type not supported",
	131052: "the media could not be downloaded from the customer's message",
	131053: "the media could not be uploaded: check its URL, type and size",
	131042: "payment problem on the WhatsApp Business Account: check its payment method",
	131031: "the business account is locked",
	131021: "the recipient is the sender's own number",
	131056: "too many messages to this customer in a short time",
	131048: "spam rate limit: messages from this number are being limited",
	130429: "throughput limit of the phone number reached",
	130472: "the customer's number is part of an experiment: not delivered",
	131000: "something went wrong at WhatsApp",
	131005: "access denied: check the access token's permissions",
	131008: "a required parameter is missing",
	131009: "a parameter value is invalid",
	131016: "WhatsApp is unavailable",
	132000: "the template's variables do not match its placeholders in number",
	132001: "no such template in that language (or not approved yet)",
	132005: "the template's text with its variables is too long",
	132007: "the template breaks the format policy",
	132012: "a template variable is in the wrong format",
	132015: "the template is paused for low quality",
	132016: "the template is disabled for low quality",
	131062: "this message cannot go to a business-scoped user id: send it to the customer's phone number",
	368:    "the number is temporarily blocked for policy violations",
	190:    "the access token is invalid or expired",
}

// describe is a status error as DeliveryStatus.Error says it: "code:
// what it means", with Meta's title and details when the table has none.
func describe(e errorEntry) string {
	if t, ok := errorText[e.Code]; ok {
		return strconv.Itoa(e.Code) + ": " + t
	}
	msg := e.Title
	if msg == "" {
		msg = e.Message
	}
	if d := e.ErrorData.Details; d != "" && d != msg {
		if msg != "" {
			msg += ": "
		}
		msg += d
	}
	if msg == "" {
		msg = "see https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
	}
	return strconv.Itoa(e.Code) + ": " + msg
}

// explain adds what a send error's code means, so the outbox's dead
// letter says why. 131047 (the 24-hour window) and 131026 (undeliverable)
// are permanent whatever the HTTP status: the same message cannot succeed.
func explain(err error) error {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return err
	}
	t, ok := errorText[ge.Code]
	if !ok {
		return err
	}
	wrapped := fmt.Errorf("whatsapp_cloud: %s: %w", t, err)
	if connectors.IsPermanent(err) || ge.Code == 131047 || ge.Code == 131026 {
		return connectors.Permanent(wrapped)
	}
	if d, ok := connectors.RetryDelay(err); ok {
		return connectors.RetryAfter(wrapped, d)
	}
	return wrapped
}
