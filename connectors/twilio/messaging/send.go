package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// Limits of Send.
const (
	// MaxSendMedia is the most media Twilio takes in one message.
	MaxSendMedia = 10
	// maxWait is the longest Send waits itself before retrying a part;
	// a longer Retry-After is left to the outbox, which waits at least
	// that long.
	maxWait = 10 * time.Second
	// firstBackoff is the wait before the first retry without
	// Retry-After; it doubles with each retry.
	firstBackoff = 500 * time.Millisecond
	// sentTTL is how long the parts Twilio accepted are remembered, so
	// that the outbox's retry of a message does not send them again.
	sentTTL = 24 * time.Hour
	// maxRemembered bounds that memory.
	maxRemembered = 100_000
)

// Send creates the message with the Messages API: one message per part
// of a text longer than MaxBody, in order, the media with the first; a
// WhatsApp template (Attributes "content_sid", and "content_variables")
// instead of a text. A part failing with 429, 5xx or a network error is
// retried here up to send_retries times within ctx; the parts Twilio
// accepted are remembered for a day by Key, so the outbox's retry of the
// message sends only the rest. It returns the sid of the last part, the
// one whose status callback says the whole message went out.
func (c *connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if m.Key == "" {
		return "", connectors.Permanent(errors.New("twilio: outbound message has no key"))
	}
	forms, err := c.forms(m)
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("twilio: %w", err))
	}
	var sid string
	for i, form := range forms {
		key := m.Key + "#" + strconv.Itoa(i)
		if s, ok := c.sent.Get(key); ok {
			sid = s
			continue
		}
		s, err := c.create(ctx, form)
		if err != nil {
			if len(forms) > 1 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(forms), err)
			}
			return "", explain(err)
		}
		c.sent.Put(key, s)
		sid = s
	}
	return sid, nil
}

// forms builds the Messages API forms of m, one per part.
func (c *connector) forms(m *connectors.Outbound) ([]url.Values, error) {
	channel := m.Channel
	switch channel {
	case "":
		channel = ChannelSMS
	case ChannelSMS, ChannelWhatsApp:
	default:
		return nil, fmt.Errorf("channel %q: %w (this connector sends sms and whatsapp)", channel, connectors.ErrUnsupported)
	}
	if m.To == "" {
		return nil, errors.New("outbound message has no recipient")
	}
	base := url.Values{"To": {twilioAddress(channel, m.To)}}
	if err := c.sender(base, channel, m.From); err != nil {
		return nil, err
	}
	if c.callbacks {
		base.Set("StatusCallback", c.webhookURL)
	}
	if t := m.Template; t != nil && t.Name != "" { // a flow's `send … { template "HX…" }`
		form := base
		form.Set("ContentSid", t.Name)
		if len(t.Variables) > 0 {
			vars, _ := json.Marshal(t.Variables)
			form.Set("ContentVariables", string(vars))
		}
		return []url.Values{form}, nil
	}
	if sid, _ := m.Attributes["content_sid"].(string); sid != "" {
		form := base
		form.Set("ContentSid", sid)
		if v, ok := m.Attributes["content_variables"]; ok && v != nil {
			vars, err := contentVariables(v)
			if err != nil {
				return nil, err
			}
			form.Set("ContentVariables", vars)
		}
		return []url.Values{form}, nil
	}
	if len(m.Media) > MaxSendMedia {
		return nil, fmt.Errorf("%d media: Twilio takes at most %d per message", len(m.Media), MaxSendMedia)
	}
	parts := Split(m.Text, MaxBody)
	if len(parts) == 0 && len(m.Media) == 0 {
		return nil, errors.New("outbound message has no text, media or template (content_sid)")
	}
	if len(parts) == 0 {
		parts = []string{""}
	}
	forms := make([]url.Values, len(parts))
	for i, text := range parts {
		form := url.Values{}
		for k, v := range base {
			form[k] = append([]string(nil), v...)
		}
		if text != "" {
			form.Set("Body", text)
		}
		if i == 0 {
			for _, u := range m.Media {
				form.Add("MediaUrl", u)
			}
		}
		forms[i] = form
	}
	return forms, nil
}

// sender sets From or MessagingServiceSid: the message's own From when
// it has one, else the configured sender of the channel.
func (c *connector) sender(form url.Values, channel, from string) error {
	switch {
	case from != "":
		form.Set("From", twilioAddress(channel, from))
	case channel == ChannelWhatsApp && c.waFrom != "":
		form.Set("From", c.waFrom)
	case c.service != "":
		form.Set("MessagingServiceSid", c.service)
	case c.from != "":
		form.Set("From", twilioAddress(channel, c.from))
	default:
		return errors.New("no sender for " + channel + ": set whatsapp_from or messaging_service_sid")
	}
	return nil
}

// contentVariables renders a template's variables as the JSON object
// Twilio wants: {"1": "Ana", "2": "12:30"}, every value a string.
func contentVariables(v any) (string, error) {
	switch v := v.(type) {
	case string:
		var obj map[string]any
		if json.Unmarshal([]byte(v), &obj) != nil {
			return "", errors.New(`attribute content_variables must be an object, or a JSON object in a string, like {"1": "Ana"}`)
		}
		return contentVariables(obj)
	case map[string]any:
		vars := make(map[string]string, len(v))
		for k, x := range v {
			switch x := x.(type) {
			case string:
				vars[k] = x
			case nil:
				vars[k] = ""
			default:
				b, err := json.Marshal(x)
				if err != nil {
					return "", fmt.Errorf("content variable %q: %w", k, err)
				}
				vars[k] = string(b)
			}
		}
		b, _ := json.Marshal(vars)
		return string(b), nil
	case map[string]string:
		b, _ := json.Marshal(v)
		return string(b), nil
	}
	return "", fmt.Errorf("attribute content_variables must be an object, not %T", v)
}

// create creates one message, retrying temporary failures while the
// retries, the wait and ctx allow.
func (c *connector) create(ctx context.Context, form url.Values) (string, error) {
	wait := firstBackoff
	for attempt := 0; ; attempt++ {
		sid, err := c.client.CreateMessage(ctx, form)
		if err == nil {
			return sid, nil
		}
		if connectors.IsPermanent(err) || attempt >= c.retries || ctx.Err() != nil {
			return "", err
		}
		d := wait
		if ra, ok := connectors.RetryDelay(err); ok {
			d = ra
		}
		if dl, ok := ctx.Deadline(); d > maxWait || (ok && time.Until(dl) < d) {
			return "", err
		}
		c.log.Debug("retrying a message part", "error", err, "after", d)
		if c.sleep(ctx, d) != nil {
			return "", err
		}
		wait *= 2
	}
}

// explain adds what an error code means for the people reading the dead
// letter to Twilio's message.
func explain(err error) error {
	var ae *twilioapi.APIError
	if !errors.As(err, &ae) || ae.Code == 0 {
		return err
	}
	if t, ok := errorText[strconv.Itoa(ae.Code)]; ok {
		return fmt.Errorf("%w: %s", err, t)
	}
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
