// Package httpsurface is how a connector instance declares the HTTP it
// serves besides its webhook: pages, endpoints and WebSockets of its own
// under /{connector}/{instance}, and the CORS of a webhook that browsers
// call. The runtime server asks each instance for these interfaces and
// mounts what it finds; it names no connector.
//
// It is a package of its own because its handlers are fasthttp's: the
// connectors package stays free of the server's transport, and a
// connector that serves no pages never imports fasthttp.
package httpsurface

import "github.com/valyala/fasthttp"

// Route is one page or endpoint of an instance.
type Route struct {
	// Method is the HTTP method it answers (GET, HEAD, POST, OPTIONS…);
	// a path served with several methods is one Route per method. The
	// server answers another method on a known path with 405 and Allow.
	Method string
	// Path is under the instance's prefix /{connector}/{instance}: "" is
	// the prefix itself, "/" the page below it, "/ws" an endpoint. It is
	// matched exactly; a path that holds { or }, or is neither empty nor
	// starts with /, is not mounted (the server logs it).
	Path string
	// Handler answers the request. A GET that upgrades to a WebSocket is
	// a route like any other: the server counts the socket as work in
	// flight and, at shutdown, stops admitting new ones; the connector
	// closes the open ones in Close.
	Handler fasthttp.RequestHandler
}

// Pages is implemented by an instance that serves routes of its own
// under /{connector}/{instance} (the webchat: its chat page, widget,
// session, WebSocket and long-poll). The server calls Routes once, when it
// is built; the routes take no token, so each checks its own
// authorization.
type Pages interface {
	Routes() []Route
}

// WebhookCORS is implemented by an instance whose webhook browsers call,
// possibly from other origins (a widget embedded on another site). The
// server calls it before it handles a POST or GET to the instance's
// webhook, to set the CORS response headers, and for an OPTIONS
// (the preflight), which it answers itself, returning true. An instance
// without it answers OPTIONS with 405.
type WebhookCORS interface {
	WebhookCORS(ctx *fasthttp.RequestCtx) (answered bool)
}
