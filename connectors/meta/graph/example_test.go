package graph_test

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
)

// A connector answers Meta's verification GET with Handshake, and checks
// every notification POST with VerifySignature before it parses it.
func Example() {
	const appSecret, verifyToken = "test_app_secret", "a-long-random-string"

	verify := &connectors.Request{Method: http.MethodGet, Header: http.Header{},
		Query: url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"1158201444"}}}
	status, _, body, handled := graph.Handshake(verify, verifyToken)
	fmt.Println(handled, status, string(body))

	notification := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	post := &connectors.Request{Method: http.MethodPost, Header: http.Header{}, Body: notification}
	post.Header.Set(graph.HeaderSignature, graph.Signature(appSecret, notification))
	fmt.Println(graph.VerifySignature(post, appSecret))

	post.Header.Set(graph.HeaderSignature, "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
	fmt.Println(graph.VerifySignature(post, appSecret))
	// Output:
	// true 200 1158201444
	// <nil>
	// malformed X-Hub-Signature-256 header: want sha256=<hex> (401)
}
