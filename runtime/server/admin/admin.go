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
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// Prefix is the path the console is served under.
const Prefix = "/admin"

//go:embed static
var staticFS embed.FS

// file is an embedded file served as is.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// files maps a path under Prefix to its file.
var files = map[string]file{}

func init() {
	for name, ct := range map[string]string{
		"index.html": "text/html; charset=utf-8",
		"admin.css":  "text/css; charset=utf-8",
		"admin.js":   "text/javascript; charset=utf-8",
	} {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		files["/"+name] = file{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	files["/"] = files["/index.html"]
}

// Files returns the names of the console's files and their sizes.
func Files() map[string]int {
	out := map[string]int{}
	for name, f := range files {
		if name != "/" {
			out[name] = len(f.body)
		}
	}
	return out
}

// contentSecurityPolicy keeps the page to its own scripts and styles and
// to the API of the server that serves it: nothing from elsewhere loads.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Serve answers a request whose path is Prefix or starts with Prefix+"/".
func Serve(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		writeError(ctx, http.StatusNotFound, fmt.Sprintf("no route for %s", path))
		return
	}
	method := string(ctx.Method())
	if method != http.MethodGet && method != http.MethodHead {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		writeError(ctx, http.StatusMethodNotAllowed, fmt.Sprintf("the admin console takes GET, not %s", method))
		return
	}
	if rest == "" {
		// Relative, so it stays right behind a proxy serving Switchboard
		// under a path prefix.
		target := url.PathEscape(Prefix[1:]) + "/"
		if q := ctx.URI().QueryString(); len(q) > 0 {
			target += "?" + string(q)
		}
		ctx.Response.Header.Set("Location", target)
		ctx.SetStatusCode(http.StatusPermanentRedirect)
		return
	}
	f, ok := files[rest]
	if !ok {
		writeError(ctx, http.StatusNotFound, fmt.Sprintf("no admin console file %s", rest))
		return
	}
	h := &ctx.Response.Header
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(f.contentType, "text/html") {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
	}
	ctx.SetContentType(f.contentType)
	if string(ctx.Request.Header.Peek("If-None-Match")) == f.etag {
		ctx.SetStatusCode(http.StatusNotModified)
		return
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetBody(f.body) // fasthttp leaves it out of a HEAD response
}

func writeError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(map[string]string{"error": msg})
	ctx.SetBody(append(b, '\n'))
}
