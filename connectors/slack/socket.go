package slack

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/switchboard-dev/switchboard/connectors"
)

// socketConnector is an instance in Socket Mode, for installs without a
// public URL: the app opens a WebSocket to Slack (apps.connections.open
// with the app-level token) and Slack sends the same events and
// interactions over it, each in an envelope the app acknowledges. The
// socket is authenticated by the token, so there is no signature; the
// runtime holds one Pull per instance at a time (connectors.Puller),
// since Slack spreads envelopes over every open socket of an app.
type socketConnector struct {
	*connector
	socket *slack.Client // carries the app-level token
}

var _ connectors.Puller = (*socketConnector)(nil)

// Pull connects and delivers each envelope's messages, acknowledging it
// only once deliver has stored them: an envelope left unacknowledged
// (deliver failed, the node died) is sent again by Slack.
func (c *socketConnector) Pull(ctx context.Context, deliver func(context.Context, []connectors.Inbound) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sm := socketmode.New(c.socket)
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return errorf("socket mode: %w%s", err, socketHint(err))
		case ev := <-sm.Events:
			if err := c.handle(ctx, sm, ev, deliver); err != nil {
				return err
			}
		}
	}
}

// handle delivers one Socket Mode event's messages and acknowledges it.
func (c *socketConnector) handle(ctx context.Context, sm *socketmode.Client, ev socketmode.Event,
	deliver func(context.Context, []connectors.Inbound) error) error {
	switch ev.Type {
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive:
	case socketmode.EventTypeInvalidAuth:
		return errorf("socket mode: Slack refused the token%s", socketHint(errors.New("invalid_auth")))
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage:
		c.log.Warn("slack socket mode", "event", string(ev.Type), "data", ev.Data)
		return nil
	default:
		if ev.Request != nil && ev.Request.EnvelopeID != "" {
			return sm.AckCtx(ctx, ev.Request.EnvelopeID, nil) // slash commands and the like: not taken
		}
		return nil
	}
	if ev.Request == nil {
		return nil
	}
	in, err := envelopeMessages(ev.Request)
	if err != nil {
		// An envelope that does not parse parses no better when sent again.
		c.log.Warn("slack socket mode: envelope refused", "envelope_id", ev.Request.EnvelopeID, "error", err)
	} else if len(in) > 0 {
		if err := deliver(ctx, in); err != nil {
			return err
		}
	}
	return sm.AckCtx(ctx, ev.Request.EnvelopeID, nil)
}

// envelopeMessages parses a Socket Mode envelope's payload as Receive
// parses a request's body; its retry is the envelope's retry_attempt.
func envelopeMessages(req *socketmode.Request) ([]connectors.Inbound, error) {
	if req.Type == socketmode.RequestTypeInteractive {
		return parseCallback(req.Payload)
	}
	h := http.Header{}
	if req.RetryAttempt > 0 {
		h.Set("X-Slack-Retry-Num", strconv.Itoa(req.RetryAttempt))
		h.Set("X-Slack-Retry-Reason", req.RetryReason)
	}
	in, err := parseEvent(req.Payload, h)
	var se *connectors.StatusError
	if errors.As(err, &se) {
		return nil, errors.New(se.Reason)
	}
	return in, err
}

// socketHint explains the refusals of apps.connections.open an operator
// can fix.
func socketHint(err error) string {
	switch err.Error() {
	case "invalid_auth", "not_authed", "token_revoked", "account_inactive", "not_allowed_token_type":
		return " (check app_token: an app-level token with the connections:write scope, and Socket Mode turned on for the app)"
	}
	return ""
}
