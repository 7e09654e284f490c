// Package webpage serves a single-page app embedded in the binary under a
// path prefix: the agent desktop and the admin console. The files are
// served as they are, with an ETag, no-cache (a new binary is a new page)
// and a Content-Security-Policy that keeps the page to the server's own
// scripts, styles and API, so nothing loads from elsewhere.
package webpage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// contentSecurityPolicy: 'self' covers the API and its WebSocket.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Site is one page's files under its prefix.
type Site struct {
	prefix string
	what   string // "the agent desktop", for error messages
	files  map[string]file
}

type file struct {
	body        []byte
	contentType string
	etag        string
}

// New reads the files of static/ that types names, each with its content
// type, and serves them under prefix; "/" is index.html. It panics when a
// file is missing: the files are embedded, so that is a build mistake.
func New(static fs.FS, prefix, what string, types map[string]string) *Site {
	s := &Site{prefix: prefix, what: what, files: map[string]file{}}
	for name, ct := range types {
		b, err := fs.ReadFile(static, "static/"+name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		s.files["/"+name] = file{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	s.files["/"] = s.files["/index.html"]
	return s
}

// Files returns the names of the site's files and their sizes.
func (s *Site) Files() map[string]int {
	out := map[string]int{}
	for name, f := range s.files {
		if name != "/" {
			out[name] = len(f.body)
		}
	}
	return out
}

// Serve answers a request whose path is the prefix or starts with
// prefix+"/".
func (s *Site) Serve(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	rest, ok := strings.CutPrefix(path, s.prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		writeError(ctx, http.StatusNotFound, fmt.Sprintf("no route for %s", path))
		return
	}
	method := string(ctx.Method())
	if method != http.MethodGet && method != http.MethodHead {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		writeError(ctx, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes GET, not %s", s.what, method))
		return
	}
	if rest == "" {
		// Relative, so it stays right behind a proxy serving Switchboard
		// under a path prefix.
		target := url.PathEscape(s.prefix[1:]) + "/"
		if q := ctx.URI().QueryString(); len(q) > 0 {
			target += "?" + string(q)
		}
		ctx.Response.Header.Set("Location", target)
		ctx.SetStatusCode(http.StatusPermanentRedirect)
		return
	}
	f, ok := s.files[rest]
	if !ok {
		writeError(ctx, http.StatusNotFound, fmt.Sprintf("no %s file %s", strings.TrimPrefix(s.what, "the "), rest))
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
