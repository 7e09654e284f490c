package line_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

// contentRig is an instance whose content route a test calls.
type contentRig struct {
	t     *testing.T
	c     connectors.Connector
	f     *linefake.Fake
	dir   string
	serve fasthttp.RequestHandler
}

func newContentRig(t *testing.T) *contentRig {
	f := linefake.New(t)
	dir := t.TempDir()
	c := newConnector(t, config(f.URL, connectors.Config{"media_dir": dir}), connectors.Resources{HTTPClient: f.Client()})
	r := &contentRig{t: t, c: c, f: f, dir: dir}
	for _, rt := range c.(httpsurface.Pages).Routes() {
		if rt.Method == http.MethodGet && rt.Path == "/content" {
			r.serve = rt.Handler
		}
	}
	if r.serve == nil {
		t.Fatal("no GET /content route")
	}
	return r
}

// receive posts the payload and returns its one media link.
func (r *contentRig) receive(name string) *url.URL {
	r.t.Helper()
	in, err := r.c.Receive(context.Background(), linefake.Webhook(secret, webhook, findPayload(r.t, name).Body))
	if err != nil || len(in) != 1 || len(in[0].Media) != 1 {
		r.t.Fatalf("Receive: %+v, %v", in, err)
	}
	link, err := url.Parse(in[0].Media[0])
	if err != nil || link.Path != "/line/default/content" {
		r.t.Fatalf("media link %q", in[0].Media[0])
	}
	return link
}

func (r *contentRig) get(query string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/line/default/content?" + query)
	ctx.Request.Header.SetMethod(http.MethodGet)
	r.serve(&ctx)
	return &ctx
}

// fetched waits until the data host was asked n times for message id.
func (r *contentRig) fetched(id string, n int) {
	r.t.Helper()
	path := "/v2/bot/message/" + id + "/content"
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		got := 0
		for _, req := range r.f.Requests() {
			if req.Path == path {
				got++
				if req.Header.Get("Authorization") != "Bearer "+linefake.Token {
					r.t.Fatalf("content fetched without the token: %v", req.Header)
				}
			}
		}
		if got >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.t.Fatalf("the data host was never asked %d times for %s: %+v", n, id, r.f.Requests())
}

// TestContentKept: the content of a customer's image is fetched in the
// background as the webhook arrives, kept in media_dir, and served from
// there by the link the Inbound holds, without asking LINE again.
func TestContentKept(t *testing.T) {
	r := newContentRig(t)
	jpeg := []byte("\xff\xd8\xff\xe0 a jpeg")
	const id = "354718705033693859"
	r.f.AddContent(id, "image/jpeg", jpeg)
	link := r.receive("image")
	r.fetched(id, 1)
	deadline := time.Now().Add(5 * time.Second)
	for _, err := os.Stat(filepath.Join(r.dir, id)); err != nil; _, err = os.Stat(filepath.Join(r.dir, id)) {
		if time.Now().After(deadline) {
			t.Fatal("the content was never kept")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 2 {
		ctx := r.get(link.RawQuery)
		if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != string(jpeg) || string(ctx.Response.Header.ContentType()) != "image/jpeg" {
			t.Fatalf("%d %q %s", ctx.Response.StatusCode(), ctx.Response.Body(), ctx.Response.Header.ContentType())
		}
	}
	r.fetched(id, 1)
	if n := len(r.f.Requests()); n != 1 {
		t.Errorf("the data host was asked %d times, want once", n)
	}
}

// TestContentRoute: links not signed by the instance name nothing; content
// the background fetch missed is fetched when asked for; content LINE no
// longer keeps is 404, LINE failing 502.
func TestContentRoute(t *testing.T) {
	r := newContentRig(t)
	link := r.receive("file")
	const id = "325708"
	r.fetched(id, 1) // the background fetch: LINE has no such content yet
	for _, tc := range []struct {
		name   string
		query  string
		status int
		body   string
	}{
		{"another id, same sig", strings.Replace(link.RawQuery, id, "325709", 1), 404, "no such content"},
		{"no sig", "id=" + id, 404, "no such content"},
		{"not LINE's id", "id=..%2Fetc&sig=" + link.Query().Get("sig"), 404, "no such content"},
		{"gone", link.RawQuery, 404, "no longer kept"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := r.get(tc.query)
			if ctx.Response.StatusCode() != tc.status || !strings.Contains(string(ctx.Response.Body()), tc.body) {
				t.Errorf("%d %q, want %d %q", ctx.Response.StatusCode(), ctx.Response.Body(), tc.status, tc.body)
			}
		})
	}
	r.f.Respond("/v2/bot/message/"+id+"/content", linefake.Answer{Status: 500, Body: linefake.ErrorJSON("Internal error")})
	if ctx := r.get(link.RawQuery); ctx.Response.StatusCode() != 502 {
		t.Errorf("LINE failing: %d", ctx.Response.StatusCode())
	}
	r.f.AddContent(id, "application/pdf", []byte("%PDF-1.7"))
	if ctx := r.get(link.RawQuery); ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != "%PDF-1.7" {
		t.Errorf("content fetched when asked for: %d %q", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}
