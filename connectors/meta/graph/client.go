package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Defaults of Config.
const (
	DefaultBaseURL = "https://graph.facebook.com"
	DefaultVersion = "v23.0"
)

// maxAnswer caps how much of an API answer's body is read (not a
// download's: Download has its own limit).
const maxAnswer = 256 << 10

// maxExcerpt caps the start of a body that is not Meta's JSON quoted in
// an error.
const maxExcerpt = 200

// Config is what Client needs to call the Graph API.
type Config struct {
	// BaseURL is the API's scheme and host, without a trailing slash.
	// Default: DefaultBaseURL; tests point it at a fake.
	BaseURL string
	// Version is the Graph API version in every path ("v23.0"). Default:
	// DefaultVersion.
	Version string
	// Token is the access token sent as a bearer token: a system user's
	// for WhatsApp, a Page's for Messenger and Instagram.
	Token string
}

// Client calls the Graph API. It is safe for concurrent use.
type Client struct {
	cfg    Config
	api    *http.Client // follows no redirect
	follow *http.Client // for downloads
	now    func() time.Time
}

// New returns a client for cfg that makes its requests with hc (nil: a
// client with a 30 s timeout). The client does not follow redirects on
// API calls, where a 301 or 302 would turn a POST into a GET; Download
// does, since media URLs may redirect.
func New(cfg Config, hc *http.Client) *Client {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.Version = strings.Trim(cfg.Version, "/")
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	follow := http.Client{Timeout: 30 * time.Second}
	if hc != nil {
		follow = *hc
	}
	api := follow
	api.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{cfg: cfg, api: &api, follow: &follow, now: time.Now}
}

// URL is the full URL of path under the client's version:
// BaseURL/Version/path.
func (c *Client) URL(path string) string {
	return c.cfg.BaseURL + "/" + c.cfg.Version + "/" + strings.TrimLeft(path, "/")
}

// Post POSTs body, encoded as JSON, to /{Version}/{path} with the bearer
// token and decodes a 2xx answer's JSON into out (unless out is nil).
// Errors:
//
//   - a network failure, a timeout, 408, 429, 5xx, or one of Meta's
//     throttling codes: temporary, wrapped with connectors.RetryAfter when
//     the answer has a Retry-After header, and wrapping an *Error when
//     Meta answered;
//   - any other answer that is not 2xx: an *Error marked with
//     connectors.Permanent;
//   - ctx's error when ctx ends first.
//
// A 2xx answer whose body does not decode into out is an error too, but a
// permanent one: Meta has done what was asked, and retrying would do it
// twice.
func (c *Client) Post(ctx context.Context, path string, body any, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("graph: encoding the request: %w", err))
	}
	return c.call(ctx, http.MethodPost, path, data, out)
}

// Get GETs /{Version}/{path} with the bearer token and decodes the JSON
// answer into out. Errors are classified as Post's.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.call(ctx, http.MethodGet, path, nil, out)
}

func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL(path), rd)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("graph: %w", err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req, false)
	if err != nil {
		return c.netError(ctx, method, path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err == nil {
			err = json.Unmarshal(answer, out)
		}
		if err != nil {
			return connectors.Permanent(fmt.Errorf("graph: %s %s: reading the answer: %w", method, path, err))
		}
		return nil
	}
	return c.classify(resp, answerError(resp.StatusCode, answer))
}

// Download GETs url, a URL Meta gave (a media URL), with the bearer token
// and returns its body, at most max bytes, and its content type. A body
// larger than max is a permanent error; other errors are classified as
// Post's.
func (c *Client) Download(ctx context.Context, url string, max int64) (data []byte, contentType string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", connectors.Permanent(fmt.Errorf("graph: %w", err))
	}
	resp, err := c.do(req, true)
	if err != nil {
		return nil, "", c.netError(ctx, http.MethodGet, "media", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		return nil, "", c.classify(resp, answerError(resp.StatusCode, answer))
	}
	if resp.ContentLength > max {
		return nil, "", connectors.Permanent(fmt.Errorf("graph: media of %d bytes, more than the %d allowed", resp.ContentLength, max))
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, "", c.netError(ctx, http.MethodGet, "media", err)
	}
	if int64(len(data)) > max {
		return nil, "", connectors.Permanent(fmt.Errorf("graph: media larger than the %d bytes allowed", max))
	}
	return data, resp.Header.Get("Content-Type"), nil
}

// do sends req with the bearer token. Redirects are followed only when
// follow is set, and then without the token when they leave the host
// (net/http drops Authorization on a redirect to another domain).
func (c *Client) do(req *http.Request, follow bool) (*http.Response, error) {
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	req.Header.Set("User-Agent", "Switchboard")
	if follow {
		return c.follow.Do(req)
	}
	return c.api.Do(req)
}

func (c *Client) netError(ctx context.Context, method, path string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("graph: %s %s: %w", method, path, ctx.Err())
	}
	return fmt.Errorf("graph: %s %s: %w", method, path, err)
}

// classify marks e permanent, or temporary with the answer's Retry-After.
func (c *Client) classify(resp *http.Response, e *Error) error {
	if !e.Temporary() {
		return connectors.Permanent(e)
	}
	if d, ok := connectors.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
		return connectors.RetryAfter(e, d)
	}
	return e
}

// Error is an answer of the Graph API that is not 2xx, with the fields of
// Meta's error body when it has one. Find it with errors.As.
type Error struct {
	Status    int    // the HTTP status
	Code      int    // Meta's error code (131047, 190, …); 0 when the answer had none
	Subcode   int    // error_subcode
	Type      string // OAuthException, …
	Message   string // Meta's message, or the start of a body that is not Meta's JSON
	TraceID   string // fbtrace_id, for Meta's support
	Details   string // error_data.details: what WhatsApp adds to the message
	Transient bool   // is_transient: Meta says a retry may succeed
}

// Error reads "graph 131047 (HTTP 400): Re-engagement message: …", or
// "graph: HTTP 503: …" without a code.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Details != "" && e.Details != msg {
		msg += ": " + e.Details
	}
	if e.Code != 0 {
		return fmt.Sprintf("graph %d (HTTP %d): %s", e.Code, e.Status, msg)
	}
	return fmt.Sprintf("graph: HTTP %d: %s", e.Status, msg)
}

// throttling are Meta's codes for "too many calls": the same request may
// succeed later, whatever the HTTP status.
var throttling = map[int]bool{
	4:      true, // application request limit
	17:     true, // user request limit
	32:     true, // page request limit
	613:    true, // calls within one hour exceeded
	80007:  true, // WhatsApp Business Account rate limit
	130429: true, // Cloud API throughput reached
	131048: true, // spam rate limit
	131056: true, // pair rate limit: too many messages to one recipient
}

// Temporary reports whether the same request may succeed later: 408, 429,
// 5xx, a throttling code, or an error Meta marks transient.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout ||
		e.Status >= 500 || throttling[e.Code] || e.Transient
}

// IsCode reports whether err wraps an *Error with that code.
func IsCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// answerError reads Meta's error body.
func answerError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var wire struct {
		Error *struct {
			Message     string `json:"message"`
			Type        string `json:"type"`
			Code        int    `json:"code"`
			Subcode     int    `json:"error_subcode"`
			TraceID     string `json:"fbtrace_id"`
			IsTransient bool   `json:"is_transient"`
			UserMsg     string `json:"error_user_msg"`
			Data        struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &wire) == nil && wire.Error != nil {
		w := wire.Error
		e.Code, e.Subcode, e.Type, e.Message, e.TraceID = w.Code, w.Subcode, w.Type, w.Message, w.TraceID
		e.Details, e.Transient = w.Data.Details, w.IsTransient
		if e.Details == "" {
			e.Details = w.UserMsg
		}
		return e
	}
	e.Message = connectors.Excerpt(body, maxExcerpt)
	return e
}
