// Package connectortest is the conformance kit for connectors and an
// in-memory fake channel for the tests of everything above them.
//
// Every connector package's tests call Run with a Harness that knows the
// platform's wire formats: how to sign a webhook, how to break one, and a
// fake of the platform's send API. Run starts that fake on loopback
// (httptest.Server), points the connector at it and checks the contract
// documented on connectors.Connector: valid requests give messages with
// dedupe keys, tampered, unsigned and malformed ones are refused with
// 401 and 400, Receive makes no network call, Send delivers, passes its
// Key on every retry and tells permanent failures from temporary ones.
//
// Fake (and InlineFake) is a channel that keeps what is sent to it in
// memory, for the runtime's tests; Register adds any connector value to a
// registry. Tests build their own connectors.NewRegistry and never change
// connectors.Default.
//
// Payloads reads a connector's recorded requests (testdata/connectors/
// <name>/*.txtar) and Payload.CheckInbounds compares what Receive gave
// with each one's want section, or rewrites that section when the
// connector's update variable (LINE_UPDATE=1, …) is set.
package connectortest
