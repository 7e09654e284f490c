// Package desktop serves the agent desktop: the single-page web app a live
// agent (a worker) signs in to with its worker token, at /agent/. The page
// is plain HTML, CSS and JavaScript embedded in the binary, with no build
// step; it talks to the agent API under /v1 (the worker's stream,
// reservations and tasks, notes, canned responses, contacts, the tasks
// waiting in the worker's queues) with the token the agent pasted. The
// static files themselves need no token, and the page loads nothing else.
package desktop

import (
	"embed"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/internal/webpage"
)

// Prefix is the path the agent desktop is served under.
const Prefix = "/agent"

//go:embed static
var staticFS embed.FS

var site = webpage.New(staticFS, Prefix, "the agent desktop", map[string]string{
	"index.html":  "text/html; charset=utf-8",
	"desktop.css": "text/css; charset=utf-8",
	"desktop.js":  "text/javascript; charset=utf-8",
})

// Serve answers a request whose path is Prefix or starts with Prefix+"/".
func Serve(ctx *fasthttp.RequestCtx) { site.Serve(ctx) }
