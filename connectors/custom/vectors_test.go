package custom_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// vector is one signature test vector of testdata/signatures.json. The
// expected headers were computed outside Go (openssl dgst, Python's hmac).
type vector struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	Timestamp string `json:"timestamp"`
	Body      string `json:"body"`
	Header    string `json:"header"`
}

func loadVectors(t testing.TB) []vector {
	data, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func TestSignatureVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			ts, err := strconv.ParseInt(v.Timestamp, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if got := custom.Sign(v.Secret, ts, []byte(v.Body)); got != v.Header {
				t.Errorf("Sign = %s\n      want %s", got, v.Header)
			}
			h := http.Header{}
			h.Set(custom.HeaderTimestamp, v.Timestamp)
			h.Set(custom.HeaderSignature, v.Header)
			now := time.Unix(ts, 0)
			if err := custom.Verify(h, []byte(v.Body), v.Secret, now, time.Minute); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if err := custom.Verify(h, []byte(v.Body+" "), v.Secret, now, time.Minute); err == nil {
				t.Error("Verify accepted a changed body")
			}
			if err := custom.Verify(h, []byte(v.Body), v.Secret+"x", now, time.Minute); err == nil {
				t.Error("Verify accepted a wrong secret")
			}
		})
	}
}
