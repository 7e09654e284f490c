package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

func TestStatusError(t *testing.T) {
	base := errors.New("signature mismatch")
	err := connectors.Errorf(http.StatusUnauthorized, "bad request signature: %w", base)
	var se *connectors.StatusError
	if !errors.As(err, &se) || se.Status != 401 || se.Reason != "bad request signature: signature mismatch" {
		t.Fatalf("Errorf = %#v", err)
	}
	if !errors.Is(err, base) {
		t.Error("Errorf does not wrap its %w operand")
	}
	if err.Error() != "bad request signature: signature mismatch (401)" {
		t.Error(err.Error())
	}
	wrapped := fmt.Errorf("receive: %w", err)
	if connectors.StatusOf(wrapped) != 401 {
		t.Error("StatusOf a wrapped StatusError")
	}
}

func TestErrorResponse(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		body   string
	}{
		{connectors.Errorf(400, `missing required field "from"`), 400, `{"error":"missing required field \"from\""}`},
		{errors.New("database is locked"), 500, `{"error":"internal error"}`},
		{&http.MaxBytesError{Limit: 10}, 413, `{"error":"request body too large"}`},
	} {
		status, ct, body := connectors.ErrorResponse(tc.err)
		if status != tc.status || ct != "application/json" || string(body) != tc.body {
			t.Errorf("ErrorResponse(%v) = %d %s %s", tc.err, status, ct, body)
		}
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("400 bad recipient")
	p := connectors.Permanent(base)
	if !connectors.IsPermanent(p) || !connectors.IsPermanent(fmt.Errorf("send: %w", p)) {
		t.Error("IsPermanent(Permanent(err)) = false")
	}
	if !errors.Is(p, base) || p.Error() != base.Error() {
		t.Error("Permanent does not wrap transparently")
	}
	if connectors.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	for _, err := range []error{base, context.DeadlineExceeded, connectors.ErrNotConnected, nil} {
		if connectors.IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true", err)
		}
	}
	if !connectors.IsPermanent(fmt.Errorf("no outbound URL: %w", connectors.ErrUnsupported)) {
		t.Error("ErrUnsupported is not permanent")
	}
}

func TestRetryAfter(t *testing.T) {
	base := errors.New("429 slow down")
	err := fmt.Errorf("send: %w", connectors.RetryAfter(base, 30*time.Second))
	if d, ok := connectors.RetryDelay(err); !ok || d != 30*time.Second {
		t.Errorf("RetryDelay = %v, %v", d, ok)
	}
	if connectors.IsPermanent(err) || !errors.Is(err, base) {
		t.Error("RetryAfter changed the error's nature")
	}
	if _, ok := connectors.RetryDelay(base); ok {
		t.Error("RetryDelay of a plain error")
	}
	if connectors.RetryAfter(nil, time.Second) != nil {
		t.Error("RetryAfter(nil) != nil")
	}
}

func TestRequestMediaType(t *testing.T) {
	r := &connectors.Request{Header: http.Header{"Content-Type": {"Application/JSON; charset=utf-8"}}}
	if r.MediaType() != "application/json" {
		t.Error(r.MediaType())
	}
	if err := r.RequireMediaType("application/json"); err != nil {
		t.Error(err)
	}
	r.Header.Set("Content-Type", "text/plain")
	err := r.RequireMediaType("application/json", "application/x-www-form-urlencoded")
	if connectors.StatusOf(err) != 415 || err.Error() != "content type must be application/json or application/x-www-form-urlencoded, not text/plain (415)" {
		t.Error(err)
	}
	r.Header.Del("Content-Type")
	if err := r.RequireMediaType("application/json"); connectors.StatusOf(err) != 415 {
		t.Error(err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"2", 2 * time.Second, true}, {" 30 ", 30 * time.Second, true}, {"-1", 0, false}, {"soon", 0, false},
		{"999999", connectors.MaxRetryAfter, true}, {now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, c := range cases {
		if got, ok := connectors.ParseRetryAfter(c.v, now); got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}
