// Package hmacsig is Switchboard's webhook signature, scheme v1, in both
// directions: the custom connector verifies its inbound webhooks and signs
// its outbound deliveries with it, and the router signs its event webhook
// with it, so one receiver's code checks them all.
//
// A signed request carries X-Switchboard-Timestamp (unix seconds) and
// X-Switchboard-Signature: "v1=" and the lower-case hex HMAC-SHA256, keyed
// with the shared secret, of the timestamp, a ".", and the body's bytes.
// The signature header may hold several comma-separated values (while a
// secret is rotated); values of other schemes are ignored.
package hmacsig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of the signature scheme, on inbound webhooks and on
// outbound deliveries alike.
const (
	// HeaderTimestamp carries the time of signing in unix seconds.
	HeaderTimestamp = "X-Switchboard-Timestamp"
	// HeaderSignature carries one or more comma-separated "v1=<hex>"
	// signatures; values of other schemes are ignored.
	HeaderSignature = "X-Switchboard-Signature"
)

// maxTimestampDigits bounds the timestamp header: 12 digits reach the
// year 33658.
const maxTimestampDigits = 12

// Sign returns the X-Switchboard-Signature value for body signed with
// secret at timestamp (unix seconds): "v1=" followed by the lower-case hex
// HMAC-SHA256, keyed with secret, of the decimal timestamp, a ".", and the
// body's bytes.
func Sign(secret string, timestamp int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), body))
}

// SignHeader sets the timestamp and signature headers on h for body,
// signed with secret at now.
func SignHeader(h http.Header, secret string, now time.Time, body []byte) {
	ts := now.Unix()
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(secret, ts, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verification failures. Verify's errors wrap one of them.
var (
	ErrNoTimestamp  = errors.New("missing " + HeaderTimestamp + " header")
	ErrBadTimestamp = errors.New("malformed " + HeaderTimestamp + " header (want unix seconds)")
	ErrNoSignature  = errors.New("missing v1 signature in " + HeaderSignature + " header")
	ErrBadSignature = errors.New("signature mismatch")
	ErrStale        = errors.New("timestamp outside the tolerance")
)

// Verify checks a request or delivery signed with secret: header must
// carry a timestamp and at least one "v1=" signature that matches
// HMAC-SHA256(secret, timestamp + "." + body), compared in constant time,
// and the timestamp must be within tolerance of now (either way; a
// tolerance of zero or less skips that check). The timestamp is signed
// exactly as sent.
func Verify(header http.Header, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	tss := header.Values(HeaderTimestamp)
	if len(tss) == 0 || tss[0] == "" {
		return ErrNoTimestamp
	}
	ts := tss[0]
	if len(tss) > 1 || !digits(ts) {
		return ErrBadTimestamp
	}
	want := mac(secret, ts, body)
	seen, ok := false, false
	for _, line := range header.Values(HeaderSignature) {
		for part := range strings.SplitSeq(line, ",") {
			scheme, value, found := strings.Cut(strings.TrimSpace(part), "=")
			if !found || scheme != "v1" {
				continue
			}
			seen = true
			got, err := hex.DecodeString(value)
			if err == nil && hmac.Equal(got, want) {
				ok = true
			}
		}
	}
	if !seen {
		return ErrNoSignature
	}
	if !ok {
		return ErrBadSignature
	}
	if tolerance > 0 {
		sec, _ := strconv.ParseInt(ts, 10, 64) // digits() bounds it
		if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
			return fmt.Errorf("%w of %s: the timestamp is %s off the server's clock", ErrStale, tolerance, d.Round(time.Second).Abs())
		}
	}
	return nil
}

func digits(s string) bool {
	if len(s) == 0 || len(s) > maxTimestampDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
