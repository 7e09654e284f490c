package desktop

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func serve(method, uri, etag string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if etag != "" {
		ctx.Request.Header.Set("If-None-Match", etag)
	}
	Serve(&ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}

func TestServe(t *testing.T) {
	for _, c := range []struct {
		path, contentType, contains string
	}{
		{"/agent/", "text/html; charset=utf-8", `<script src="desktop.js"`},
		{"/agent/index.html", "text/html; charset=utf-8", "Agent desktop"},
		{"/agent/desktop.js", "text/javascript; charset=utf-8", `new URL("../v1/", location.href)`},
		{"/agent/desktop.css", "text/css; charset=utf-8", ".thread"},
	} {
		r := serve("GET", c.path, "")
		if r.StatusCode() != 200 || string(r.Header.ContentType()) != c.contentType || !strings.Contains(string(r.Body()), c.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", c.path, r.StatusCode(), r.Header.ContentType(), c.contains, strings.Contains(string(r.Body()), c.contains))
		}
		if string(r.Header.Peek("X-Content-Type-Options")) != "nosniff" || string(r.Header.Peek("Cache-Control")) != "no-cache" {
			t.Errorf("GET %s: headers %s", c.path, r.Header.String())
		}
		etag := string(r.Header.Peek("ETag"))
		if again := serve("GET", c.path, etag); etag == "" || again.StatusCode() != 304 || len(again.Body()) != 0 {
			t.Errorf("GET %s with If-None-Match %s: %d", c.path, etag, again.StatusCode())
		}
	}
	if csp := string(serve("GET", "/agent/", "").Header.Peek("Content-Security-Policy")); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("page CSP %q", csp)
	}

	r := serve("GET", "/agent?x=1", "")
	if r.StatusCode() != 308 || string(r.Header.Peek("Location")) != "agent/?x=1" {
		t.Errorf("GET /agent: %d Location %q", r.StatusCode(), r.Header.Peek("Location"))
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/agent/nope.js", 404},
		{"GET", "/agent/static/index.html", 404},
		{"GET", "/agentx", 404},
		{"POST", "/agent/", 405},
		{"DELETE", "/agent/desktop.js", 405},
	} {
		r := serve(c.method, c.path, "")
		var body map[string]string
		if r.StatusCode() != c.status || json.Unmarshal(r.Body(), &body) != nil || body["error"] == "" {
			t.Errorf("%s %s: %d %s, want %d with a JSON error", c.method, c.path, r.StatusCode(), r.Body(), c.status)
		}
	}
	if r := serve("POST", "/agent/", ""); string(r.Header.Peek("Allow")) != "GET, HEAD" {
		t.Errorf("405 without Allow: %s", r.Header.String())
	}
}
