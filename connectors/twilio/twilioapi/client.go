package twilioapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// MaxRetryAfter caps the delay a Retry-After header can ask for.
const MaxRetryAfter = connectors.MaxRetryAfter

// maxAnswer caps how much of an answer's body is read.
const maxAnswer = 64 << 10

// maxExcerpt caps the start of a body that is not Twilio's JSON quoted in
// an error.
const maxExcerpt = 200

// Config is what Client needs to call Twilio.
type Config struct {
	AccountSID string // AC…, in every resource path
	AuthToken  string // the account's auth token: the password unless an API key is set
	// APIKeySID and APIKeySecret, when both are set, authenticate instead
	// of AccountSID:AuthToken (an SK… key of the account).
	APIKeySID, APIKeySecret string
	// BaseURL is the API's scheme and host, without a trailing slash.
	// Default: DefaultBaseURL; tests point it at a fake.
	BaseURL string
}

// Client calls Twilio's REST API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	hc   *http.Client
	user string
	pass string
	now  func() time.Time
}

// New returns a client for cfg that makes its requests with hc (nil: a
// client with a 30 s timeout). The client does not follow redirects: a
// 301 or 302 would turn a POST into a GET.
func New(cfg Config, hc *http.Client) *Client {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	c := http.Client{Timeout: 30 * time.Second}
	if hc != nil {
		c = *hc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	user, pass := cfg.AccountSID, cfg.AuthToken
	if cfg.APIKeySID != "" && cfg.APIKeySecret != "" {
		user, pass = cfg.APIKeySID, cfg.APIKeySecret
	}
	return &Client{cfg: cfg, hc: &c, user: user, pass: pass, now: time.Now}
}

// AccountSID returns the account the client acts for.
func (c *Client) AccountSID() string { return c.cfg.AccountSID }

// CreateMessage POSTs form (To, From or MessagingServiceSid, Body,
// MediaUrl, StatusCallback, ContentSid, …) to
// /2010-04-01/Accounts/{AccountSID}/Messages.json and returns the new
// message's sid (SM… or MM…). Errors are classified as Post's.
func (c *Client) CreateMessage(ctx context.Context, form url.Values) (sid string, err error) {
	var msg struct {
		SID string `json:"sid"`
	}
	if err := c.Post(ctx, c.accountPath("Messages.json"), form, &msg); err != nil {
		return "", err
	}
	return msg.SID, nil
}

// UpdateCall POSTs form to /2010-04-01/Accounts/{AccountSID}/Calls/{callSID}.json:
// Twiml=… to replace what a live call does, or Status=completed to end
// it. Errors are classified as Post's.
func (c *Client) UpdateCall(ctx context.Context, callSID string, form url.Values) error {
	if callSID == "" {
		return connectors.Permanent(errors.New("twilio: no call sid to update"))
	}
	return c.Post(ctx, c.accountPath("Calls/"+url.PathEscape(callSID)+".json"), form, nil)
}

// accountPath is the path of a resource of the account.
func (c *Client) accountPath(resource string) string {
	return "/2010-04-01/Accounts/" + url.PathEscape(c.cfg.AccountSID) + "/" + resource
}

// Post POSTs form, form-urlencoded and with the client's basic auth, to
// path (from the root of the API: "/2010-04-01/Accounts/AC…/Calls.json")
// and decodes a 2xx answer's JSON into v (unless v is nil). Errors:
//
//   - a network failure, a timeout, 429 or 5xx: temporary, wrapped with
//     connectors.RetryAfter when the answer has a Retry-After header, and
//     wrapping an *APIError when Twilio answered;
//   - any other answer that is not 2xx: an *APIError marked with
//     connectors.Permanent;
//   - ctx's error when ctx ends first.
//
// A 2xx answer whose body does not decode is no error: Twilio has done
// what was asked, and retrying would do it twice.
func (c *Client) Post(ctx context.Context, path string, form url.Values, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return connectors.Permanent(fmt.Errorf("twilio: %w", err))
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Switchboard")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("twilio: POST %s: %w", path, ctx.Err())
		}
		return fmt.Errorf("twilio: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if v != nil && err == nil {
			_ = json.Unmarshal(body, v)
		}
		return nil
	}
	apiErr := answerError(resp, body)
	if !apiErr.Temporary() {
		return connectors.Permanent(apiErr)
	}
	if d, ok := connectors.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
		return connectors.RetryAfter(apiErr, d)
	}
	return apiErr
}

// APIError is an answer of Twilio's API that is not 2xx, with the fields
// of Twilio's JSON error body when it has one:
//
//	{"code": 21610, "message": "Attempt to send to unsubscribed recipient",
//	 "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}
//
// Find it with errors.As.
type APIError struct {
	Status   int    // the HTTP status
	Code     int    // Twilio's error code (0 when the answer had none)
	Message  string // Twilio's message, or the start of the body
	MoreInfo string // the error's page on twilio.com
}

// Error reads "twilio 21610: Attempt to send to unsubscribed recipient",
// or "twilio: HTTP 503: …" without a code.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != 0 {
		return fmt.Sprintf("twilio %d: %s", e.Code, msg)
	}
	return fmt.Sprintf("twilio: HTTP %d: %s", e.Status, msg)
}

// Temporary reports whether the same request may succeed later: 429 (too
// many requests), 408 and 5xx.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// answerError reads Twilio's error body.
func answerError(resp *http.Response, body []byte) *APIError {
	e := &APIError{Status: resp.StatusCode}
	var wire struct {
		Code     json.Number `json:"code"`
		Message  string      `json:"message"`
		MoreInfo string      `json:"more_info"`
	}
	if json.Unmarshal(body, &wire) == nil && (wire.Code != "" || wire.Message != "") {
		if n, err := strconv.Atoi(wire.Code.String()); err == nil {
			e.Code = n
		}
		e.Message, e.MoreInfo = wire.Message, wire.MoreInfo
		return e
	}
	e.Message = connectors.Excerpt(body, maxExcerpt)
	return e
}
