// Package server is the runtime's HTTP face, on fasthttp: the connectors'
// webhooks and pages, the admin and agent API (deploy programs, look up
// conversations, messages, executions, tasks and dead letters; workers,
// tokens, reservations), health checks and Prometheus metrics. Every path
// is a row of one route table (routes.go). Every error is a JSON object
// {"error": "..."} with the status that says what went wrong: 400
// malformed, 401 bad signature or token, 403, 404, 405 (with Allow), 413
// too large, 422 a program that does not compile.
package server

import (
	"cmp"
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
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Limits on request bodies.
const (
	// MaxWebhookBody is the webhook body limit of a connector whose spec
	// sets none (Spec.MaxBodyBytes): larger webhooks get 413.
	MaxWebhookBody = connectors.DefaultMaxBodyBytes
	// MaxProgramBody bounds a deployed program's sources, and any body.
	MaxProgramBody = connectors.MaxBodyBytesLimit
)

// Instance is one configured connector instance; its Spec, when set,
// gives its body limit.
type Instance = connectors.Instance

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
	// AttachmentDir keeps the files agents send to customers (empty: a
	// directory under the system's temporary one). Nodes sharing a
	// database should share it too: any node may be asked for a link.
	AttachmentDir string
}

// Server routes requests.
type Server struct {
	cfg       Config
	table     table
	instances map[string]Instance // "connector/instance"
	log       *slog.Logger
	metrics   *metrics.Registry
	gate      *gate // requests in flight, for the drain at shutdown
	used      tokenUse
	tokenSnap tokenSnapshot // the idle streams' token checks
	desk      deskState     // the agent desktop's attachments
	// life is the context requests' work runs under: canceled when the
	// drain timeout leaves requests running (see request).
	life    context.Context
	endLife context.CancelFunc

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
	s.life, s.endLife = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, in := range cfg.Instances {
		s.instances[in.Connector+"/"+in.Name] = in
	}
	s.buildTable()
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
func (s *Server) Handler() fasthttp.RequestHandler { return s.dispatch }

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting connections and answers the requests in flight, for at most
// the drain timeout, before it returns (see drain.go).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler:      s.dispatch,
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

func (s *Server) healthz(ctx *request, _ caller, _ params) error {
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) serveMetrics(ctx *request, _ caller, _ params) error {
	ctx.SetContentType("text/plain; version=0.0.4")
	s.metrics.Write(ctx)
	return nil
}

func (s *Server) ready(ctx *request, _ caller, _ params) error {
	if s.gate.current() != serving {
		return errorf(http.StatusServiceUnavailable, "draining: the server is shutting down")
	}
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(c); err != nil {
		return errorf(http.StatusServiceUnavailable, "store not ready: %v", err)
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]string{"status": "ready", "program": s.cfg.Node.Active().Version})
	return nil
}

// webhook verifies and parses a platform's request, records every message
// it carries and answers only once all of them are durably committed.
func (s *Server) webhook(ctx *request, _ caller, p params) error {
	start := time.Now()
	connector, instance := p[0], p[1]
	in, ok := s.instances[connector+"/"+instance]
	if !ok {
		return errorf(http.StatusNotFound, "no connector instance %s/%s", connector, instance)
	}
	if c, ok := in.Conn.(httpsurface.WebhookCORS); ok && c.WebhookCORS(ctx.RequestCtx) {
		return nil
	}
	if limit := in.BodyLimit(); int64(len(ctx.Request.Body())) > limit {
		return errorf(http.StatusRequestEntityTooLarge, "body is %d bytes; %s webhooks take at most %d", len(ctx.Request.Body()), connector, limit)
	}
	req := s.request(ctx.RequestCtx)
	if h, ok := in.Conn.(connectors.Handshaker); ok {
		if status, contentType, body, handled := h.Handshake(req); handled {
			ctx.SetStatusCode(status)
			ctx.SetContentType(contentType)
			ctx.SetBody(body)
			return nil
		}
	}
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
		reaction.Calls = append(reaction.Calls, r.Calls...)
		reaction.Holding = cmp.Or(r.Holding, reaction.Holding)
		reaction.Position = cmp.Or(r.Position, reaction.Position)
		reaction.Hangup = reaction.Hangup || r.Hangup
		s.messagesOut.Add(m.Channel, uint64(len(r.Replies)))
		for _, t := range r.Enqueued {
			reaction.Enqueued = append(reaction.Enqueued, connectors.EnqueuedTask{TaskID: t.TaskID, Workflow: t.Workflow, Priority: t.Priority, Attributes: t.Attributes})
		}
	}
	s.latency.Observe(time.Since(start).Seconds())
	if inline {
		for i := range reaction.Replies {
			effect.FoldChoices(in.Conn, &reaction.Replies[i])
		}
		status, contentType, body := responder.Respond(msgs, reaction)
		ctx.SetStatusCode(status)
		ctx.SetContentType(contentType)
		ctx.SetBody(body)
		return nil
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"accepted": len(msgs)})
	return nil
}

// webhookPreflight answers a browser's CORS preflight of a webhook, for
// the instances that browsers call (httpsurface.WebhookCORS).
func (s *Server) webhookPreflight(ctx *request, _ caller, p params) error {
	in, ok := s.instances[p[0]+"/"+p[1]]
	if !ok {
		return errorf(http.StatusNotFound, "no connector instance %s/%s", p[0], p[1])
	}
	c, ok := in.Conn.(httpsurface.WebhookCORS)
	if !ok || !c.WebhookCORS(ctx.RequestCtx) {
		ctx.Response.Header.Set("Allow", "GET, POST")
		return errorf(http.StatusMethodNotAllowed, "webhooks take POST (or GET for verification)")
	}
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

func (s *Server) listPrograms(ctx *request, _ caller, _ params) error {
	progs, err := s.cfg.Store.ListPrograms(ctx)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(progs))
	for i, p := range progs {
		out[i] = map[string]any{"version": p.Version, "active": p.Active, "created_at": p.CreatedAt}
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"programs": out})
	return nil
}

func (s *Server) listConversations(ctx *request, _ caller, _ params) error {
	f, newest, err := conversationFilter(ctx)
	if err != nil {
		return err
	}
	page := pageOf(ctx)
	page.Newest = newest
	convs, next, err := s.cfg.Store.ListConversations(ctx, f, page)
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"conversations": nonNil(convs), "next": next})
	return nil
}

func (s *Server) getContact(ctx *request, _ caller, p params) error {
	c, err := s.cfg.Store.GetContact(ctx, p[0])
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, c)
	return nil
}

func (s *Server) linkContacts(ctx *request, c caller, p params) error {
	var req struct {
		Contact string `json:"contact"`
	}
	if err := decodeJSON(ctx, &req); err != nil {
		return err
	}
	if req.Contact == "" {
		return errorf(http.StatusBadRequest, "body must be JSON {\"contact\": \"ID of the contact to merge into this one\"}")
	}
	if err := s.cfg.Store.LinkContacts(ctx, p[0], req.Contact); err != nil {
		return err
	}
	return s.getContact(ctx, c, p)
}

func (s *Server) getConversation(ctx *request, _ caller, p params) error {
	c, err := s.cfg.Store.GetConversation(ctx, p[0])
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, c)
	return nil
}

func (s *Server) listMessages(ctx *request, _ caller, p params) error {
	msgs, next, err := s.cfg.Store.ListMessages(ctx, p[0], pageOf(ctx))
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"messages": nonNil(msgs), "next": next})
	return nil
}

func (s *Server) getExecution(ctx *request, _ caller, p params) error {
	x, err := s.cfg.Store.GetExecution(ctx, p[0])
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, x)
	return nil
}

func (s *Server) listDeadLetters(ctx *request, _ caller, _ params) error {
	effects, next, err := s.cfg.Store.ListDeadLetters(ctx, pageOf(ctx))
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"dead_letters": nonNil(effects), "next": next})
	return nil
}

func (s *Server) listTasks(ctx *request, _ caller, _ params) error {
	v, err := queryValue(ctx, "status", taskStatuses...)
	if err != nil {
		return err
	}
	status := store.TaskStatus(v)
	if status == "" {
		status = store.TaskWaiting
	}
	tasks, next, err := s.cfg.Store.ListTasks(ctx, status, pageOf(ctx))
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"tasks": nonNil(tasks), "next": next})
	return nil
}

// deploy compiles the uploaded sources; a program that compiles becomes the
// active one, one that does not is refused with its diagnostics.
func (s *Server) deploy(ctx *request, _ caller, _ params) error {
	var req deployRequest
	if err := decodeJSON(ctx, &req); err != nil {
		return err
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
	writeJSON(ctx.RequestCtx, http.StatusCreated, map[string]any{"version": prog.Version, "diagnostics": diag.JSONValue(diags, diag.Options{})})
	return nil
}
