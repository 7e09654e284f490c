// Package twilioapi is what the Twilio connectors share: the
// X-Twilio-Signature check of webhooks (Verify, Signature), a client of the
// few REST calls they make (Client: CreateMessage for Messaging,
// UpdateCall for Voice) and the normalization of phone addresses (E164).
//
// It sits under the connectors that use it (connectors/twilio/messaging,
// connectors/twilio/voice) and uses only the standard library and the
// connectors package.
//
// # Signatures
//
// Twilio signs a webhook with base64(HMAC-SHA1(auth token, URL + params)),
// where URL is the URL Twilio called, query included, and params are the
// decoded form parameters of a POST sorted by name, then value, each
// written as name followed by value with no separator (a GET appends
// nothing: its parameters are in the URL). Verify computes this itself
// over every value of a repeated key: twilio-go's client.RequestValidator
// keeps only the first value of each key, so it refuses requests Twilio
// signed correctly (a MediaUrl or a Digits repeated, for instance). Like
// twilio-go, Verify accepts the URL both with the scheme's default port
// and without any port, because Twilio signs one or the other.
//
// # REST client
//
// Client is a thin client of its own rather than twilio-go's REST client
// (github.com/twilio/twilio-go/client): that client builds its requests
// with context.Background(), so a send cannot be cancelled or bounded by
// the caller's deadline; on an HTTP error it returns only the decoded
// error body, without the response's status line and headers, so a 429's
// or 503's Retry-After is lost; and it refuses credentials that are not
// purely alphanumeric before sending. The calls the connectors need are
// two form POSTs, so Client makes them with net/http, the caller's
// context and the caller's *http.Client, and classifies the answer the
// way the connectors' Send contract wants (temporary, with Retry-After, or
// permanent, with Twilio's error code in an *APIError).
package twilioapi
