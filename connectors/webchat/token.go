package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Visitor ids are "v_" followed by 26 lower-case base32 characters (128
// random bits). A token is the visitor id, a dot, and the unpadded
// base64url HMAC-SHA256 of the id, keyed by the instance's secret and
// bound to the instance's name:
//
//	v_3k2j…q.<43 characters>
const (
	visitorPrefix = "v_"
	visitorLen    = len(visitorPrefix) + 26
	sigLen        = 43 // base64url of 32 bytes, unpadded
	tokenLen      = visitorLen + 1 + sigLen
	tokenContext  = "switchboard-webchat-v1\x00"
)

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newVisitorID returns a fresh random visitor id.
func newVisitorID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return visitorPrefix + b32.EncodeToString(b[:])
}

// validVisitorID reports whether id has the shape of a visitor id.
func validVisitorID(id string) bool {
	if len(id) != visitorLen || !strings.HasPrefix(id, visitorPrefix) {
		return false
	}
	for i := len(visitorPrefix); i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// signer issues and checks the visitor tokens of one instance.
type signer struct {
	instance string
	// load fetches the secret kept by the runtime (connectors.Keys) when
	// none is configured; nil when secret is set from the start.
	load func(context.Context) ([]byte, error)

	mu     sync.Mutex
	secret []byte      // set once; read without mu after ready returned nil
	ok     atomic.Bool // secret is set
}

// keyTimeout bounds the wait for the runtime's key store.
const keyTimeout = 10 * time.Second

// ready makes sure the secret is known, fetching it the first time. A
// failure (the store does not answer) is not remembered: the next request
// tries again.
func (s *signer) ready(ctx context.Context) error {
	if s.load == nil || s.ok.Load() { // a configured secret, or one loaded before
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ok.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, keyTimeout)
	defer cancel()
	key, err := s.load(ctx)
	if err != nil {
		return fmt.Errorf("webchat: the visitor-signing key: %w", err)
	}
	s.secret = key
	s.ok.Store(true)
	return nil
}

func (s *signer) mac(visitor string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(tokenContext))
	m.Write([]byte(s.instance))
	m.Write([]byte{0})
	m.Write([]byte(visitor))
	return m.Sum(nil)
}

// token returns the token of a visitor, "" when the secret cannot be
// had (see ready).
func (s *signer) token(visitor string) string {
	if s.ready(context.Background()) != nil {
		return ""
	}
	return visitor + "." + base64.RawURLEncoding.EncodeToString(s.mac(visitor))
}

// verify returns the visitor a token was issued to, or false if the token
// is not one this signer issued. The signature is compared in constant
// time; only the token's public shape is checked before.
func (s *signer) verify(token string) (string, bool) {
	if s.ready(context.Background()) != nil {
		return "", false
	}
	if len(token) != tokenLen || token[visitorLen] != '.' {
		return "", false
	}
	visitor := token[:visitorLen]
	if !validVisitorID(visitor) {
		return "", false
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(token[visitorLen+1:])
	if err != nil || len(sig) != sha256.Size {
		return "", false
	}
	if !hmac.Equal(sig, s.mac(visitor)) {
		return "", false
	}
	return visitor, true
}

// randomSecret returns 32 random bytes, the secret of an instance
// configured without one.
func randomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// randomID returns n random bytes as lower-case base32.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b32.EncodeToString(b)
}
