package custom

import (
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/internal/hmacsig"
)

// The connector signs and verifies with Switchboard's signature scheme
// v1, which the router's event webhook uses too (internal/hmacsig). The
// names below are the scheme's, kept here for receivers of the
// connector's deliveries, who import this package.

// The headers of the signature scheme, on inbound webhooks and on
// outbound deliveries alike.
const (
	// HeaderTimestamp carries the time of signing in unix seconds.
	HeaderTimestamp = hmacsig.HeaderTimestamp
	// HeaderSignature carries one or more comma-separated "v1=<hex>"
	// signatures; values of other schemes are ignored.
	HeaderSignature = hmacsig.HeaderSignature
)

// Verification failures. Verify's errors wrap one of them.
var (
	ErrNoTimestamp  = hmacsig.ErrNoTimestamp
	ErrBadTimestamp = hmacsig.ErrBadTimestamp
	ErrNoSignature  = hmacsig.ErrNoSignature
	ErrBadSignature = hmacsig.ErrBadSignature
	ErrStale        = hmacsig.ErrStale
)

// Sign returns the X-Switchboard-Signature value for body signed with
// secret at timestamp (unix seconds): "v1=" followed by the lower-case hex
// HMAC-SHA256, keyed with secret, of the decimal timestamp, a ".", and the
// body's bytes.
func Sign(secret string, timestamp int64, body []byte) string {
	return hmacsig.Sign(secret, timestamp, body)
}

// SignHeader sets the timestamp and signature headers on h for body,
// signed with secret at now.
func SignHeader(h http.Header, secret string, now time.Time, body []byte) {
	hmacsig.SignHeader(h, secret, now, body)
}

// Verify checks a request or delivery signed with secret: header must
// carry a timestamp and at least one "v1=" signature that matches
// HMAC-SHA256(secret, timestamp + "." + body), compared in constant time,
// and the timestamp must be within tolerance of now (either way; a
// tolerance of zero or less skips that check). Receivers of this
// connector's outbound deliveries can use Verify as it is.
func Verify(header http.Header, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	return hmacsig.Verify(header, body, secret, now, tolerance)
}
