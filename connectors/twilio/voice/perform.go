package voice

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// MaxTwimlChars is the longest TwiML, in characters, that Twilio takes
// in a call update's Twiml parameter.
const MaxTwimlChars = 4000

// Twilio's error codes for a call that can no longer be changed.
const (
	errCallNotInProgress = 21220 // "Call is not in-progress. Cannot redirect."
	errNotFound          = 20404
)

// PerformCall replaces what the live call a.Call is doing with the
// script: POST Twiml=<Response>…</Response> to the call's resource, or
// Status=completed for a script that only hangs up. The outcome of a
// waiting verb, and of a connect, comes back through Receive, so the
// result is Pending then.
//
// Twilio's call update takes no idempotency key. A retry after a failure
// that Twilio did carry out sends the same script again, which replaces
// the first before the caller notices (the prompt starts over, the same
// agent's phone rings anew): harmless, so a.Key is not sent.
func (c *connector) PerformCall(ctx context.Context, a *connectors.CallAction) (connectors.CallResult, error) {
	if a.Call == "" {
		return connectors.CallResult{}, connectors.Permanent(errors.New("twilio voice: the action names no call (CallSid)"))
	}
	if len(a.Verbs) == 0 {
		return connectors.CallResult{}, nil
	}
	form := url.Values{}
	if len(a.Verbs) == 1 && a.Verbs[0].Verb == "hangup" {
		form.Set("Status", "completed")
	} else {
		els, err := c.render.verbs(a.Verbs)
		if err != nil {
			return connectors.CallResult{}, connectors.Permanent(fmt.Errorf("twilio voice: %w", err))
		}
		doc := document(els)
		if n := utf8.RuneCount(doc); n > MaxTwimlChars {
			return connectors.CallResult{}, connectors.Permanent(fmt.Errorf("twilio voice: the script's TwiML is %d characters, Twilio takes at most %d in a call update", n, MaxTwimlChars))
		}
		form.Set("Twiml", string(doc))
	}
	if err := c.api.UpdateCall(ctx, a.Call, form); err != nil {
		return connectors.CallResult{}, callError(a.Call, err)
	}
	last := a.Verbs[len(a.Verbs)-1]
	return connectors.CallResult{Pending: last.WaitID != "" || last.Verb == connectors.VerbConnect}, nil
}

// callError says so when the call is over: the caller hung up while the
// script was decided. Twilio answers 21220 for a call that has ended, and
// 404 (20404) for one it no longer knows; both are permanent already.
func callError(call string, err error) error {
	var apiErr *twilioapi.APIError
	if errors.As(err, &apiErr) && (apiErr.Code == errCallNotInProgress || apiErr.Code == errNotFound || apiErr.Status == 404) {
		return connectors.Permanent(fmt.Errorf("twilio voice: call %s is no longer in progress: %w (%w)", call, connectors.ErrCallEnded, err))
	}
	return fmt.Errorf("twilio voice: updating call %s: %w", call, err)
}
