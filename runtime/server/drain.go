package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Graceful shutdown. Canceling the work of every request at once when the
// signal comes would fail a webhook whose message is being committed,
// answered 500 though its message may be stored. So handlers' work runs
// under the server's life (see request), not fasthttp's RequestCtx, which
// fasthttp cancels for all at once, and Serve ends that life only once
// nothing is in flight: first it closes the
// listener (new connections are refused) and waits, at most the drain
// timeout, for the requests being served, the ones that still arrive on
// connections already open (each answered with Connection: close) and the
// agents' streams (told to go away) to finish. After that a request gets
// 503, and only requests still running when the drain timeout ends see
// their context canceled.

// DefaultDrainTimeout is how long a shutdown waits for the requests in
// flight when Config.DrainTimeout is zero: some seconds under the 30 s
// Kubernetes allows by default (terminationGracePeriodSeconds) before
// SIGKILL, which leaves time to stop the workers and close the store.
const DefaultDrainTimeout = 20 * time.Second

// shutdownGrace is how long requests still running after the drain
// timeout have, once their contexts are canceled, to answer.
const shutdownGrace = 5 * time.Second

type drainState int

const (
	serving  drainState = iota
	draining            // the listener is closed; requests in flight and on open connections are served
	drained             // the drain is over (nothing in flight, or its timeout): requests get 503
)

// gate counts the work in flight (requests, and agents' streams) so a
// shutdown can wait for it.
type gate struct {
	mu       sync.Mutex
	state    drainState
	inflight int
	idle     chan struct{} // closed when draining with nothing in flight
	stopping chan struct{} // closed when the drain begins: streams end
}

func newGate() *gate { return &gate{idle: make(chan struct{}), stopping: make(chan struct{})} }

func (g *gate) current() drainState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// hold counts one more piece of work in flight unless the drain is over
// (or, for a long-lived one, has begun).
func (g *gate) hold(longLived bool) (drainState, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == drained || (longLived && g.state != serving) {
		return g.state, false
	}
	g.inflight++
	return g.state, true
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if g.inflight == 0 && g.state == draining {
		close(g.idle)
	}
}

func (g *gate) beginDrain() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != serving {
		return
	}
	g.state = draining
	close(g.stopping)
	if g.inflight == 0 {
		close(g.idle)
	}
}

// wait waits until nothing is in flight or timeout has passed, ends the
// drain, and returns how much work is still in flight.
func (g *gate) wait(timeout time.Duration) int {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-g.idle:
	case <-t.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state = drained
	return g.inflight
}

// errShuttingDown answers what arrives when the drain is over.
var errShuttingDown = &apiError{status: http.StatusServiceUnavailable, msg: "the server is shutting down: send the request again (another node, or this one once restarted, will take it)"}

// enter admits a request, or answers it 503 when the server no longer
// takes requests. Once the drain has begun every answer closes its
// connection, so keep-alive clients move on to a node that serves.
func (s *Server) enter(ctx *fasthttp.RequestCtx) bool {
	state, ok := s.gate.hold(websocket.FastHTTPIsWebSocketUpgrade(ctx))
	if state != serving {
		ctx.SetConnectionClose()
	}
	if !ok {
		ctx.Response.Header.Set("Retry-After", "1")
		s.fail(ctx, errShuttingDown)
	}
	return ok
}

// shutdown drains and then shuts srv down; ln is its listener, errc where
// its Serve returns.
func (s *Server) shutdown(srv *fasthttp.Server, ln net.Listener, errc <-chan error) error {
	timeout := s.cfg.DrainTimeout
	if timeout <= 0 {
		timeout = DefaultDrainTimeout
	}
	began := time.Now()
	s.gate.beginDrain()
	_ = ln.Close() // refuse new connections; srv.Serve returns
	for _, in := range s.cfg.Instances {
		if d, ok := in.Conn.(connectors.Drainer); ok {
			d.Drain()
		}
	}
	left := s.gate.wait(timeout)
	if left > 0 {
		s.log.Warn("drain timeout: canceling the requests still in flight", "requests", left, "drain_timeout", timeout)
	}
	// Cancels the work of the requests the drain timeout left running, and
	// closes the idle keep-alive connections.
	s.endLife()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.ShutdownWithContext(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("connections still open after the drain", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	s.log.Info("server drained", "took", time.Since(began).Round(time.Millisecond), "drain_timeout", timeout)
	return nil
}

// shutdownError tells whether err is a request's work cut short by the
// shutdown (its drain timeout passed): the outcome is not known, and the
// client should send it again, which deduplication makes safe.
func (s *Server) shutdownError(err error) bool {
	return s.gate.current() == drained &&
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrClosed))
}

// parseError answers a request fasthttp could not read, before any handler
// runs, with the JSON error every other answer has.
func (s *Server) parseError(ctx *fasthttp.RequestCtx, err error) {
	status, msg := http.StatusBadRequest, "malformed HTTP request"
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = http.StatusRequestEntityTooLarge, "request body too large: at most "+strconv.Itoa(MaxProgramBody)+" bytes"
	case errors.As(err, &small):
		status, msg = http.StatusRequestHeaderFieldsTooLarge, "request headers too large"
	case errors.As(err, &netErr) && netErr.Timeout():
		status, msg = http.StatusRequestTimeout, "the request was not received in time"
	}
	ctx.Response.Reset()
	s.errors.Inc(strconv.Itoa(status))
	writeJSON(ctx, status, map[string]string{"error": msg})
}
