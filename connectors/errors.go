package connectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNotConnected: the connector has no working connection to its
	// platform yet (a gateway socket not yet open, a token not yet
	// fetched). It is temporary: the runtime retries.
	ErrNotConnected = errors.New("not connected to the platform")
	// ErrUnsupported: the connector cannot do what was asked (Send on a
	// channel configured without an outbound endpoint, media on a text-only
	// channel). It is permanent: IsPermanent reports true without Permanent.
	ErrUnsupported = errors.New("not supported by this connector")
	// ErrUnknownConnector: the registry has no connector of that name.
	ErrUnknownConnector = errors.New("unknown connector")
)

// StatusError is a webhook request the connector refuses. The server
// answers with Status and the JSON body {"error": Reason}; see
// ErrorResponse. Status is a 4xx: 400 malformed body or a missing field,
// 401 missing or bad signature (or a stale timestamp), 405 wrong method,
// 413 too large, 415 wrong content type.
type StatusError struct {
	Status int
	Reason string // lower case, no final period, safe to show the caller
	err    error  // what Errorf formatted, wrapping its %w operands
}

// Errorf returns a *StatusError with the status and a reason formatted
// like fmt.Errorf's message; a %w verb wraps its operand for errors.Is.
func Errorf(status int, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &StatusError{Status: status, Reason: err.Error(), err: err}
}

// Error returns the reason with the status: "bad signature (401)".
func (e *StatusError) Error() string { return fmt.Sprintf("%s (%d)", e.Reason, e.Status) }

// Unwrap returns the error Errorf formatted, so that errors.Is and
// errors.As find the operands of its %w verbs.
func (e *StatusError) Unwrap() error { return e.err }

// StatusOf returns the HTTP status a webhook failure should be answered
// with: a *StatusError's (found with errors.As), 413 for an
// *http.MaxBytesError, else 500 (the platform will retry).
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// ErrorResponse is the answer to a failed webhook: StatusOf(err), JSON
// content type, and the body {"error": reason}. An error that is not a
// *StatusError gets a generic reason, so internal details never reach the
// caller: log it.
func ErrorResponse(err error) (status int, contentType string, body []byte) {
	status = StatusOf(err)
	reason := http.StatusText(status)
	var se *StatusError
	if errors.As(err, &se) {
		reason = se.Reason
	} else if status == http.StatusRequestEntityTooLarge {
		reason = "request body too large"
	} else {
		reason = "internal error"
	}
	body, _ = json.Marshal(struct {
		Error string `json:"error"`
	}{reason})
	return status, "application/json", body
}

// Permanent marks a Send error as permanent: retrying the same message
// cannot succeed (the platform answered 4xx: bad recipient, bad request,
// bad credentials), so the runtime dead-letters it at once. Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent or is ErrUnsupported. Every other Send error is temporary:
// network failures, timeouts, 5xx, 408 and 429 from the platform.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, ErrUnsupported)
}

// RetryAfter wraps a temporary Send error with the delay the platform
// asked for before the next attempt (a Retry-After header). RetryAfter(nil,
// d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err, d}
}

type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryDelay returns the delay RetryAfter attached to err, if any. The
// runtime waits at least that long before retrying, and its own backoff if
// longer.
func RetryDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// MaxRetryAfter caps the delay a platform's Retry-After can ask for.
const MaxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After header, delay-seconds or an HTTP
// date, as a delay from now capped at MaxRetryAfter; false when the value
// is neither.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		d = time.Duration(min(n, int(MaxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, MaxRetryAfter), true
}

// FallbackError is a Send error asking the runtime to send the same message
// through another instance instead: RCS to a number that has none, sent by
// SMS through a twilio instance. The runtime sends it there on Channel, to
// the same address; without a runtime that does (the flow tests), it is
// Reason, a permanent error.
type FallbackError struct {
	Connector, Instance, Channel string
	Reason                       error
}

func (e *FallbackError) Error() string {
	return fmt.Sprintf("%v; falling back to %s through %s/%s", e.Reason, e.Channel, e.Connector, e.Instance)
}

func (e *FallbackError) Unwrap() error { return e.Reason }
