package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
)

// signer computes the custom connector's signature headers (see connectors/custom.Sign):
//
//	X-Switchboard-Timestamp: <unix seconds>
//	X-Switchboard-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// One signer per connection reuses its HMAC state and buffers, so signing allocates nothing;
// the tests check it against custom.Sign and custom.Verify.
type signer struct {
	mac hash.Hash
	ts  []byte
	sum []byte
	sig []byte
}

func newSigner(secret string) *signer {
	return &signer{mac: hmac.New(sha256.New, []byte(secret))}
}

// sign returns the two header values for body signed at unix time ts. They are valid until the
// next call.
func (s *signer) sign(ts int64, body []byte) (timestamp, signature []byte) {
	s.ts = strconv.AppendInt(s.ts[:0], ts, 10)
	s.mac.Reset()
	s.mac.Write(s.ts)
	s.mac.Write([]byte{'.'})
	s.mac.Write(body)
	s.sum = s.mac.Sum(s.sum[:0])
	s.sig = append(s.sig[:0], "v1="...)
	s.sig = hex.AppendEncode(s.sig, s.sum)
	return s.ts, s.sig
}
