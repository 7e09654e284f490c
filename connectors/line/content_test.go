package line_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

// TestContentRoute: the link an image's Inbound holds serves the content
// LINE keeps, fetched from the data host with the token; a link not
// signed by the instance, or content LINE no longer has, is 404.
func TestContentRoute(t *testing.T) {
	f := linefake.New(t)
	c := newConnector(t, config(f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	in, err := c.Receive(context.Background(), linefake.Webhook(secret, webhook, findPayload(t, "image").body))
	if err != nil || len(in) != 1 || len(in[0].Media) != 1 {
		t.Fatalf("Receive: %+v, %v", in, err)
	}
	link, err := url.Parse(in[0].Media[0])
	if err != nil || link.Path != "/line/default/content" {
		t.Fatalf("media link %q", in[0].Media[0])
	}
	routes := c.(httpsurface.Pages).Routes()
	var serve fasthttp.RequestHandler
	for _, r := range routes {
		if r.Method == http.MethodGet && r.Path == link.Path[len("/line/default"):] {
			serve = r.Handler
		}
	}
	if serve == nil {
		t.Fatalf("no GET route for %s in %+v", link.Path, routes)
	}
	jpeg := []byte("\xff\xd8\xff\xe0 a jpeg")
	f.AddContent("354718705033693859", "image/jpeg", jpeg)
	get := func(query string) *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/line/default/content?" + query)
		ctx.Request.Header.SetMethod(http.MethodGet)
		serve(&ctx)
		return &ctx
	}
	for _, tc := range []struct {
		name   string
		query  string
		status int
		body   string
	}{
		{"the link", link.RawQuery, 200, string(jpeg)},
		{"another id, same sig", strings.Replace(link.RawQuery, "354718705033693859", "354718705033693860", 1), 404, "no such content"},
		{"no sig", "id=354718705033693859", 404, "no such content"},
		{"not LINE's id", "id=..%2Fetc&sig=" + link.Query().Get("sig"), 404, "no such content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := get(tc.query)
			if ctx.Response.StatusCode() != tc.status || !strings.Contains(string(ctx.Response.Body()), tc.body) {
				t.Errorf("%d %q, want %d %q", ctx.Response.StatusCode(), ctx.Response.Body(), tc.status, tc.body)
			}
		})
	}
	if ct := string(get(link.RawQuery).Response.Header.ContentType()); ct != "image/jpeg" {
		t.Errorf("content type %q", ct)
	}
	last := f.Requests()[len(f.Requests())-1]
	if last.Path != "/v2/bot/message/354718705033693859/content" || last.Header.Get("Authorization") != "Bearer "+linefake.Token {
		t.Errorf("the data host got %s %v", last.Path, last.Header)
	}

	// Content LINE no longer keeps, and LINE failing.
	in, _ = c.Receive(context.Background(), linefake.Webhook(secret, webhook, findPayload(t, "file").body))
	gone, _ := url.Parse(in[0].Media[0])
	if ctx := get(gone.RawQuery); ctx.Response.StatusCode() != 404 {
		t.Errorf("expired content: %d", ctx.Response.StatusCode())
	}
	f.Respond("/v2/bot/message/325708/content", linefake.Answer{Status: 500, Body: linefake.ErrorJSON("Internal error")})
	if ctx := get(gone.RawQuery); ctx.Response.StatusCode() != 502 {
		t.Errorf("LINE failing: %d", ctx.Response.StatusCode())
	}
}
