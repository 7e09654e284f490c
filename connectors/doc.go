// Package connectors is the seam between Switchboard and the messaging
// platforms it serves: the normalized message types, the Connector
// interface every channel implements, the config specs that describe a
// connector, and the Registry that builds configured instances.
//
// It sits beside the runtime, below it: the runtime server adapts each
// incoming webhook to a transport-neutral Request, hands it to the
// connector instance named in the path /v1/webhooks/{connector}/{instance},
// stores what Receive returns, and later delivers the flow's replies with
// Send. This package knows nothing of fasthttp, the store or the engine;
// it uses only the standard library. Each connector lives in its own
// subpackage (connectors/custom, …) and registers itself with Default in
// an init function; connectors/all blank-imports them all, and
// connectors/connectortest is the conformance kit every connector's tests
// run.
//
// Besides its webhook, a connector declares what else the runtime does for
// it, and the runtime names no connector: in its Spec the body limit
// (MaxBodyBytes) and whether serve starts an instance by default
// (QuickStart); on its instances the optional interfaces InlineResponder,
// ChannelLister, Drainer, HomePage and Closer here, and in
// internal/httpsurface (which may use fasthttp) the pages it serves
// under /{connector}/{instance} and the CORS of its webhook.
//
// The life of an inbound message:
//
//  1. The server reads the body (at most Spec.MaxBodyBytes, else 413) and
//     builds a Request.
//  2. Connector.Receive verifies the request's authenticity over the raw
//     bytes, then parses it into zero or more Inbound messages, or fails
//     with a *StatusError (4xx: the server answers with that status and
//     {"error": reason}) or another error (the server answers 500 and the
//     platform retries).
//  3. The server deduplicates on (connector, instance, Inbound.PlatformID),
//     runs the flow and commits the message and its effects in one
//     transaction; only then does it answer.
//  4. The answer is InlineResponder.Respond's when the connector has one,
//     else 200 with an empty body.
//
// Outbound, the runtime's outbox calls Send with a stable Outbound.Key and
// retries temporary failures with backoff; a Permanent error (see
// IsPermanent) dead-letters the message at once.
package connectors
