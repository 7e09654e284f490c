package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/runtime/server/admin"
	"github.com/switchboard-dev/switchboard/runtime/server/desktop"
)

// The route table: every path the server answers is one row, method and
// pattern to handler, with who may call it. docs/API.md lists the same
// rows (TestAPIDocumentsEveryRoute compares them), and the connector
// instances add their own pages under /{connector}/{instance} (see
// connectorRoutes).

// access is who may call a route.
type access uint8

const (
	// public routes take no token: webhooks check their platform's
	// signature, the desktop and the pages are static or check their own.
	public access = iota
	// anyToken routes take an admin's or a worker's token; the handler
	// decides what a worker may see or do.
	anyToken
	// adminOnly routes answer 403 to a worker's token.
	adminOnly
)

// maxParams is the most {name} segments a pattern has.
const maxParams = 3

// params are a request's path parameters, in the pattern's order. An
// array, not a map: matching a request allocates nothing.
type params [maxParams]string

// handlerFunc serves a matched route. c is the zero caller on public routes.
type handlerFunc func(s *Server, ctx *request, c caller, p params) error

// request is a request being served: fasthttp's RequestCtx to read and
// answer it, and, as the context.Context its work runs under, the server's
// life rather than the RequestCtx. fasthttp reuses a RequestCtx for the
// next request as soon as the handler returns, while store drivers and
// derived contexts watch the context they were given from goroutines of
// their own, which may look at it a moment later.
type request struct {
	*fasthttp.RequestCtx
	life context.Context
}

func (r *request) Deadline() (time.Time, bool) { return r.life.Deadline() }
func (r *request) Done() <-chan struct{}       { return r.life.Done() }
func (r *request) Err() error                  { return r.life.Err() }
func (r *request) Value(key any) any           { return r.life.Value(key) }

// route is one row of the table.
type route struct {
	method  string
	pattern string // segments: literal, {name}, or a last {name...} matching the rest of the path
	access  access
	// queryToken lets the route take its token as ?access_token: only the
	// worker stream, a WebSocket, which browsers open without headers.
	// Everywhere else a token in the URL would end up in access logs.
	queryToken bool
	handle     handlerFunc
}

// apiRoutes is the HTTP API. The demo bot's route is added by New when
// Config.DemoBot is set, and each connector instance's by connectorRoutes.
//
// A handler reads its JSON body with decodeJSON(ctx, &body) (or
// decodeOptionalJSON when it may be empty) and returns its error as is: an
// unknown field, a wrong type or a non-JSON body is then a 400 (or 415)
// naming it, as on every other route. Enumerated query values go through
// queryValue; ?after and ?limit are checked by dispatch on every route
// that takes a token (strict.go). A list answer is [] when empty, never
// null (nonNil): TestListsAreNeverNull walks the table.
func apiRoutes() []route {
	return []route{
		{method: "GET", pattern: "/healthz", handle: (*Server).healthz},
		{method: "GET", pattern: "/readyz", handle: (*Server).ready},
		{method: "GET", pattern: "/metrics", handle: (*Server).serveMetrics},
		// {file...} matches /agent too, which the desktop redirects to /agent/.
		{method: "GET", pattern: desktop.Prefix + "/{file...}", handle: serveDesktop},
		{method: "HEAD", pattern: desktop.Prefix + "/{file...}", handle: serveDesktop},
		{method: "GET", pattern: admin.Prefix + "/{file...}", handle: serveAdmin},
		{method: "HEAD", pattern: admin.Prefix + "/{file...}", handle: serveAdmin},

		{method: "POST", pattern: "/v1/webhooks/{connector}/{instance}", handle: (*Server).webhook},
		{method: "GET", pattern: "/v1/webhooks/{connector}/{instance}", handle: (*Server).webhook},
		{method: "OPTIONS", pattern: "/v1/webhooks/{connector}/{instance}", handle: (*Server).webhookPreflight},

		{method: "POST", pattern: "/v1/programs", access: adminOnly, handle: (*Server).deploy},
		{method: "GET", pattern: "/v1/programs", access: adminOnly, handle: (*Server).listPrograms},
		{method: "GET", pattern: "/v1/programs/{version}", access: adminOnly, handle: (*Server).getProgram},
		{method: "GET", pattern: "/v1/programs/{version}/flows/{flow}/graph", access: adminOnly, handle: (*Server).flowGraph},
		{method: "GET", pattern: "/v1/contacts/{id}", access: adminOnly, handle: (*Server).getContact},
		{method: "POST", pattern: "/v1/contacts/{id}/link", access: adminOnly, handle: (*Server).linkContacts},
		{method: "GET", pattern: "/v1/conversations", access: adminOnly, handle: (*Server).listConversations},
		{method: "GET", pattern: "/v1/conversations/{id}", access: adminOnly, handle: (*Server).getConversation},
		{method: "GET", pattern: "/v1/conversations/{id}/messages", access: adminOnly, handle: (*Server).listMessages},
		{method: "POST", pattern: "/v1/conversations/{id}/close", access: anyToken, handle: (*Server).closeConversation},
		{method: "GET", pattern: "/v1/executions/{id}", access: adminOnly, handle: (*Server).getExecution},
		{method: "GET", pattern: "/v1/dead-letters", access: adminOnly, handle: (*Server).listDeadLetters},
		{method: "POST", pattern: "/v1/dead-letters/{id}/retry", access: adminOnly, handle: (*Server).retryDeadLetter},
		{method: "DELETE", pattern: "/v1/dead-letters/{id}", access: adminOnly, handle: (*Server).discardDeadLetter},

		{method: "POST", pattern: "/v1/workers", access: adminOnly, handle: (*Server).createWorker},
		{method: "GET", pattern: "/v1/workers", access: anyToken, handle: (*Server).listWorkers},
		{method: "GET", pattern: "/v1/workers/{id}", access: anyToken, handle: (*Server).getWorker},
		{method: "PATCH", pattern: "/v1/workers/{id}", access: adminOnly, handle: (*Server).updateWorker},
		{method: "PUT", pattern: "/v1/workers/{id}", access: adminOnly, handle: (*Server).updateWorker},
		{method: "DELETE", pattern: "/v1/workers/{id}", access: adminOnly, handle: (*Server).deleteWorker},
		{method: "POST", pattern: "/v1/workers/{id}/tokens", access: adminOnly, handle: (*Server).issueWorkerToken},
		{method: "PUT", pattern: "/v1/workers/{id}/activity", access: anyToken, handle: (*Server).setActivity},
		{method: "POST", pattern: "/v1/workers/{id}/activity", access: anyToken, handle: (*Server).setActivity},
		{method: "GET", pattern: "/v1/workers/{id}/reservations", access: anyToken, handle: (*Server).listReservations},
		{method: "GET", pattern: "/v1/workers/{id}/stream", access: anyToken, queryToken: true, handle: (*Server).openStream},
		{method: "GET", pattern: "/v1/tokens", access: anyToken, handle: (*Server).listTokens},
		{method: "POST", pattern: "/v1/tokens", access: adminOnly, handle: (*Server).createToken},
		{method: "DELETE", pattern: "/v1/tokens/{id}", access: anyToken, handle: (*Server).revokeToken},

		{method: "POST", pattern: "/v1/reservations/{id}/accept", access: anyToken, handle: reservationCommand("accept")},
		{method: "POST", pattern: "/v1/reservations/{id}/reject", access: anyToken, handle: reservationCommand("reject")},
		{method: "GET", pattern: "/v1/tasks", access: adminOnly, handle: (*Server).listTasks},
		{method: "GET", pattern: "/v1/tasks/{id}", access: anyToken, handle: (*Server).getTask},
		{method: "GET", pattern: "/v1/tasks/{id}/history", access: anyToken, handle: (*Server).taskHistory},
		{method: "GET", pattern: "/v1/tasks/{id}/events", access: anyToken, handle: (*Server).taskEvents},
		{method: "POST", pattern: "/v1/tasks/{id}/messages", access: anyToken, handle: (*Server).agentReply},
		{method: "POST", pattern: "/v1/tasks/{id}/hangup", access: anyToken, handle: (*Server).hangup},
		{method: "POST", pattern: "/v1/tasks/{id}/typing", access: anyToken, handle: (*Server).agentTyping},
		{method: "POST", pattern: "/v1/tasks/{id}/wrapup", access: anyToken, handle: (*Server).wrapUpTask},
		{method: "POST", pattern: "/v1/tasks/{id}/complete", access: anyToken, handle: taskCommand("complete")},
		{method: "POST", pattern: "/v1/tasks/{id}/transfer", access: anyToken, handle: taskCommand("transfer")},
		{method: "POST", pattern: "/v1/tasks/{id}/cancel", access: anyToken, handle: taskCommand("cancel")},
		{method: "GET", pattern: "/v1/queues", access: anyToken, handle: (*Server).listQueues},
		{method: "GET", pattern: "/v1/tasks/{id}/notes", access: anyToken, handle: (*Server).listNotes},
		{method: "POST", pattern: "/v1/tasks/{id}/notes", access: anyToken, handle: (*Server).addNote},
		{method: "POST", pattern: "/v1/tasks/{id}/attachments", access: anyToken, handle: (*Server).sendAttachment},
		{method: "GET", pattern: "/v1/attachments", handle: (*Server).serveAttachment},
		{method: "HEAD", pattern: "/v1/attachments", handle: (*Server).serveAttachment},
		{method: "GET", pattern: "/v1/canned-responses", access: anyToken, handle: (*Server).listCanned},
		{method: "POST", pattern: "/v1/canned-responses", access: adminOnly, handle: (*Server).createCanned},
		{method: "GET", pattern: "/v1/canned-responses/{id}", access: anyToken, handle: (*Server).getCanned},
		{method: "PUT", pattern: "/v1/canned-responses/{id}", access: adminOnly, handle: (*Server).updateCanned},
		{method: "DELETE", pattern: "/v1/canned-responses/{id}", access: adminOnly, handle: (*Server).deleteCanned},
		{method: "GET", pattern: "/v1/contacts/{id}/history", access: anyToken, handle: (*Server).contactHistory},
		{method: "GET", pattern: "/v1/workers/{id}/conversations", access: anyToken, handle: (*Server).workerConversations},
		{method: "GET", pattern: "/v1/workers/{id}/waiting", access: anyToken, handle: (*Server).workerWaiting},
		{method: "GET", pattern: "/v1/router/stats", access: adminOnly, handle: (*Server).routerStats},
		{method: "GET", pattern: "/v1/router/events", access: adminOnly, handle: (*Server).routerEvents},
	}
}

// demoBotRoute is the demo bot's row, in the table when Config.DemoBot is set.
var demoBotRoute = route{method: "POST", pattern: DemoBotPath + "/reply", handle: func(_ *Server, ctx *request, _ caller, _ params) error {
	demoBot(ctx.RequestCtx)
	return nil
}}

func serveDesktop(_ *Server, ctx *request, _ caller, _ params) error {
	desktop.Serve(ctx.RequestCtx)
	return nil
}

// buildTable fills the route table: the API, the demo bot when enabled,
// and the pages of every connector instance that serves some
// (httpsurface.Pages) under /{connector}/{instance}. A connector whose
// name is one of the API's first segments (v1, agent, …) would shadow it:
// its pages are not mounted, and the error is logged.
func (s *Server) buildTable() {
	rows := apiRoutes()
	if s.cfg.DemoBot {
		rows = append(rows, demoBotRoute)
	}
	for _, r := range rows {
		if err := s.table.add(r); err != nil {
			panic(err) // a mistake in apiRoutes, caught by every test
		}
	}
	reserved := make(map[string]bool, len(s.table.root.static))
	for seg := range s.table.root.static {
		reserved[seg] = true
	}
	for _, in := range s.cfg.Instances {
		pages, ok := in.Conn.(httpsurface.Pages)
		if !ok {
			continue
		}
		if reserved[in.Connector] || strings.ContainsAny(in.Connector+in.Name, "/{}") {
			s.log.Error("connector pages not served: their prefix would clash with the API's paths or read as a pattern", "connector", in.Connector, "instance", in.Name)
			continue
		}
		for _, pr := range pages.Routes() {
			if (pr.Path != "" && pr.Path[0] != '/') || strings.ContainsAny(pr.Path, "{}") || pr.Handler == nil {
				s.log.Error("connector route not served: want a handler and a literal path, empty or from /", "connector", in.Connector, "path", pr.Path)
				continue
			}
			h := pr.Handler
			r := route{method: pr.Method, pattern: "/" + in.Connector + "/" + in.Name + pr.Path,
				handle: func(_ *Server, ctx *request, _ caller, _ params) error { h(ctx.RequestCtx); return nil }}
			if err := s.table.add(r); err != nil {
				s.log.Error("connector route not served", "connector", in.Connector, "instance", in.Name, "err", err)
			}
		}
	}
}

// Routes lists the server's routes as "METHOD /pattern", in table order:
// the API's, the demo bot's and each connector instance's.
func (s *Server) Routes() []string {
	out := make([]string, len(s.table.routes))
	for i, r := range s.table.routes {
		out[i] = r.method + " " + r.pattern
	}
	return out
}

// table matches a request's path to a node of a tree of segments, then
// its method to a route of that node.
type table struct {
	root   tnode
	routes []*route
}

// tnode is one segment of the tree.
type tnode struct {
	static map[string]*tnode
	param  *tnode // {name}: any non-empty segment
	rest   *tnode // {name...}: the rest of the path, possibly empty
	routes []*route
	allow  string // the methods of routes, for a 405's Allow
}

// add puts r in the table. Two rows with the same method and pattern, or
// patterns that differ only in their parameters' names, are one route
// served twice: add refuses the second.
func (t *table) add(r route) error {
	n := &t.root
	segs := strings.Split(strings.TrimPrefix(r.pattern, "/"), "/")
	nparams := 0
	for i, seg := range segs {
		switch {
		case strings.HasSuffix(seg, "...}") && strings.HasPrefix(seg, "{"):
			if i != len(segs)-1 {
				return fmt.Errorf("route %s: {name...} is the last segment", r.pattern)
			}
			if n.rest == nil {
				n.rest = &tnode{}
			}
			n, nparams = n.rest, nparams+1
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			if n.param == nil {
				n.param = &tnode{}
			}
			n, nparams = n.param, nparams+1
		default:
			if n.static == nil {
				n.static = map[string]*tnode{}
			}
			c := n.static[seg]
			if c == nil {
				c = &tnode{}
				n.static[seg] = c
			}
			n = c
		}
	}
	if nparams > maxParams {
		return fmt.Errorf("route %s: more than %d parameters", r.pattern, maxParams)
	}
	for _, have := range n.routes {
		if have.method == r.method {
			return fmt.Errorf("route %s %s: served twice", r.method, r.pattern)
		}
	}
	rp := &r
	n.routes = append(n.routes, rp)
	methods := make([]string, len(n.routes))
	for i, have := range n.routes {
		methods[i] = have.method
	}
	sort.Strings(methods)
	n.allow = strings.Join(methods, ", ")
	t.routes = append(t.routes, rp)
	return nil
}

// match finds the node of path (which starts with "/") and fills p with
// its parameters; nil when no pattern matches. A literal segment is
// preferred to a parameter, a parameter to the rest of the path.
func (t *table) match(path string, p *params) *tnode {
	return t.root.match(path[1:], p, 0)
}

func (n *tnode) match(path string, p *params, i int) *tnode {
	seg, rest, more := strings.Cut(path, "/")
	if c := n.static[seg]; c != nil {
		if m := c.next(rest, more, p, i); m != nil {
			return m
		}
	}
	if n.param != nil && seg != "" && i < maxParams {
		p[i] = seg
		if m := n.param.next(rest, more, p, i+1); m != nil {
			return m
		}
	}
	if n.rest != nil && i < maxParams {
		p[i] = path
		return n.rest
	}
	return nil
}

// next continues the match below n with what follows its segment.
func (n *tnode) next(rest string, more bool, p *params, i int) *tnode {
	if more {
		return n.match(rest, p, i)
	}
	if len(n.routes) > 0 {
		return n
	}
	if n.rest != nil && i < maxParams {
		p[i] = ""
		return n.rest
	}
	return nil
}

// dispatch serves a request: it finds the route, checks the caller's
// token when the route takes one, and calls its handler.
func (s *Server) dispatch(ctx *fasthttp.RequestCtx) {
	if !s.enter(ctx) {
		return
	}
	defer s.gate.release()
	path := string(ctx.Path())
	var p params
	n := s.table.match(path, &p)
	if n == nil {
		s.fail(ctx, errorf(http.StatusNotFound, "no route for %s %s", ctx.Method(), path))
		return
	}
	var r *route
	method := ctx.Method()
	for _, have := range n.routes {
		if string(method) == have.method {
			r = have
			break
		}
	}
	if r == nil {
		ctx.Response.Header.Set("Allow", n.allow)
		s.fail(ctx, errorf(http.StatusMethodNotAllowed, "%s takes %s, not %s", path, n.allow, method))
		return
	}
	rq := &request{RequestCtx: ctx, life: s.life}
	var c caller
	var err error
	if r.access != public {
		c, err = s.authenticate(rq, r.queryToken)
		if err == nil && r.access == adminOnly {
			err = requireAdmin(c)
		}
		if err == nil {
			err = checkPage(rq)
		}
	}
	if err == nil {
		err = r.handle(s, rq, c, p)
	}
	if err != nil {
		s.fail(ctx, err)
	}
}
