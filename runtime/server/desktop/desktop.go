// Package desktop serves the agent desktop: the single-page web app a live
// agent (a worker) signs in to with its worker token, at /agent/. The page
// is plain HTML, CSS and JavaScript embedded in the binary, with no build
// step; it talks to the agent API under /v1 (the worker's stream,
// reservations and tasks, notes, canned responses, contacts, the tasks
// waiting in the worker's queues) with the token the agent pasted. The
// static files themselves need no token, and the page loads nothing else.
package desktop

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

// Prefix is the path the desktop is served under.
const Prefix = "/agent"

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
		"index.html":  "text/html; charset=utf-8",
		"desktop.css": "text/css; charset=utf-8",
		"desktop.js":  "text/javascript; charset=utf-8",
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

// contentSecurityPolicy keeps the page to its own scripts and styles and
// to the API of the server that serves it ('self' covers its WebSocket).
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
		writeError(ctx, http.StatusMethodNotAllowed, fmt.Sprintf("the agent desktop takes GET, not %s", method))
		return
	}
	if rest == "" {
		// A relative redirect ("agent/"), right behind a proxy that
		// serves Switchboard under a path prefix too.
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
		writeError(ctx, http.StatusNotFound, fmt.Sprintf("no agent desktop file %s", rest))
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
