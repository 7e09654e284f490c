package custom_test

import (
	"fmt"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// The first vector of testdata/signatures.json, as docs/CONNECTORS.md
// reproduces it with openssl.
func ExampleSign() {
	body := []byte(`{"id":"msg-1","from":"+15550100","text":"Hello"}`)
	fmt.Println(custom.Sign("whsec_test_secret", 1700000000, body))
	// Output: v1=f069f634773dbf7a5580088caa4fe0bf895d03e332eb06ca229d2e31bbbafd3c
}
