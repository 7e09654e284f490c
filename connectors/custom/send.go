package custom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Outbound is the JSON body of an outbound delivery.
type Outbound struct {
	ID           string         `json:"id"` // the idempotency key, also in the Idempotency-Key header
	Conversation string         `json:"conversation,omitempty"`
	To           string         `json:"to"`
	From         string         `json:"from,omitempty"`
	Text         string         `json:"text"`
	Media        []string       `json:"media,omitempty"`
	Attributes   map[string]any `json:"attributes,omitempty"`
}

// Send POSTs the message, signed, to outbound_url. A 2xx answer delivers
// it; 408, 429, 5xx and network failures are temporary; any other answer
// is permanent. Without an outbound_url it fails with
// connectors.ErrUnsupported.
func (c *connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if c.outURL == "" {
		return "", fmt.Errorf("custom: no outbound_url configured: %w", connectors.ErrUnsupported)
	}
	if m.Key == "" {
		return "", connectors.Permanent(errors.New("custom: outbound message has no key"))
	}
	body, err := json.Marshal(Outbound{ID: m.Key, Conversation: m.ConversationID, To: m.To, From: m.From,
		Text: m.Text, Media: m.Media, Attributes: m.Attributes})
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("custom: encoding the message: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.outURL, bytes.NewReader(body))
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("custom: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard")
	req.Header.Set("Idempotency-Key", m.Key)
	SignHeader(req.Header, c.outSecret, c.now(), body)

	resp, err := c.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("custom: posting to outbound_url: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplyBody)) // let the connection be reused

	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return platformID(answer), nil
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		err := fmt.Errorf("custom: outbound_url answered %s%s", resp.Status, excerpt(answer))
		if d, ok := connectors.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			err = connectors.RetryAfter(err, d)
		}
		return "", err
	default:
		return "", connectors.Permanent(fmt.Errorf("custom: outbound_url answered %s%s", resp.Status, excerpt(answer)))
	}
}

// platformID reads the id of a JSON answer {"id": "..."} (a string or a
// number), or returns "".
func platformID(body []byte) string {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.ID) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.ID, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(v.ID, &n) == nil {
		return n.String()
	}
	return ""
}

// excerpt returns ": " and the start of an answer's body for an error
// message, or "" when the body is blank.
func excerpt(body []byte) string {
	if s := connectors.Excerpt(body, 200); s != "" {
		return ": " + s
	}
	return ""
}
