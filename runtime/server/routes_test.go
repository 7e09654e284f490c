package server

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

// docRoute is an endpoint line of docs/API.md: a method and a path at the
// start of a line in a code block, as in
//
//	GET  /v1/workers/{id}/reservations?status=pending|…
var docRoute = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\s+(/\S*)`)

// apiDoc returns the endpoint lines of docs/API.md, method and path
// without the query, with their line numbers.
func apiDoc(t *testing.T) (lines []int, methods, paths []string) {
	t.Helper()
	f, err := os.Open("../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inCode := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		m := docRoute.FindStringSubmatch(line)
		if !inCode || m == nil {
			continue
		}
		path, _, _ := strings.Cut(m[2], "?")
		lines, methods, paths = append(lines, n), append(methods, m[1]), append(paths, path)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(paths) < 20 {
		t.Fatalf("found %d endpoint lines in docs/API.md; has their form changed?", len(paths))
	}
	return lines, methods, paths
}

// TestAPIDocumentsEveryRoute checks docs/API.md against the route table
// both ways: every endpoint it lists is a route (its path, read as a
// request's, reaches a route of that method), and every route is listed.
func TestAPIDocumentsEveryRoute(t *testing.T) {
	s := New(Config{DemoBot: true})
	documented := map[*route]bool{}
	lines, methods, paths := apiDoc(t)
	for i, path := range paths {
		var p params
		n := s.table.match(path, &p)
		var found *route
		if n != nil {
			for _, r := range n.routes {
				if r.method == methods[i] {
					found = r
				}
			}
		}
		if found == nil {
			t.Errorf("docs/API.md:%d: %s %s is no route of the server", lines[i], methods[i], path)
			continue
		}
		documented[found] = true
	}
	for _, r := range s.table.routes {
		if !documented[r] {
			t.Errorf("%s %s is not in docs/API.md", r.method, r.pattern)
		}
	}
}

// pages is a connector instance with a page of its own.
type pages struct{ quiet }

func (pages) Routes() []httpsurface.Route {
	page := func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("page") }
	return []httpsurface.Route{
		{Method: "GET", Path: "/", Handler: page},
		// Refused: not under the prefix, a pattern, no handler.
		{Method: "GET", Path: "x", Handler: page},
		{Method: "GET", Path: "/{file}", Handler: page},
		{Method: "GET", Path: "/nil"},
	}
}

// quiet is a connector whose webhooks carry no message.
type quiet struct{}

func (quiet) Receive(context.Context, *connectors.Request) ([]connectors.Inbound, error) {
	return nil, nil
}

func (quiet) Send(context.Context, *connectors.Outbound) (string, error) { return "", nil }

// do serves one request with s's handler.
func do(s *Server, method, path string, body []byte) (int, *fasthttp.Response) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.SetBody(body)
	s.Handler()(&ctx)
	return ctx.Response.StatusCode(), &ctx.Response
}

// TestRouteMisses checks the answers to a path the table has not (404)
// and to a method a path does not take (405 with Allow), for the API and
// for a connector's pages: JSON errors, before any token is asked for.
func TestRouteMisses(t *testing.T) {
	s := New(Config{Instances: []Instance{{Connector: "kiosk", Name: "lobby", Conn: pages{}}}})
	for _, tc := range []struct {
		method, path string
		status       int
		allow, want  string
	}{
		{"GET", "/v1/nope", 404, "", "no route for GET /v1/nope"},
		{"GET", "/v1/workers/ana/nope", 404, "", "no route"},
		{"GET", "/nope", 404, "", "no route"},
		{"DELETE", "/v1/programs", 405, "GET, POST", "/v1/programs takes GET, POST, not DELETE"},
		{"GET", "/v1/tasks/t1/complete", 405, "POST", "takes POST"},
		{"PUT", "/v1/webhooks/custom/default", 405, "GET, OPTIONS, POST", "takes GET, OPTIONS, POST"},
		{"GET", "/v1/programs", 401, "", "missing bearer token"},
		{"GET", "/v1/workers/ana?access_token=x", 401, "", "access_token is taken only by the worker stream"},
		{"POST", "/kiosk/lobby/", 405, "GET", "takes GET"},
		{"GET", "/kiosk/lobby/nope", 404, "", "no route"},
		{"GET", "/kiosk/lobbyx", 404, "", "no route"},
		{"GET", "/kiosk/lobby/nil", 404, "", "no route"},
		{"GET", "/kiosk/elsewhere/", 404, "", "no route"},
		{"POST", "/demo/bot/reply", 404, "", "no route"}, // the demo bot is off
	} {
		status, resp := do(s, tc.method, tc.path, nil)
		var e struct{ Error string }
		if status != tc.status || string(resp.Header.Peek("Allow")) != tc.allow || json.Unmarshal(resp.Body(), &e) != nil || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s %s: %d Allow=%q %s, want %d Allow=%q %q", tc.method, tc.path, status, resp.Header.Peek("Allow"), resp.Body(), tc.status, tc.allow, tc.want)
		}
	}
	if status, resp := do(s, "GET", "/kiosk/lobby/", nil); status != 200 || string(resp.Body()) != "page" {
		t.Errorf("the connector's page: %d %s", status, resp.Body())
	}
	if status, resp := do(s, "GET", "/healthz", nil); status != 200 {
		t.Errorf("/healthz: %d %s", status, resp.Body())
	}
}

// browserHook is a connector instance whose webhook browsers call.
type browserHook struct{ quiet }

func (browserHook) WebhookCORS(ctx *fasthttp.RequestCtx) bool {
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "https://shop.example.com")
	if ctx.IsOptions() {
		ctx.SetStatusCode(204)
		return true
	}
	return false
}

// TestWebhookCORS checks that the server lets an instance with
// httpsurface.WebhookCORS see its webhook's requests first and answer
// their preflight, and answers an OPTIONS to another instance 405.
func TestWebhookCORS(t *testing.T) {
	s := New(Config{Instances: []Instance{{Connector: "widget", Name: "default", Conn: browserHook{}}, {Connector: "plain", Name: "default", Conn: quiet{}}}})
	status, resp := do(s, "OPTIONS", "/v1/webhooks/widget/default", nil)
	if status != 204 || string(resp.Header.Peek("Access-Control-Allow-Origin")) == "" {
		t.Errorf("preflight: %d %s", status, resp.Header.String())
	}
	status, resp = do(s, "POST", "/v1/webhooks/widget/default", []byte(`{}`))
	if status != 200 || string(resp.Header.Peek("Access-Control-Allow-Origin")) == "" {
		t.Errorf("POST: %d %s", status, resp.Header.String())
	}
	status, resp = do(s, "OPTIONS", "/v1/webhooks/plain/default", nil)
	if status != 405 || string(resp.Header.Peek("Allow")) != "GET, POST" {
		t.Errorf("OPTIONS to a webhook without CORS: %d %s", status, resp.Header.String())
	}
	if status, _ := do(s, "OPTIONS", "/v1/webhooks/nope/default", nil); status != 404 {
		t.Errorf("OPTIONS to no instance: %d", status)
	}
}

// TestPagesNeverShadowTheAPI: a connector named like one of the API's
// first segments gets no pages, and the API keeps its routes.
func TestPagesNeverShadowTheAPI(t *testing.T) {
	s := New(Config{Instances: []Instance{{Connector: "v1", Name: "programs", Conn: pages{}}}})
	if status, _ := do(s, "GET", "/v1/programs/", nil); status != 404 {
		t.Errorf("a page at /v1/programs/: %d, want 404", status)
	}
	if status, _ := do(s, "GET", "/v1/programs", nil); status != 401 {
		t.Errorf("GET /v1/programs: %d, want 401 (the API's route, asking for a token)", status)
	}
}

// TestWebhookBodyLimit checks that each connector's Spec.MaxBodyBytes
// bounds its webhooks, and DefaultMaxBodyBytes those of a spec without.
func TestWebhookBodyLimit(t *testing.T) {
	small := &connectors.Spec{Name: "small", MaxBodyBytes: 100}
	large := &connectors.Spec{Name: "large", MaxBodyBytes: 4 << 20}
	s := New(Config{Instances: []Instance{
		{Connector: "small", Name: "default", Conn: quiet{}, Spec: small},
		{Connector: "large", Name: "default", Conn: quiet{}, Spec: large},
		{Connector: "plain", Name: "default", Conn: quiet{}},
	}})
	for _, tc := range []struct {
		connector string
		size      int
		status    int
	}{
		{"small", 100, 200},
		{"small", 101, 413},
		{"plain", connectors.DefaultMaxBodyBytes, 200},
		{"plain", connectors.DefaultMaxBodyBytes + 1, 413},
		{"large", 2 << 20, 200},
		{"large", 4<<20 + 1, 413},
	} {
		status, resp := do(s, "POST", "/v1/webhooks/"+tc.connector+"/default", make([]byte, tc.size))
		if status != tc.status {
			t.Errorf("%s, %d bytes: %d %s, want %d", tc.connector, tc.size, status, resp.Body(), tc.status)
		}
	}
}

// BenchmarkWebhookRouting measures the server's path from a webhook's
// arrival to its answer, minus the store: routing, the body limit, the
// adaption of the request for the connector and the answer. It reports the
// allocations each request costs.
func BenchmarkWebhookRouting(b *testing.B) {
	srv := New(Config{Instances: []Instance{{Connector: "quiet", Name: "default", Conn: quiet{}}}})
	h := srv.Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/v1/webhooks/quiet/default")
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyString(`{"status":"delivered"}`)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
