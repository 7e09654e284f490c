package hmacsig

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestVector checks Sign against a value computed outside Go:
// printf '1700000000.{"id":"msg-1","from":"+15550100","text":"Hello"}' | openssl dgst -sha256 -hmac whsec_test_secret
// (the first of connectors/custom/testdata/signatures.json, which has more).
func TestVector(t *testing.T) {
	got := Sign("whsec_test_secret", 1700000000, []byte(`{"id":"msg-1","from":"+15550100","text":"Hello"}`))
	if want := "v1=f069f634773dbf7a5580088caa4fe0bf895d03e332eb06ca229d2e31bbbafd3c"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"events":[]}`)
	signed := func() http.Header {
		h := http.Header{}
		SignHeader(h, "s3cret", now, body)
		return h
	}
	if err := Verify(signed(), body, "s3cret", now.Add(4*time.Minute), 5*time.Minute); err != nil {
		t.Errorf("a fresh signature: %v", err)
	}
	rotated := signed()
	rotated.Set(HeaderSignature, "v0=abc, v1=00, "+rotated.Get(HeaderSignature))
	if err := Verify(rotated, body, "s3cret", now, time.Minute); err != nil {
		t.Errorf("one good signature among others: %v", err)
	}
	for _, tc := range []struct {
		name   string
		header func() http.Header
		body   string
		secret string
		now    time.Time
		want   error
	}{
		{"changed body", signed, `{"events":[1]}`, "s3cret", now, ErrBadSignature},
		{"wrong secret", signed, string(body), "other", now, ErrBadSignature},
		{"stale", signed, string(body), "s3cret", now.Add(6 * time.Minute), ErrStale},
		{"from the future", signed, string(body), "s3cret", now.Add(-6 * time.Minute), ErrStale},
		{"no timestamp", func() http.Header { h := signed(); h.Del(HeaderTimestamp); return h }, string(body), "s3cret", now, ErrNoTimestamp},
		{"timestamp not digits", func() http.Header { h := signed(); h.Set(HeaderTimestamp, "1e9"); return h }, string(body), "s3cret", now, ErrBadTimestamp},
		{"no v1", func() http.Header { h := signed(); h.Set(HeaderSignature, "v2=ab"); return h }, string(body), "s3cret", now, ErrNoSignature},
	} {
		if err := Verify(tc.header(), []byte(tc.body), tc.secret, tc.now, 5*time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
