package connectortest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Now is the kit's clock: Resources.Now returns it, and the harness signs
// requests for it.
var Now = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// Harness is what Run needs to know about one connector.
type Harness struct {
	// New builds the connector under test, configured to call the fake
	// platform API at api.URL. res carries the fake's HTTP client and the
	// kit's clock; pass it on to the registry.
	New func(t testing.TB, api *API, res connectors.Resources) connectors.Connector
	// Handler is the fake of the platform's send API. For each message
	// the connector sends, it calls api.Deliver with what it read from the
	// request and writes the platform's answer for the Reply it gets
	// back: Reply.Status as the HTTP status (with the platform's error
	// body when it is not 2xx) and Reply.ID as the message id, and
	// Reply.Header's headers.
	Handler func(api *API) http.Handler
	// Request returns a webhook request signed for the time now, that
	// Receive accepts and that carries at least one message.
	Request func(t testing.TB, now time.Time) *connectors.Request
	// Unsign removes the request's signature in place.
	Unsign func(r *connectors.Request)
	// Malformed returns a request signed for now whose body does not parse.
	Malformed func(t testing.TB, now time.Time) *connectors.Request
	// Tamper changes the request so that its signature no longer matches.
	// Default: one letter or digit of the body becomes another.
	Tamper func(r *connectors.Request)
	// Tolerance, when the scheme signs a timestamp, is how old a request
	// may be: Run checks that a request signed a second beyond it is
	// refused with 401 and one a second within it is accepted.
	Tolerance time.Duration
	// Outbound returns the message Run sends. Default: a text message.
	Outbound func() *connectors.Outbound
	// NoIdempotencyKey says the platform takes no idempotency key, so
	// Delivery.Key is not checked.
	NoIdempotencyKey bool
	// NoPlatformID says the platform's answer carries no message id, so
	// Send's platform id is not checked.
	NoPlatformID bool
}

// API is the fake platform API that Run starts for each case, and the
// record of what it received.
type API struct {
	URL    string       // base URL, on loopback
	Client *http.Client // a client for it

	srv        *httptest.Server
	mu         sync.Mutex
	requests   int
	deliveries []Delivery
	script     []Reply
}

// Delivery is what the fake API read from one send request.
type Delivery struct {
	Key    string // the idempotency key the connector passed
	To     string
	Text   string
	Header http.Header
	Body   []byte
}

// Reply is how the fake API answers one send request.
type Reply struct {
	Status int    // HTTP status
	ID     string // the platform's message id, on success
	Header http.Header
}

// Deliver records d and returns how to answer it: the next scripted Reply,
// or 200 with an id "msg-N" once the script is used up.
func (a *API) Deliver(d Delivery) Reply {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deliveries = append(a.deliveries, d)
	if len(a.script) > 0 {
		r := a.script[0]
		a.script = a.script[1:]
		return r
	}
	return Reply{Status: http.StatusOK, ID: "msg-" + strconv.Itoa(len(a.deliveries))}
}

// Script queues the answers to the next deliveries.
func (a *API) Script(replies ...Reply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.script = append(a.script, replies...)
}

// Deliveries returns what the fake received so far.
func (a *API) Deliveries() []Delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.deliveries)
}

// Requests returns how many HTTP requests the fake received, deliveries
// or not.
func (a *API) Requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

// Run runs the conformance cases as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Handler == nil || h.Request == nil || h.Unsign == nil || h.Malformed == nil {
		t.Fatal("connectortest: Harness needs New, Handler, Request, Unsign and Malformed")
	}
	t.Run("receive/valid", func(t *testing.T) { testValid(t, h) })
	t.Run("receive/concurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("receive/tampered", func(t *testing.T) {
		r := h.Request(t, Now)
		tamper := h.Tamper
		if tamper == nil {
			tamper = flipBodyByte
		}
		tamper(r)
		wantStatus(t, h, r, http.StatusUnauthorized)
	})
	t.Run("receive/unsigned", func(t *testing.T) {
		r := h.Request(t, Now)
		h.Unsign(r)
		wantStatus(t, h, r, http.StatusUnauthorized)
	})
	t.Run("receive/malformed", func(t *testing.T) {
		wantStatus(t, h, h.Malformed(t, Now), http.StatusBadRequest)
	})
	if h.Tolerance > 0 {
		t.Run("receive/stale", func(t *testing.T) {
			wantStatus(t, h, h.Request(t, Now.Add(-h.Tolerance-time.Second)), http.StatusUnauthorized)
			wantStatus(t, h, h.Request(t, Now.Add(h.Tolerance+time.Second)), http.StatusUnauthorized)
			c, _ := start(t, h)
			if _, err := c.Receive(context.Background(), h.Request(t, Now.Add(-h.Tolerance+time.Second))); err != nil {
				t.Errorf("a request signed within the tolerance: %v", err)
			}
		})
	}
	t.Run("respond", func(t *testing.T) { testRespond(t, h) })
	t.Run("send/deliver", func(t *testing.T) { testDeliver(t, h) })
	t.Run("send/retry", func(t *testing.T) { testRetry(t, h) })
	t.Run("send/classify", func(t *testing.T) { testClassify(t, h) })
	t.Run("send/unreachable", func(t *testing.T) {
		c, api := start(t, h)
		api.srv.Close()
		_, err := c.Send(context.Background(), outbound(h))
		if err == nil || connectors.IsPermanent(err) {
			t.Errorf("Send to an unreachable platform: err = %v, want a temporary error", err)
		}
	})
	t.Run("send/canceled", func(t *testing.T) {
		c, _ := start(t, h)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Send(ctx, outbound(h))
		if err == nil || connectors.IsPermanent(err) {
			t.Errorf("Send with a canceled context: err = %v, want a temporary error", err)
		}
	})
}

// start starts the fake API and builds the connector against it.
func start(t testing.TB, h Harness) (connectors.Connector, *API) {
	t.Helper()
	api := &API{}
	handler := h.Handler(api)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.mu.Lock()
		api.requests++
		api.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	api.srv, api.URL, api.Client = srv, srv.URL, srv.Client()
	res := connectors.Resources{
		HTTPClient: api.Client,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now:        func() time.Time { return Now },
		PublicURL:  "https://switchboard.test",
		Instance:   connectors.DefaultInstance,
	}
	c := h.New(t, api, res)
	if c == nil {
		t.Fatal("Harness.New returned nil")
	}
	return c, api
}

func wantStatus(t *testing.T, h Harness, r *connectors.Request, status int) {
	t.Helper()
	c, api := start(t, h)
	in, err := c.Receive(context.Background(), r)
	var se *connectors.StatusError
	switch {
	case err == nil:
		t.Errorf("Receive accepted the request (%d messages), want a %d StatusError", len(in), status)
	case !errors.As(err, &se):
		t.Errorf("Receive: %v (%T), want a *connectors.StatusError", err, err)
	case se.Status != status:
		t.Errorf("Receive: status %d (%v), want %d", se.Status, err, status)
	case se.Reason == "":
		t.Errorf("Receive: StatusError without a reason")
	}
	if n := api.Requests(); n > 0 {
		t.Errorf("Receive made %d requests to the platform; it must do no network I/O", n)
	}
}

// flipBodyByte changes the last letter or digit of the body.
func flipBodyByte(r *connectors.Request) {
	for i := len(r.Body) - 1; i >= 0; i-- {
		b := r.Body[i]
		switch {
		case b >= 'a' && b < 'z', b >= 'A' && b < 'Z', b >= '0' && b < '9':
			r.Body = bytes.Clone(r.Body)
			r.Body[i] = b + 1
			return
		case b == 'z', b == 'Z', b == '9':
			r.Body = bytes.Clone(r.Body)
			r.Body[i] = b - 1
			return
		}
	}
	r.Body = append(bytes.Clone(r.Body), ' ')
}

func testValid(t *testing.T, h Harness) {
	c, api := start(t, h)
	r := h.Request(t, Now)
	in, err := c.Receive(context.Background(), r)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(in) == 0 {
		t.Fatal("Receive returned no messages for a request that carries one")
	}
	for i, m := range in {
		if m.PlatformID == "" {
			t.Errorf("message %d: empty PlatformID", i)
		}
		if m.From == "" {
			t.Errorf("message %d: empty From", i)
		}
		if m.Channel == "" {
			t.Errorf("message %d: empty Channel", i)
		}
	}
	again, err := c.Receive(context.Background(), h.Request(t, Now))
	if err != nil {
		t.Fatalf("Receive of the same request again: %v", err)
	}
	if ids(again) != ids(in) {
		t.Errorf("a redelivery gave PlatformIDs %s, the first delivery %s: dedupe keys must be stable", ids(again), ids(in))
	}
	if n := api.Requests(); n > 0 {
		t.Errorf("Receive made %d requests to the platform; it must do no network I/O", n)
	}
}

func ids(in []connectors.Inbound) string {
	var b bytes.Buffer
	for _, m := range in {
		b.WriteString(m.PlatformID)
		b.WriteByte(',')
	}
	return b.String()
}

func testConcurrent(t *testing.T, h Harness) {
	c, _ := start(t, h)
	want, err := c.Receive(context.Background(), h.Request(t, Now))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		r := h.Request(t, Now)
		wg.Go(func() {
			in, err := c.Receive(context.Background(), r)
			if err == nil && ids(in) != ids(want) {
				err = errors.New("concurrent Receive gave different messages: " + ids(in))
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testRespond(t *testing.T, h Harness) {
	c, _ := start(t, h)
	ir, ok := c.(connectors.InlineResponder)
	if !ok {
		t.Skip("the connector does not answer inline")
	}
	in, err := c.Receive(context.Background(), h.Request(t, Now))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	status, ct, _ := ir.Respond(in, connectors.Reaction{})
	if status < 200 || status > 299 || ct == "" {
		t.Errorf("Respond with no reaction: status %d, content type %q; want a 2xx with a content type", status, ct)
	}
	status, _, _ = ir.Respond(nil, connectors.Reaction{})
	if status < 200 || status > 299 {
		t.Errorf("Respond to a request without messages: status %d, want a 2xx", status)
	}
	reply := outbound(h)
	reply.Text = "Kit reply 42"
	status, _, body := ir.Respond(in, connectors.Reaction{
		Replies:  []connectors.Outbound{*reply},
		Enqueued: []connectors.EnqueuedTask{{TaskID: "task-1", Workflow: "support", Priority: 5}},
	})
	if status < 200 || status > 299 {
		t.Errorf("Respond with a reply: status %d, want a 2xx", status)
	}
	if !bytes.Contains(body, []byte(reply.Text)) {
		t.Errorf("Respond's body does not carry the reply's text %q:\n%s", reply.Text, body)
	}
}

func outbound(h Harness) *connectors.Outbound {
	if h.Outbound != nil {
		return h.Outbound()
	}
	return &connectors.Outbound{Key: "effect-0001", Channel: "test", To: "+15550100", Text: "Hello from the kit", ConversationID: "conv-1"}
}

func testDeliver(t *testing.T, h Harness) {
	c, api := start(t, h)
	m := outbound(h)
	api.Script(Reply{Status: http.StatusOK, ID: "platform-77"})
	id, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !h.NoPlatformID && id != "platform-77" {
		t.Errorf("Send returned platform id %q, want the fake's %q", id, "platform-77")
	}
	ds := api.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("the fake platform received %d deliveries, want 1", len(ds))
	}
	d := ds[0]
	if !h.NoIdempotencyKey && d.Key != m.Key {
		t.Errorf("delivery key %q, want the message's Key %q", d.Key, m.Key)
	}
	if d.To != m.To {
		t.Errorf("delivered to %q, want %q", d.To, m.To)
	}
	if d.Text != m.Text {
		t.Errorf("delivered text %q, want %q", d.Text, m.Text)
	}
}

func testRetry(t *testing.T, h Harness) {
	c, api := start(t, h)
	m := outbound(h)
	api.Script(Reply{Status: http.StatusServiceUnavailable}, Reply{Status: http.StatusOK, ID: "platform-78"})
	_, err := c.Send(context.Background(), m)
	if err == nil || connectors.IsPermanent(err) {
		t.Fatalf("Send answered 503: err = %v, want a temporary error", err)
	}
	retry := *m
	if _, err := c.Send(context.Background(), &retry); err != nil {
		t.Fatalf("Send again: %v", err)
	}
	ds := api.Deliveries()
	if len(ds) != 2 {
		t.Fatalf("the fake platform received %d deliveries, want 2", len(ds))
	}
	if !h.NoIdempotencyKey && (ds[0].Key != m.Key || ds[1].Key != m.Key) {
		t.Errorf("keys %q then %q on retry, want %q both times", ds[0].Key, ds[1].Key, m.Key)
	}
}

func testClassify(t *testing.T, h Harness) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusNotFound, true},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
	} {
		c, api := start(t, h)
		api.Script(Reply{Status: tc.status})
		_, err := c.Send(context.Background(), outbound(h))
		switch {
		case err == nil:
			t.Errorf("platform answered %d: Send succeeded", tc.status)
		case connectors.IsPermanent(err) != tc.permanent:
			t.Errorf("platform answered %d: IsPermanent(%v) = %v, want %v", tc.status, err, !tc.permanent, tc.permanent)
		}
	}
}

// CheckRefusal holds an error of Receive to what a fuzz test expects of a
// refusal: a *connectors.StatusError, 401 or 415 for any request, and one
// of parserStatuses (the parser speaking) only for an authentic request,
// since the parser must never read unauthenticated input.
func CheckRefusal(t testing.TB, err error, authentic bool, parserStatuses ...int) *connectors.StatusError {
	t.Helper()
	var se *connectors.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Receive: %v (%T), want a *connectors.StatusError", err, err)
	}
	switch {
	case se.Status == 401 || se.Status == 415:
	case slices.Contains(parserStatuses, se.Status):
		if !authentic {
			t.Fatalf("%d %q for an unauthenticated request: the parser ran on unauthenticated input", se.Status, se.Reason)
		}
	default:
		t.Fatalf("unexpected status %d: %v", se.Status, err)
	}
	return se
}
