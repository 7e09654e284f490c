package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// The agent API: workers and their tokens (admin), and what a worker does
// with its own reservations and tasks (its token, or an admin's). Every
// change goes through the router leader as a command, so it applies on one
// node in one order, whichever node the agent is connected to.

// commandTimeout bounds how long a request waits for the router leader.
const commandTimeout = 10 * time.Second

// NewToken returns a new random API token with a prefix naming its kind.
func NewToken(prefix string) (string, error) {
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(secret), nil
}

// caller is who a request's token belongs to.
type caller struct {
	admin  bool
	worker string // a worker token's worker
	hash   string // the token's, for a stream to check it again
}

// authenticate checks the bearer token (or, on a route that takes
// queryToken, the access_token query parameter: the worker stream, a
// WebSocket that browsers open without headers).
func (s *Server) authenticate(ctx *request, queryToken bool) (caller, error) {
	secret, ok := strings.CutPrefix(string(ctx.Request.Header.Peek("Authorization")), "Bearer ")
	if (!ok || secret == "") && queryToken {
		secret = string(ctx.QueryArgs().Peek("access_token"))
	}
	if secret == "" {
		if ctx.QueryArgs().Has("access_token") {
			return caller{}, errorf(http.StatusUnauthorized, "access_token is taken only by the worker stream (/v1/workers/{id}/stream): send Authorization: Bearer TOKEN")
		}
		return caller{}, errorf(http.StatusUnauthorized, "missing bearer token (Authorization: Bearer TOKEN)")
	}
	tok, err := s.cfg.Store.LookupToken(ctx, HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return caller{}, errorf(http.StatusUnauthorized, "invalid token: unknown, revoked, or its worker was deleted")
	}
	if err != nil {
		return caller{}, err
	}
	now := time.Now()
	if tok.Expired(now) {
		return caller{}, &apiError{status: http.StatusUnauthorized, msg: "token expired at " + tok.ExpiresAt.Format(time.RFC3339),
			extra: map[string]any{"reason": "expired", "expired_at": tok.ExpiresAt}}
	}
	s.tokenUsed(tok, now)
	if tok.Role == store.RoleAdmin {
		return caller{admin: true, hash: tok.Hash}, nil
	}
	return caller{worker: tok.Subject, hash: tok.Hash}, nil
}

// actor is the worker a command acts as: "" for an admin (any worker).
func (c caller) actor() string {
	if c.admin {
		return ""
	}
	return c.worker
}

func (c caller) mayActAs(worker string) error {
	if c.admin || c.worker == worker {
		return nil
	}
	return errorf(http.StatusForbidden, "this token belongs to worker %q", c.worker)
}

func requireAdmin(c caller) error {
	if !c.admin {
		return errorf(http.StatusForbidden, "this call needs an admin token")
	}
	return nil
}

// commandError maps the leader's refusals to statuses.
func commandError(err error) error {
	var ce *node.CommandError
	switch {
	case errors.As(err, &ce):
		status := map[string]int{"not_found": http.StatusNotFound, "conflict": http.StatusConflict,
			"forbidden": http.StatusForbidden, "invalid": http.StatusBadRequest}[ce.Code]
		if status == 0 {
			status = http.StatusBadRequest
		}
		return errorf(status, "%s", ce.Msg)
	case errors.Is(err, node.ErrNoLeader):
		return errorf(http.StatusServiceUnavailable, "%v", err)
	}
	return err
}

func (s *Server) command(ctx *request, kind string, args node.CommandArgs) (json.RawMessage, error) {
	res, err := s.cfg.Node.Command(ctx, kind, args, commandTimeout)
	if err != nil {
		return nil, commandError(err)
	}
	return res, nil
}

// workerBody is the body of POST /v1/workers and PATCH /v1/workers/{id}.
type workerBody struct {
	ID         string          `json:"id"`
	Name       *string         `json:"name"`
	Attributes json.RawMessage `json:"attributes"`
	Activity   string          `json:"activity"`
	Capacity   map[string]int  `json:"capacity"`
}

func (s *Server) listWorkers(ctx *request, c caller, _ params) error {
	ws, err := s.cfg.Store.ListWorkers(ctx)
	if err != nil {
		return err
	}
	if !c.admin {
		// A worker sees its colleagues as transfer targets: who, whether
		// they are there and their free capacity, not their attributes.
		writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"workers": s.colleagues(ctx, ws)})
		return nil
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"workers": nonNil(ws)})
	return nil
}

// listQueues answers the active program's queues, with their members
// available and tasks waiting: transfer targets for workers.
func (s *Server) listQueues(ctx *request, _ caller, _ params) error {
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"queues": s.liveQueues(ctx)})
	return nil
}

func (s *Server) getWorker(ctx *request, c caller, p params) error {
	if err := c.mayActAs(p[0]); err != nil {
		return err
	}
	w, err := s.cfg.Store.GetWorker(ctx, p[0])
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, w)
	return nil
}

func (s *Server) updateWorker(ctx *request, _ caller, p params) error {
	var b workerBody
	if err := decodeJSON(ctx, &b); err != nil {
		return err
	}
	if b.ID != "" && b.ID != p[0] {
		return errorf(http.StatusBadRequest, "id %q differs from the path's %q: a worker's id does not change", b.ID, p[0])
	}
	if _, err := s.cfg.Store.GetWorker(ctx, p[0]); err != nil {
		return err
	}
	res, err := s.command(ctx, node.CmdPutWorker, node.CommandArgs{Worker: p[0], Name: b.Name, Attributes: b.Attributes, Activity: b.Activity, Capacity: b.Capacity})
	if err != nil {
		return err
	}
	writeRaw(ctx.RequestCtx, http.StatusOK, res)
	return nil
}

func (s *Server) deleteWorker(ctx *request, _ caller, p params) error {
	if _, err := s.command(ctx, node.CmdDeleteWorker, node.CommandArgs{Worker: p[0]}); err != nil {
		return err
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

func (s *Server) issueWorkerToken(ctx *request, _ caller, p params) error {
	if _, err := s.cfg.Store.GetWorker(ctx, p[0]); err != nil {
		return err
	}
	token, tok, err := IssueToken(ctx, s.cfg.Store, p[0], time.Time{})
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusCreated, map[string]any{"worker_id": p[0], "token": token, "id": tok.ID})
	return nil
}

func (s *Server) setActivity(ctx *request, c caller, p params) error {
	if err := c.mayActAs(p[0]); err != nil {
		return err
	}
	var b struct {
		Activity string `json:"activity"`
	}
	if err := decodeJSON(ctx, &b); err != nil {
		return err
	}
	if b.Activity == "" {
		return errorf(http.StatusBadRequest, "body must be JSON {\"activity\": \"available\"}")
	}
	res, err := s.command(ctx, node.CmdActivity, node.CommandArgs{Actor: c.actor(), Worker: p[0], Activity: b.Activity})
	if err != nil {
		return err
	}
	writeRaw(ctx.RequestCtx, http.StatusOK, res)
	return nil
}

func (s *Server) listReservations(ctx *request, c caller, p params) error {
	if err := c.mayActAs(p[0]); err != nil {
		return err
	}
	status, err := queryValue(ctx, "status", reservationStatuses...)
	if err != nil {
		return err
	}
	rs, err := s.cfg.Store.ListReservations(ctx, store.ReservationFilter{WorkerID: p[0], Status: store.ReservationStatus(status)})
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"reservations": nonNil(rs)})
	return nil
}

func (s *Server) openStream(ctx *request, c caller, p params) error {
	if err := c.mayActAs(p[0]); err != nil {
		return err
	}
	return s.stream(ctx, p[0], c.hash)
}

// reservationCommand is the handler of POST /v1/reservations/{id}/{verb}:
// accept or reject.
func reservationCommand(verb string) handlerFunc {
	kind := map[string]string{"accept": node.CmdAccept, "reject": node.CmdReject}[verb]
	return func(s *Server, ctx *request, c caller, p params) error {
		if err := decodeOptionalJSON(ctx, &struct{}{}); err != nil {
			return err
		}
		res, err := s.command(ctx, kind, node.CommandArgs{Actor: c.actor(), Reservation: p[0]})
		if err != nil {
			return err
		}
		writeRaw(ctx.RequestCtx, http.StatusOK, res)
		return nil
	}
}

func (s *Server) getTask(ctx *request, c caller, p params) error {
	t, err := s.ownTask(ctx, c, p[0])
	if err != nil {
		return err
	}
	v, err := s.viewTask(ctx, t)
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, v)
	return nil
}

func (s *Server) taskHistory(ctx *request, c caller, p params) error {
	t, err := s.ownTask(ctx, c, p[0])
	if err != nil {
		return err
	}
	return s.history(ctx, t)
}

func (s *Server) taskEvents(ctx *request, c caller, p params) error {
	if _, err := s.ownTask(ctx, c, p[0]); err != nil {
		return err
	}
	evs, next, err := s.cfg.Store.ListRouterEvents(ctx, store.RouterEventFilter{TaskID: p[0]}, pageOf(ctx))
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"events": nonNil(evs), "next": next})
	return nil
}

func (s *Server) agentReply(ctx *request, c caller, p params) error {
	var b struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(ctx, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.Text) == "" {
		return errorf(http.StatusBadRequest, "body must be JSON {\"text\": \"the reply\"}")
	}
	id, err := s.cfg.Node.AgentReply(ctx, c.actor(), p[0], b.Text)
	if err != nil {
		return commandError(err)
	}
	writeJSON(ctx.RequestCtx, http.StatusAccepted, map[string]any{"id": id, "status": "queued"})
	return nil
}

// hangup ends the phone call of a voice task: the worker's own, or any
// for an admin. It answers once the hang-up is queued for the call's
// connector; the call's end then wraps the task up (task.wrapping).
func (s *Server) hangup(ctx *request, c caller, p params) error {
	if err := s.cfg.Node.Hangup(ctx, c.actor(), p[0]); err != nil {
		return commandError(err)
	}
	writeJSON(ctx.RequestCtx, http.StatusAccepted, map[string]any{"task_id": p[0], "status": "hanging_up"})
	return nil
}

// taskCommand is the handler of POST /v1/tasks/{id}/{verb}: wrapup,
// complete, transfer or cancel.
func taskCommand(verb string) handlerFunc {
	kind := map[string]string{"wrapup": node.CmdWrapUp, "complete": node.CmdComplete, "transfer": node.CmdTransfer, "cancel": node.CmdCancel}[verb]
	return func(s *Server, ctx *request, c caller, p params) error {
		args := node.CommandArgs{Actor: c.actor(), Task: p[0]}
		if verb != "transfer" {
			if err := decodeOptionalJSON(ctx, &struct{}{}); err != nil {
				return err
			}
		} else {
			var b struct {
				Queue   string `json:"queue"`
				Worker  string `json:"worker"`
				Mode    string `json:"mode"`
				Timeout string `json:"timeout"`
			}
			if err := decodeJSON(ctx, &b); err != nil {
				return err
			}
			if (b.Queue == "") == (b.Worker == "") || (b.Mode != "" && b.Mode != "warm" && b.Mode != "cold") {
				return errorf(http.StatusBadRequest, "body must be JSON {\"queue\": NAME} or {\"worker\": ID}, with \"mode\": \"cold\" (default) or \"warm\" and an optional \"timeout\" (\"2m\")")
			}
			if b.Timeout != "" {
				d, err := time.ParseDuration(b.Timeout)
				if err != nil || d <= 0 {
					return errorf(http.StatusBadRequest, "timeout %q is not a positive duration such as \"90s\" or \"2m\"", b.Timeout)
				}
				args.Timeout = d
			}
			if b.Worker != "" {
				if err := checkWorkerID(b.Worker); err != nil {
					return err
				}
			}
			args.Queue, args.ToWorker, args.Warm = b.Queue, b.Worker, b.Mode == "warm"
		}
		res, err := s.command(ctx, kind, args)
		if err != nil {
			return err
		}
		writeRaw(ctx.RequestCtx, http.StatusOK, res)
		return nil
	}
}

// closeConversation resolves a conversation: an admin any, the agent
// holding its task that one.
func (s *Server) closeConversation(ctx *request, c caller, p params) error {
	if !c.admin {
		conv, err := s.cfg.Store.GetConversation(ctx, p[0])
		if err != nil {
			return err
		}
		if !s.holdsConversation(ctx, c.worker, conv.ID) {
			return errorf(http.StatusForbidden, "worker %q holds no task of conversation %q", c.worker, conv.ID)
		}
	}
	if err := s.cfg.Node.CloseConversation(ctx, p[0]); err != nil {
		return err
	}
	return s.getConversation(ctx, c, p)
}

func (s *Server) routerStats(ctx *request, _ caller, _ params) error {
	res, err := s.command(ctx, node.CmdStats, node.CommandArgs{})
	if err != nil {
		return err
	}
	writeRaw(ctx.RequestCtx, http.StatusOK, res)
	return nil
}

func (s *Server) routerEvents(ctx *request, _ caller, _ params) error {
	f := store.RouterEventFilter{WorkerID: string(ctx.QueryArgs().Peek("worker")), TaskID: string(ctx.QueryArgs().Peek("task"))}
	newest, err := queryValue(ctx, "newest", "true", "false")
	if err != nil {
		return err
	}
	page := pageOf(ctx)
	page.Newest = newest == "true"
	evs, next, err := s.cfg.Store.ListRouterEvents(ctx, f, page)
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"events": nonNil(evs), "next": next})
	return nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// pageOf reads ?after and ?limit; dispatch has refused values that are
// not a cursor or a limit (checkPage).
func pageOf(ctx *request) store.Page {
	return store.Page{After: string(ctx.QueryArgs().Peek("after")), Limit: ctx.QueryArgs().GetUintOrZero("limit")}
}

func writeRaw(ctx *fasthttp.RequestCtx, status int, body json.RawMessage) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(body, '\n'))
}

func (s *Server) createWorker(ctx *request, _ caller, _ params) error {
	var b workerBody
	if err := decodeJSON(ctx, &b); err != nil {
		return err
	}
	if b.ID == "" {
		return errorf(http.StatusBadRequest, "body must be JSON {\"id\", \"name\", \"attributes\", \"activity\", \"capacity\"} with an id")
	}
	if err := checkWorkerID(b.ID); err != nil {
		return err
	}
	if _, err := s.cfg.Store.GetWorker(ctx, b.ID); err == nil {
		return errorf(http.StatusConflict, "worker %q exists (PATCH /v1/workers/%s changes it)", b.ID, b.ID)
	}
	res, err := s.command(ctx, node.CmdPutWorker, node.CommandArgs{Worker: b.ID, Name: b.Name, Attributes: b.Attributes, Activity: b.Activity, Capacity: b.Capacity})
	if err != nil {
		return err
	}
	token, tok, err := IssueToken(ctx, s.cfg.Store, b.ID, time.Time{})
	if err != nil {
		return err
	}
	var out map[string]any
	_ = json.Unmarshal(res, &out)
	out["token"], out["token_id"] = token, tok.ID
	writeJSON(ctx.RequestCtx, http.StatusCreated, out)
	return nil
}

// ownTask returns a task the caller may see: an admin any, a worker those
// it holds or held.
func (s *Server) ownTask(ctx context.Context, c caller, id string) (store.Task, error) {
	t, err := s.cfg.Store.GetTask(ctx, id)
	if err != nil {
		return t, err
	}
	if c.admin || t.WorkerID == c.worker {
		return t, nil
	}
	rs, err := s.cfg.Store.ListReservations(ctx, store.ReservationFilter{TaskID: id, WorkerID: c.worker})
	if err != nil {
		return t, err
	}
	if len(rs) == 0 {
		return t, errorf(http.StatusForbidden, "task %q was never offered to worker %q", id, c.worker)
	}
	return t, nil
}

// holdsConversation reports whether the worker holds an open task of the
// conversation: its accepted or wrapping reservations, as many as its capacity.
func (s *Server) holdsConversation(ctx context.Context, worker, conversationID string) bool {
	for _, st := range []store.ReservationStatus{store.ReservationAccepted, store.ReservationWrapping} {
		rs, err := s.cfg.Store.ListReservations(ctx, store.ReservationFilter{WorkerID: worker, Status: st})
		if err != nil {
			return false
		}
		for _, r := range rs {
			if t, err := s.cfg.Store.GetTask(ctx, r.TaskID); err == nil && t.ConversationID == conversationID && t.Status.Open() {
				return true
			}
		}
	}
	return false
}

// history answers the contact's conversations on every channel with their
// latest messages, oldest first.
func (s *Server) history(ctx *request, t store.Task) error {
	contact, err := s.cfg.Store.GetContact(ctx, t.ContactID)
	if err != nil {
		return err
	}
	convs, _, err := s.cfg.Store.ListConversations(ctx, store.ConversationFilter{ContactID: contact.ID}, store.Page{Newest: true, Limit: 20})
	if err != nil {
		return err
	}
	type convHistory struct {
		store.Conversation
		Messages []store.Message `json:"messages"`
	}
	out := make([]convHistory, 0, len(convs))
	for i := len(convs) - 1; i >= 0; i-- {
		msgs, _, err := s.cfg.Store.ListMessages(ctx, convs[i].ID, store.Page{Newest: true, Limit: 100})
		if err != nil {
			return err
		}
		for l, r := 0, len(msgs)-1; l < r; l, r = l+1, r-1 {
			msgs[l], msgs[r] = msgs[r], msgs[l]
		}
		out = append(out, convHistory{Conversation: convs[i], Messages: nonNil(msgs)})
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"task": t, "contact": contact, "conversations": out})
	return nil
}

var agentUpgrader = websocket.FastHTTPUpgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	// A stream writes a frame now and then: its write buffer is taken
	// from the pool for a write and given back, not held by every idle
	// stream of thousands.
	WriteBufferPool: &sync.Pool{},
	// Tokens, not cookies, authenticate the stream: any origin may open it.
	CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
}

// streamPoll bounds how long an event waits on a store that does not wake
// streams (no store.Notifier). With wake-ups, a stream reads the log
// again every streamRecheck besides, in case one was lost: thousands of
// idle streams reading it every second would be thousands of queries a
// second, and take the store's readers from the router leader.
const (
	streamPoll    = time.Second
	streamRecheck = 5 * time.Minute
)

// streamPing is how often an idle stream pings its agent and checks its
// token again.
const streamPing = 30 * time.Second

// stream pushes a worker's events over a WebSocket: first a "hello" frame
// with its open reservations, then every event of the log that names the
// worker (offers, cancellations, its conversations' customer messages), in
// order. ?after=SEQ resumes after an event already seen.
func (s *Server) stream(ctx *request, worker, tokenHash string) error {
	w, err := s.cfg.Store.GetWorker(ctx, worker)
	if err != nil {
		return err
	}
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx.RequestCtx) {
		return errorf(http.StatusBadRequest, "want a WebSocket upgrade")
	}
	after := string(ctx.QueryArgs().Peek("after"))
	if _, _, err := (store.Page{After: after}).Cursor(); err != nil {
		return err // before the upgrade: a stream cannot answer 400
	}
	if after == "" {
		latest, _, err := s.cfg.Store.ListRouterEvents(ctx, store.RouterEventFilter{WorkerID: worker}, store.Page{Newest: true, Limit: 1})
		if err != nil {
			return err
		}
		after = "0"
		if len(latest) > 0 {
			after = strconv.FormatInt(latest[0].Seq, 10)
		}
	}
	var open []store.Reservation
	for _, st := range []store.ReservationStatus{store.ReservationPending, store.ReservationAccepted, store.ReservationWrapping} {
		rs, err := s.cfg.Store.ListReservations(ctx, store.ReservationFilter{WorkerID: worker, Status: st})
		if err != nil {
			return err
		}
		open = append(open, rs...)
	}
	// Each open reservation with its task, so a desktop shows them at once.
	type openReservation struct {
		store.Reservation
		Task *store.Task `json:"task,omitempty"`
	}
	withTasks := make([]openReservation, 0, len(open))
	for _, r := range open {
		or := openReservation{Reservation: r}
		if t, err := s.cfg.Store.GetTask(ctx, r.TaskID); err == nil {
			or.Task = &t
		}
		withTasks = append(withTasks, or)
	}
	hello := map[string]any{"type": "hello", "worker": w, "reservations": withTasks, "after": after}
	return agentUpgrader.Upgrade(ctx.RequestCtx, func(conn *websocket.Conn) { s.runStream(conn, worker, after, hello, tokenHash) })
}

func (s *Server) runStream(conn *websocket.Conn, worker, after string, hello map[string]any, tokenHash string) {
	defer conn.Close()
	// A stream counts as work in flight, so a shutdown waits for it to end
	// (it ends at once, going away) before it closes the store.
	goingAway := func() {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
	}
	if _, ok := s.gate.hold(true); !ok {
		goingAway()
		return
	}
	defer s.gate.release()
	notifier, _ := s.cfg.Store.(store.Notifier)
	var wake <-chan struct{}
	if notifier != nil {
		ch, cancel := notifier.Subscribe(store.TopicEvents, store.WorkerParty(worker)) // woken by its events only
		defer cancel()
		wake = ch
	}
	// Frames nobody stores (the customer typing) come besides the log.
	var signals <-chan json.RawMessage
	if s.cfg.Node != nil {
		ch, stop := s.cfg.Node.Signals(worker)
		defer stop()
		signals = ch
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	// The reader must be done before the handler returns: the server
	// releases the hijacked connection then, under a read in progress.
	defer func() { conn.Close(); <-readerDone }()
	write := func(v any) error {
		b, _ := json.Marshal(v)
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return conn.WriteMessage(websocket.TextMessage, b)
	}
	// A stream outlives the request that authenticated it: its token is
	// checked again before events go out (and while idle), so a revoked
	// token, or a deleted worker's, sees nothing more, not even the events
	// of a new worker with the same id.
	// Idle, it checks against the server's snapshot of live tokens
	// (idleTokenGone), which costs one read for all the streams.
	revoked := func(gone func(string) string) bool {
		why := gone(tokenHash)
		if why != "" {
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, why), time.Now().Add(time.Second))
		}
		return why != ""
	}
	if write(hello) != nil {
		return
	}
	every := streamPoll
	if wake != nil {
		every = streamRecheck
	}
	poll := time.NewTicker(every)
	defer poll.Stop()
	ping := time.NewTicker(streamPing)
	defer ping.Stop()
	for read := true; ; {
		for read {
			evs, next, err := s.cfg.Store.ListRouterEvents(context.Background(), store.RouterEventFilter{WorkerID: worker}, store.Page{After: after, Limit: 200})
			if err != nil {
				s.log.Error("agent stream", "worker", worker, "err", err)
				return
			}
			if len(evs) > 0 && revoked(s.tokenGone) {
				return
			}
			for _, e := range evs {
				if write(map[string]any{"type": "event", "event": e}) != nil {
					return
				}
				after = strconv.FormatInt(e.Seq, 10)
			}
			read = next != ""
		}
		read = true
		select {
		case <-readerDone:
			return
		case <-s.gate.stopping:
			goingAway()
			return
		case <-wake:
		case <-poll.C:
		case f := <-signals:
			if write(f) != nil {
				return
			}
		case <-ping.C:
			if revoked(s.idleTokenGone) || conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)) != nil {
				return
			}
			read = false // nothing new in the log: no wake-up said so
		}
	}
}
