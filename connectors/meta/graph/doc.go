// Package graph is what the Meta connectors (WhatsApp Cloud API,
// Messenger, Instagram) share: the X-Hub-Signature-256 check of their
// webhooks (VerifySignature, Signature), the hub.challenge handshake Meta
// makes before it sends any (Handshake), and a thin client of the Graph API
// (Client: Post, Get, Download) that classifies Meta's answers the way a
// connector's Send must (temporary, with Retry-After, or permanent, with
// Meta's error in an *Error).
//
// It sits under the connectors that use it (connectors/meta/whatsapp and
// the Messenger and Instagram connectors) and uses only the standard
// library and the connectors package. Meta publishes no Go SDK, so the
// client is a few net/http calls with the caller's context and
// *http.Client; the base URL and the Graph version come from the
// instance's configuration, so tests point it at connectors/meta/graphfake
// and an instance pins the version its app was built against.
//
// # Signatures
//
// Meta signs every webhook POST with X-Hub-Signature-256: "sha256=" and
// the lower-case hex HMAC-SHA256 of the raw body, keyed with the app
// secret. The body is verified exactly as received: Meta signs the form it
// sends (with non-ASCII characters escaped as \uXXXX), so re-serialising
// the JSON would break the signature. The older X-Hub-Signature (SHA-1)
// header is not accepted.
//
// # Errors
//
// The Graph API answers a failure with
//
//	{"error": {"message": "...", "type": "OAuthException", "code": 131047,
//	           "error_subcode": 2494010, "fbtrace_id": "A2x...", "error_data": {"details": "..."}}}
//
// Client turns it into an *Error. Throttling (codes 4, 17, 32, 613, 80007,
// 130429, 131048, 131056), 429, 5xx and network failures are temporary;
// any other 4xx is permanent.
package graph
