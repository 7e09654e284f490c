package desktop

import (
	"encoding/json"
	"regexp"
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

// TestFirstRenderWeight sums what the first render of /agent/ loads: the
// page and every asset it names (stylesheets, scripts, images), each
// served by Serve. Everything is embedded: a reference to anything else
// (another host, a CDN) fails the test, as does a total of 200 KB or more.
func TestFirstRenderWeight(t *testing.T) {
	const budget = 200 << 10
	page := serve("GET", "/agent/", "")
	if page.StatusCode() != 200 {
		t.Fatalf("GET /agent/: %d", page.StatusCode())
	}
	total := len(page.Body())
	refs := regexp.MustCompile(`(?i)<(?:link|script|img)\b[^>]*?\b(?:href|src)="([^"]+)"`).FindAllStringSubmatch(string(page.Body()), -1)
	assets := 0
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		if strings.Contains(ref, "//") || strings.HasPrefix(ref, "/") {
			t.Errorf("the page loads %s, outside the desktop's embedded files", ref)
			continue
		}
		r := serve("GET", "/agent/"+ref, "")
		if r.StatusCode() != 200 {
			t.Errorf("GET /agent/%s: %d", ref, r.StatusCode())
			continue
		}
		total += len(r.Body())
		assets++
	}
	if assets < 2 {
		t.Fatalf("found %d assets in the page: %v", assets, refs)
	}
	t.Logf("first render: %d bytes (%d assets), budget %d", total, assets, budget)
	if total >= budget {
		t.Errorf("the first render loads %d bytes, at most %d", total, budget)
	}
}
