// Package admin is the admin console at /admin/: the single-page web app
// an administrator signs in to with an admin token, to deploy programs and
// see each flow's state machine with the executions waiting at its steps,
// manage workers and their tokens, watch the queues, search conversations,
// retry or discard dead letters and read the router's event log. The page
// is plain HTML, CSS and JavaScript embedded in the binary, with no build
// step and nothing loaded from elsewhere; every call it makes is the admin
// API's under /v1. The package also lays out the flow pictures (Layout).
package admin

import (
	"embed"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/internal/webpage"
)

// Prefix is the path the admin console is served under.
const Prefix = "/admin"

//go:embed static
var staticFS embed.FS

var site = webpage.New(staticFS, Prefix, "the admin console", map[string]string{
	"index.html": "text/html; charset=utf-8",
	"admin.css":  "text/css; charset=utf-8",
	"admin.js":   "text/javascript; charset=utf-8",
})

// Files returns the names of the console's files and their sizes.
func Files() map[string]int { return site.Files() }

// Serve answers a request whose path is Prefix or starts with Prefix+"/".
func Serve(ctx *fasthttp.RequestCtx) { site.Serve(ctx) }
