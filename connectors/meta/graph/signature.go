package graph

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/switchboard-dev/switchboard/connectors"
)

// HeaderSignature is the header Meta signs its webhooks' bodies in.
const HeaderSignature = "X-Hub-Signature-256"

// signaturePrefix starts the header's value; the hex digest follows.
const signaturePrefix = "sha256="

// Signature is the X-Hub-Signature-256 value for body signed with
// appSecret: "sha256=" and the lower-case hex HMAC-SHA256.
func Signature(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks req's X-Hub-Signature-256 against the raw
// req.Body signed with appSecret, comparing the digests in constant time.
// A missing header, one that is not "sha256=" and 64 hex digits (an old
// "sha1=" one included), or a wrong digest is a 401 *connectors.StatusError
// whose reason says which. An empty appSecret verifies nothing: it is
// refused too, so a misconfigured instance never accepts unsigned bodies.
func VerifySignature(req *connectors.Request, appSecret string) error {
	if appSecret == "" {
		return connectors.Errorf(http.StatusUnauthorized, "no app secret configured to verify %s", HeaderSignature)
	}
	got := req.Header.Get(HeaderSignature)
	if got == "" {
		return connectors.Errorf(http.StatusUnauthorized, "missing %s header", HeaderSignature)
	}
	digest, ok := strings.CutPrefix(got, signaturePrefix)
	if !ok {
		return connectors.Errorf(http.StatusUnauthorized, "malformed %s header: want sha256=<hex>", HeaderSignature)
	}
	sum, err := hex.DecodeString(digest)
	if err != nil || len(sum) != sha256.Size {
		return connectors.Errorf(http.StatusUnauthorized, "malformed %s header: want sha256= and 64 hex digits", HeaderSignature)
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(req.Body)
	if !hmac.Equal(sum, m.Sum(nil)) {
		return connectors.Errorf(http.StatusUnauthorized, "bad %s signature", HeaderSignature)
	}
	return nil
}

// Handshake answers Meta's webhook verification, a GET with hub.mode,
// hub.verify_token and hub.challenge in the query. For hub.mode=subscribe
// and a hub.verify_token equal to verifyToken (compared in constant time)
// the answer is 200 with the challenge as a text/plain body; for another
// mode or token, 403; without a challenge, 400. A request that is not a GET
// with hub.mode is not handled (handled false): it is a webhook for
// Receive. An empty verifyToken matches no token.
func Handshake(req *connectors.Request, verifyToken string) (status int, contentType string, body []byte, handled bool) {
	if req.Method != http.MethodGet || !req.Query.Has("hub.mode") {
		return 0, "", nil, false
	}
	const text = "text/plain; charset=utf-8"
	token := req.Query.Get("hub.verify_token")
	if req.Query.Get("hub.mode") != "subscribe" || verifyToken == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(verifyToken)) != 1 {
		return http.StatusForbidden, text, []byte("verify token mismatch\n"), true
	}
	challenge := req.Query.Get("hub.challenge")
	if challenge == "" {
		return http.StatusBadRequest, text, []byte("missing hub.challenge\n"), true
	}
	return http.StatusOK, text, []byte(challenge), true
}
