// Package server is the runtime's HTTP face, on fasthttp: the connectors'
// webhooks, the admin API (deploy programs, look up conversations,
// messages, executions, tasks and dead letters), health checks and
// Prometheus metrics. Every error is a JSON object {"error": "..."} with
// the status that says what went wrong: 400 malformed, 401 bad signature or
// token, 404, 413 too large, 422 a program that does not compile.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/server/desktop"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Limits on request bodies.
const (
	MaxWebhookBody = 1 << 20  // 1 MiB: larger webhooks get 413
	MaxProgramBody = 16 << 20 // a deployed program's sources
)

// Instance is one configured connector instance.
type Instance struct {
	Connector string
	Name      string
	Conn      connectors.Connector
}

// Config configures a Server.
type Config struct {
	Node      *node.Node
	Store     store.Store
	Instances []Instance
	Logger    *slog.Logger
	// PublicURL is the base URL platforms call (for URL-signing schemes);
	// empty: taken from each request's Host header.
	PublicURL string
	// Metrics is the registry /metrics exposes (shared with the node).
	Metrics *metrics.Registry
	// DemoBot serves a small chatbot at DemoBotPath, so example flows that
	// call ${env.BOT_URL} answer with nothing else running.
	DemoBot bool
	// DrainTimeout bounds how long Serve, once its context ends, waits for
	// the requests in flight (0: DefaultDrainTimeout); see drain.go.
	DrainTimeout time.Duration
}

// Server routes requests.
type Server struct {
	cfg       Config
	instances map[string]Instance // "connector/instance"
	log       *slog.Logger
	metrics   *metrics.Registry
	gate      *gate // requests in flight, for the drain at shutdown
	used      tokenUse

	messagesIn  *metrics.CounterVec
	messagesOut *metrics.CounterVec
	errors      *metrics.CounterVec
	latency     *metrics.Histogram
}

// New builds a server.
func New(cfg Config) *Server {
	reg := cfg.Metrics
	if reg == nil {
		reg = &metrics.Registry{}
	}
	s := &Server{cfg: cfg, instances: map[string]Instance{}, log: cfg.Logger, metrics: reg, gate: newGate()}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, in := range cfg.Instances {
		s.instances[in.Connector+"/"+in.Name] = in
	}
	s.messagesIn = s.metrics.Counter("switchboard_messages_in_total", "Inbound messages accepted, by channel.", "channel")
	s.messagesOut = s.metrics.Counter("switchboard_replies_inline_total", "Replies answered inline in a webhook response, by channel.", "channel")
	s.errors = s.metrics.Counter("switchboard_http_errors_total", "Requests answered with an error, by status.", "status")
	s.latency = s.metrics.Histogram("switchboard_webhook_seconds", "Time from a webhook's arrival to its acknowledgement (durably committed).",
		[]float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5})
	s.metrics.Gauge("switchboard_outbox_effects", "Outbox effects by status.", "status", func() map[string]float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		stats, err := cfg.Store.OutboxStats(ctx)
		out := map[string]float64{}
		if err != nil {
			return out
		}
		for k, v := range stats {
			out[string(k)] = float64(v)
		}
		return out
	})
	return s
}

// Handler returns the fasthttp handler.
func (s *Server) Handler() fasthttp.RequestHandler { return s.route }

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting connections and answers the requests in flight, for at most
// the drain timeout, before it returns (see drain.go).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler:      s.route,
		ErrorHandler: s.parseError,
		// Errors reading a request are logged without its bytes: they
		// hold bearer tokens and webhook secrets.
		SecureErrorLogMessage: true,
		Name:                  "switchboard",
		MaxRequestBodySize:    MaxProgramBody + 1,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		Logger:                slogAdapter{s.log},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return s.shutdown(srv, ln, errc)
	}
}

type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Printf(format string, args ...any) { a.log.Info(fmt.Sprintf(format, args...)) }

// apiError is an error with the status to answer it with.
type apiError struct {
	status int
	msg    string
	extra  map[string]any
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) fail(ctx *fasthttp.RequestCtx, err error) {
	status, body := http.StatusInternalServerError, map[string]any{"error": "internal error"}
	var ae *apiError
	var se *connectors.StatusError
	switch {
	case errors.As(err, &ae):
		status = ae.status
		body["error"] = ae.msg
		for k, v := range ae.extra {
			body[k] = v
		}
	case errors.As(err, &se):
		status = se.Status
		body["error"] = se.Reason
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
		body["error"] = "not found"
	case errors.Is(err, store.ErrBadCursor):
		status = http.StatusBadRequest
		body["error"] = fmt.Sprintf("after=%q is not a page cursor: pass the \"next\" of the previous page", ctx.QueryArgs().Peek("after"))
	case s.shutdownError(err):
		s.log.Warn("request cut short by the shutdown", "path", string(ctx.Path()), "err", err)
		status = errShuttingDown.status
		body["error"] = errShuttingDown.msg
		ctx.Response.Header.Set("Retry-After", "1")
	default:
		s.log.Error("request failed", "path", string(ctx.Path()), "err", err)
	}
	s.errors.Inc(strconv.Itoa(status))
	writeJSON(ctx, status, body)
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	enc := json.NewEncoder(ctx)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) route(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	method := string(ctx.Method())
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if !s.enter(ctx) {
		return
	}
	defer s.gate.release()
	if s.connectorPages(ctx, path, parts) { // webchat: see PageServer
		return
	}
	var err error
	switch {
	case path == "/healthz":
		writeJSON(ctx, http.StatusOK, map[string]string{"status": "ok"})
		return
	case path == "/readyz":
		err = s.ready(ctx)
	case s.cfg.DemoBot && strings.HasPrefix(path, DemoBotPath):
		demoBot(ctx)
		return
	case path == "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4")
		s.metrics.Write(ctx)
		return
	case path == desktop.Prefix || strings.HasPrefix(path, desktop.Prefix+"/"): // the agent desktop: static, no token
		desktop.Serve(ctx)
		return
	case len(parts) == 4 && parts[0] == "v1" && parts[1] == "webhooks":
		if method != fasthttp.MethodPost && method != fasthttp.MethodGet {
			err = errorf(http.StatusMethodNotAllowed, "webhooks take POST (or GET for verification)")
			break
		}
		err = s.webhook(ctx, parts[2], parts[3])
	case len(parts) >= 2 && parts[0] == "v1":
		var c caller
		if c, err = s.authenticate(ctx); err != nil {
			break
		}
		var handled bool
		if handled, err = s.agentRoute(ctx, c, method, parts[1:]); handled {
			break
		}
		if err = requireAdmin(c); err == nil {
			err = s.adminRoute(ctx, method, parts[1:])
		}
	default:
		err = errorf(http.StatusNotFound, "no route for %s %s", method, path)
	}
	if err != nil {
		s.fail(ctx, err)
	}
}

// ---- begin webchat: pages served by connector instances ----------------

// PageServer is implemented by a connector instance that serves a page and
// endpoints of its own under /webchat/{instance} (the webchat connector:
// its widget, session, WebSocket and long-poll routes). The connector
// answers every method itself.
type PageServer interface {
	// ServePage answers a request under /webchat/{instance}; rest is the
	// path after the instance's name, with its leading slash: "" for
	// /webchat/{instance} itself, "/" for the page, "/ws", "/session", …
	ServePage(ctx *fasthttp.RequestCtx, rest string)
}

// WebhookCORS is implemented by a connector instance whose webhook is
// called by browsers, possibly from other origins (the webchat widget
// embedded on another site). It is called before the webhook request is
// handled: it sets the CORS response headers, and answers a preflight
// (OPTIONS) itself, in which case it returns true.
type WebhookCORS interface {
	WebhookCORS(ctx *fasthttp.RequestCtx) (answered bool)
}

// connectorPages routes /webchat/{instance}/… to the webchat instance of
// that name, and lets a WebhookCORS instance see its webhook's requests
// first. It reports whether it answered the request.
func (s *Server) connectorPages(ctx *fasthttp.RequestCtx, path string, parts []string) bool {
	switch {
	case len(parts) >= 2 && parts[0] == "webchat" && parts[1] != "":
		page, ok := s.instances["webchat/"+parts[1]].Conn.(PageServer)
		if !ok {
			s.fail(ctx, errorf(http.StatusNotFound, "no webchat instance %q", parts[1]))
			return true
		}
		page.ServePage(ctx, strings.TrimPrefix(path, "/webchat/"+parts[1]))
		return true
	case len(parts) == 4 && parts[0] == "v1" && parts[1] == "webhooks":
		if c, ok := s.instances[parts[2]+"/"+parts[3]].Conn.(WebhookCORS); ok {
			return c.WebhookCORS(ctx)
		}
	}
	return false
}

// ---- end webchat ---------------------------------------------------------

func (s *Server) ready(ctx *fasthttp.RequestCtx) error {
	if s.gate.current() != serving {
		return errorf(http.StatusServiceUnavailable, "draining: the server is shutting down")
	}
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(c); err != nil {
		return errorf(http.StatusServiceUnavailable, "store not ready: %v", err)
	}
	writeJSON(ctx, http.StatusOK, map[string]string{"status": "ready", "program": s.cfg.Node.Active().Version})
	return nil
}

// webhook verifies and parses a platform's request, records every message
// it carries and answers only once all of them are durably committed.
func (s *Server) webhook(ctx *fasthttp.RequestCtx, connector, instance string) error {
	start := time.Now()
	in, ok := s.instances[connector+"/"+instance]
	if !ok {
		return errorf(http.StatusNotFound, "no connector instance %s/%s", connector, instance)
	}
	if len(ctx.Request.Body()) > MaxWebhookBody {
		return errorf(http.StatusRequestEntityTooLarge, "body is %d bytes; webhooks take at most %d", len(ctx.Request.Body()), MaxWebhookBody)
	}
	req := s.request(ctx)
	msgs, err := in.Conn.Receive(ctx, req)
	if err != nil {
		return err
	}
	responder, inline := in.Conn.(connectors.InlineResponder)
	var reaction connectors.Reaction
	for _, m := range msgs {
		r, err := s.cfg.Node.Receive(ctx, connector, instance, m, inline)
		if err != nil {
			return err
		}
		s.messagesIn.Inc(m.Channel)
		reaction.Replies = append(reaction.Replies, r.Replies...)
		s.messagesOut.Add(m.Channel, uint64(len(r.Replies)))
		for _, t := range r.Enqueued {
			reaction.Enqueued = append(reaction.Enqueued, connectors.EnqueuedTask{TaskID: t.TaskID, Workflow: t.Workflow, Priority: t.Priority, Attributes: t.Attributes})
		}
	}
	s.latency.Observe(time.Since(start).Seconds())
	if inline {
		status, contentType, body := responder.Respond(msgs, reaction)
		ctx.SetStatusCode(status)
		ctx.SetContentType(contentType)
		ctx.SetBody(body)
		return nil
	}
	writeJSON(ctx, http.StatusOK, map[string]any{"accepted": len(msgs)})
	return nil
}

// request adapts a fasthttp request to the connectors' transport-neutral one.
func (s *Server) request(ctx *fasthttp.RequestCtx) *connectors.Request {
	header := http.Header{}
	ctx.Request.Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
	query, _ := url.ParseQuery(string(ctx.QueryArgs().QueryString()))
	full := s.cfg.PublicURL
	if full == "" {
		scheme := "http"
		if ctx.IsTLS() || string(ctx.Request.Header.Peek("X-Forwarded-Proto")) == "https" {
			scheme = "https"
		}
		full = scheme + "://" + string(ctx.Host())
	}
	full = strings.TrimRight(full, "/") + string(ctx.RequestURI())
	return &connectors.Request{Method: string(ctx.Method()), URL: full, Path: string(ctx.Path()), Header: header,
		Query: query, Body: append([]byte(nil), ctx.Request.Body()...), RemoteAddr: ctx.RemoteAddr().String()}
}

// HashToken is how tokens are stored: never the secret itself.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// deployRequest is the body of POST /v1/programs.
type deployRequest struct {
	Files map[string]string `json:"files"` // file name → source
}

func (s *Server) adminRoute(ctx *fasthttp.RequestCtx, method string, parts []string) error {
	page := store.Page{After: string(ctx.QueryArgs().Peek("after")), Limit: ctx.QueryArgs().GetUintOrZero("limit")}
	switch {
	case parts[0] == "programs" && len(parts) == 1 && method == fasthttp.MethodPost:
		return s.deploy(ctx)
	case parts[0] == "programs" && len(parts) == 1 && method == fasthttp.MethodGet:
		progs, err := s.cfg.Store.ListPrograms(ctx)
		if err != nil {
			return err
		}
		out := make([]map[string]any, len(progs))
		for i, p := range progs {
			out[i] = map[string]any{"version": p.Version, "active": p.Active, "created_at": p.CreatedAt}
		}
		writeJSON(ctx, http.StatusOK, map[string]any{"programs": out})
		return nil
	case parts[0] == "conversations" && len(parts) == 1 && method == fasthttp.MethodGet:
		f := store.ConversationFilter{ContactID: string(ctx.QueryArgs().Peek("contact")), Status: store.ConversationStatus(ctx.QueryArgs().Peek("status"))}
		convs, next, err := s.cfg.Store.ListConversations(ctx, f, page)
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, map[string]any{"conversations": convs, "next": next})
		return nil
	case parts[0] == "contacts" && len(parts) == 2 && method == fasthttp.MethodGet:
		c, err := s.cfg.Store.GetContact(ctx, parts[1])
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, c)
		return nil
	case parts[0] == "contacts" && len(parts) == 3 && parts[2] == "link" && method == fasthttp.MethodPost:
		var req struct {
			Contact string `json:"contact"`
		}
		if err := json.Unmarshal(ctx.Request.Body(), &req); err != nil || req.Contact == "" {
			return errorf(http.StatusBadRequest, "body must be JSON {\"contact\": \"ID of the contact to merge into this one\"}")
		}
		if err := s.cfg.Store.LinkContacts(ctx, parts[1], req.Contact); err != nil {
			return err
		}
		c, err := s.cfg.Store.GetContact(ctx, parts[1])
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, c)
		return nil
	case parts[0] == "conversations" && len(parts) == 2 && method == fasthttp.MethodGet:
		c, err := s.cfg.Store.GetConversation(ctx, parts[1])
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, c)
		return nil
	case parts[0] == "conversations" && len(parts) == 3 && parts[2] == "messages" && method == fasthttp.MethodGet:
		msgs, next, err := s.cfg.Store.ListMessages(ctx, parts[1], page)
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, map[string]any{"messages": msgs, "next": next})
		return nil
	case parts[0] == "executions" && len(parts) == 2 && method == fasthttp.MethodGet:
		x, err := s.cfg.Store.GetExecution(ctx, parts[1])
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, x)
		return nil
	case parts[0] == "dead-letters" && len(parts) == 1 && method == fasthttp.MethodGet:
		effects, next, err := s.cfg.Store.ListDeadLetters(ctx, page)
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, map[string]any{"dead_letters": effects, "next": next})
		return nil
	case parts[0] == "tasks" && len(parts) == 1 && method == fasthttp.MethodGet:
		status := store.TaskStatus(ctx.QueryArgs().Peek("status"))
		if status == "" {
			status = store.TaskWaiting
		}
		tasks, next, err := s.cfg.Store.ListTasks(ctx, status, page)
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, map[string]any{"tasks": tasks, "next": next})
		return nil
	}
	return errorf(http.StatusNotFound, "no route for %s %s", method, ctx.Path())
}

// deploy compiles the uploaded sources; a program that compiles becomes the
// active one, one that does not is refused with its diagnostics.
func (s *Server) deploy(ctx *fasthttp.RequestCtx) error {
	var req deployRequest
	if err := json.Unmarshal(ctx.Request.Body(), &req); err != nil {
		return errorf(http.StatusBadRequest, "body must be JSON {\"files\": {\"name.flow\": \"source\"}}: %v", err)
	}
	if len(req.Files) == 0 {
		return errorf(http.StatusBadRequest, "no files: send {\"files\": {\"name.flow\": \"source\"}}")
	}
	var sources []compiler.Source
	for name, src := range req.Files {
		sources = append(sources, compiler.Source{Name: name, Src: []byte(src)})
	}
	prog, diags := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		return &apiError{status: http.StatusUnprocessableEntity, msg: "the program does not compile",
			extra: map[string]any{"diagnostics": diag.JSONValue(diags, diag.Options{})}}
	}
	if err := s.cfg.Node.Deploy(ctx, prog, sources); err != nil {
		return err
	}
	writeJSON(ctx, http.StatusCreated, map[string]any{"version": prog.Version, "diagnostics": diag.JSONValue(diags, diag.Options{})})
	return nil
}
