package slack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-dev/switchboard/connectors"
)

// The headers of Slack's request signature.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// Sign returns the X-Slack-Signature of body sent at timestamp (Unix
// seconds, as in X-Slack-Request-Timestamp): "v0=" and the hex
// HMAC-SHA256, keyed with the signing secret, of "v0:"+timestamp+":"+body.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a request's signature over its raw body, and that its
// timestamp is within Tolerance of now. It returns a 401
// *connectors.StatusError naming what is wrong.
//
// slack-go's SecretsVerifier does the same but reads the wall clock, not
// the instance's, so the replay window could not be tested; the check is
// a few lines of the standard library.
func Verify(h http.Header, body []byte, secret string, now time.Time) error {
	sig, ts := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" {
		return connectors.Errorf(http.StatusUnauthorized, "missing %s header", HeaderSignature)
	}
	if ts == "" {
		return connectors.Errorf(http.StatusUnauthorized, "missing %s header", HeaderTimestamp)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return connectors.Errorf(http.StatusUnauthorized, "%s %q is not Unix seconds", HeaderTimestamp, ts)
	}
	if off := now.Sub(time.Unix(sec, 0)).Abs(); off > Tolerance {
		return connectors.Errorf(http.StatusUnauthorized, "stale %s %s: %s away from now, more than %s (a replayed request?)",
			HeaderTimestamp, ts, off.Round(time.Second), Tolerance)
	}
	if !strings.HasPrefix(sig, "v0=") {
		return connectors.Errorf(http.StatusUnauthorized, "%s must start with v0=", HeaderSignature)
	}
	if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(Sign(secret, ts, body))) {
		return connectors.Errorf(http.StatusUnauthorized, "bad %s: not the signing secret's signature of this body", HeaderSignature)
	}
	return nil
}

// Handshake answers the url_verification request Slack sends when the
// app's Request URL is saved: its challenge as the body, once the
// request's signature is checked. Other requests go to Receive.
func (c *connector) Handshake(r *connectors.Request) (int, string, []byte, bool) {
	if r.Method != http.MethodPost || !bytes.Contains(r.Body, []byte(slackevents.URLVerification)) {
		return 0, "", nil, false
	}
	var ev slackevents.EventsAPIURLVerificationEvent
	if err := json.Unmarshal(r.Body, &ev); err != nil || ev.Type != slackevents.URLVerification {
		return 0, "", nil, false
	}
	if err := Verify(r.Header, r.Body, c.secret, c.now()); err != nil {
		status, ct, body := connectors.ErrorResponse(err)
		return status, ct, body, true
	}
	return http.StatusOK, "text/plain", []byte(ev.Challenge), true
}
