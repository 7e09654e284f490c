// Package outbox performs the effects that steps committed to the outbox:
// due rows are claimed under a lease, workers carry each out through the
// effect interpreter (effect.Perform) with the node's connectors, HTTP
// client and functions, and the result is recorded in one unit with the
// step it resumes, apart from the worker, so that many results share one
// group commit.
// A failed delivery is retried with backoff and dead-lettered after
// MaxAttempts; a row whose owner died returns to the pool when its lease
// ends, and its idempotency key keeps the platform from showing it twice.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/inflight"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Lease lengths: a claimed row returns to the pool when its owner has not
// finished with it by then (the owner died).
const (
	effectLease = 2 * time.Minute
	pollEvery   = 200 * time.Millisecond
	// inFlight bounds the rows claimed, being performed and being recorded
	// at once. Recording a result waits for a group commit (several ms): a
	// worker hands it on and performs the next row, so the recordings of
	// many rows share each commit instead of each worker waiting for its
	// own.
	inFlight = 1024
	// claimMax bounds one claim's rows: a claim is a write transaction
	// that the group commits wait behind. Each claim also reads every due
	// row to choose the oldest, so a backlog is claimed in large bites.
	claimMax = 512
	// Rows claimed wait for a worker: at most what the workers start in
	// startWithin at their recent pace, and at least claimBatch (as when
	// rows were handed out 64 at a time), so a row starts well within its
	// lease. One that waited staleAfter all the same (the platform slowed
	// down) is left to be claimed again after its lease, rather than
	// started near its end, when another node may claim it.
	claimBatch  = 64
	startWithin = 10 * time.Second
	paceEvery   = 250 * time.Millisecond
)

// staleAfter: see claimBatch (a variable for the tests).
var staleAfter = effectLease / 2

// Function is a Go function flows call with `function NAME`.
type Function func(ctx context.Context, args map[string]any) (any, error)

// Handler performs an outbox row of a kind the runtime adds beside the
// flows' effects (the router's event webhook). An error is retried like a
// failed send, unless permanent.
type Handler func(ctx context.Context, row store.Effect) error

// Config configures an Outbox.
type Config struct {
	Owner string // lease owner name
	// Channels delivers outbound messages, by "connector/instance".
	Channels  map[string]connectors.Connector
	Functions map[string]Function
	// FunctionURLs are webhook functions: `function NAME` POSTs its args as
	// JSON to the URL and takes the JSON answer as its result.
	FunctionURLs map[string]string
	HTTP         *http.Client
	// MaxAttempts is how many times an effect is tried before it is dead
	// lettered (default 8); the wait between attempts doubles from
	// RetryBase (default 1s), up to 5 minutes.
	MaxAttempts int
	RetryBase   time.Duration
	// Handlers perform the rows of other kinds, by kind.
	Handlers map[string]Handler
	Logger   *slog.Logger
	Metrics  *metrics.Registry
}

// Outbox works the outbox of core's store.
type Outbox struct {
	cfg   Config
	core  *execution.Core
	store store.Store
	log   *slog.Logger
	io    serveIO

	sent      *metrics.CounterVec
	failed    *metrics.CounterVec
	effectRun *metrics.Histogram
}

// New returns an Outbox; Run works it.
func New(core *execution.Core, cfg Config) *Outbox {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = time.Second
	}
	reg := cfg.Metrics
	if reg == nil {
		reg = &metrics.Registry{}
	}
	o := &Outbox{cfg: cfg, core: core, store: core.Store(), log: cfg.Logger}
	o.io.cfg = &o.cfg
	o.sent = reg.Counter("switchboard_messages_out_total", "Messages delivered through connectors, by channel.", "channel")
	o.failed = reg.Counter("switchboard_effect_failures_total", "Effects that failed (retried or dead-lettered), by kind.", "kind")
	o.effectRun = reg.Histogram("switchboard_effect_seconds", "Time to perform one effect (send, http, function).",
		[]float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30})
	return o
}

// Run performs the outbox's effects until ctx ends, at most workers at
// once; wake says there may be new work before the next poll. A worker
// performs a row (the platform's call) and hands the recording of its
// result to a goroutine of its own, so the platforms see at most workers
// effects at once while up to inFlight results wait for their commits.
// Run returns once the rows being performed and recorded are done with
// (a recording cut short by ctx leaves its row leased: it is performed
// again after its lease, as when a node dies).
func (o *Outbox) Run(ctx context.Context, workers int, wake <-chan struct{}) {
	r := &runner{o: o, queue: make(chan claimed, inFlight), slots: inflight.New(inFlight), paceAt: time.Now()}
	for range max(workers, 1) {
		r.workers.Go(func() { r.work(ctx) })
	}
	ticker := time.NewTicker(pollEvery)
	defer func() {
		ticker.Stop()
		close(r.queue)
		r.workers.Wait() // no worker hands on a recording after this
		r.recording.Wait()
	}()
	for ctx.Err() == nil {
		ahead := r.ahead()
		room := min(r.slots.Room(), ahead-len(r.queue), claimMax)
		if room < min(ahead, claimMax)/4 {
			// Enough waiting, or slots mostly taken: wait for rows to be
			// started or recorded rather than claim a few in a transaction
			// of their own.
			select {
			case <-ctx.Done():
			case <-r.slots.Freed():
			}
			continue
		}
		if r.claim(ctx, room) == room {
			continue
		}
		select {
		case <-ctx.Done():
		case <-ticker.C:
		case <-wake:
		}
	}
}

// runner is one Run: the claimed rows, the workers performing them and the
// goroutines recording their results.
type runner struct {
	o     *Outbox
	queue chan claimed    // claimed, not yet started; closed when Run ends
	slots *inflight.Limit // one per row from its claim to its recording's end; Freed also when a row starts

	started atomic.Int64 // rows the workers started
	// The workers' pace: started at paceAt, and the rows a second they
	// started in the window before (the claim loop's own).
	paceAt   time.Time
	paceN    int64
	paceRate float64

	workers, recording sync.WaitGroup
}

type claimed struct {
	row store.Effect
	at  time.Time
}

// ahead is how many claimed rows may wait for a worker.
func (r *runner) ahead() int {
	if d := time.Since(r.paceAt); d >= paceEvery {
		n := r.started.Load()
		r.paceRate = float64(n-r.paceN) / d.Seconds()
		r.paceAt, r.paceN = time.Now(), n
	}
	return min(max(claimBatch, int(r.paceRate*startWithin.Seconds())), inFlight)
}

// claim leases up to n due rows and queues them for the workers; it
// returns how many it claimed. The caller made room for n in the slots,
// and is the only one adding to them.
func (r *runner) claim(ctx context.Context, n int) int {
	effects, err := r.o.store.ClaimEffects(ctx, r.o.cfg.Owner, n, effectLease, r.o.core.Now())
	if err != nil {
		if ctx.Err() == nil {
			r.o.log.Error("claiming effects", "err", err)
		}
		return 0
	}
	at := time.Now()
	for _, e := range effects {
		r.slots.Take()
		r.queue <- claimed{e, at}
	}
	return len(effects)
}

// work performs queued rows until the queue is closed, handing each
// result's recording on.
func (r *runner) work(ctx context.Context) {
	for c := range r.queue {
		r.slots.Signal()
		if ctx.Err() != nil || time.Since(c.at) > staleAfter {
			// Not started: it stays leased and is claimed again after its
			// lease, like a row that was never handed out.
			r.slots.Give()
			continue
		}
		r.started.Add(1)
		record := r.o.perform(ctx, c.row)
		r.recording.Go(func() {
			defer r.slots.Give()
			record(ctx)
		})
	}
}

// perform carries out one outbox row and returns what records its
// result; the caller runs it without holding a worker.
func (o *Outbox) perform(ctx context.Context, row store.Effect) (record func(context.Context)) {
	if h := o.cfg.Handlers[row.Kind]; h != nil {
		err := h(ctx, row)
		return func(ctx context.Context) { o.handled(ctx, row, err) }
	}
	var p effect.OutboxPayload
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		return func(ctx context.Context) { o.deadLetter(ctx, row, fmt.Errorf("unreadable effect: %w", err)) }
	}
	e := p.Effect
	began := time.Now()
	var done effect.Done
	if e.Kind == engine.EffectVoice {
		done = effect.PerformScript(ctx, o.io, p.Route, e, p.Script)
		e.WaitID = p.WaitID()
		if errors.Is(done.Err, connectors.ErrCallEnded) && row.ExecutionID != "" {
			o.effectRun.Observe(time.Since(began).Seconds())
			return func(ctx context.Context) { o.callEnded(ctx, row, p) }
		}
	} else if p.Agent != nil {
		done = effect.PerformReply(ctx, o.io, p.Route, e, p.Agent.Worker, o.agentName(ctx, p.Agent.Worker))
	} else {
		done = effect.Perform(ctx, o.io, p.Route, e)
	}
	o.effectRun.Observe(time.Since(began).Seconds())
	return func(ctx context.Context) { o.record(ctx, row, p, e, done) }
}

// record records what performing row's effect e gave: its completion with
// the step it resumes, a retry or a dead letter.
func (o *Outbox) record(ctx context.Context, row store.Effect, p effect.OutboxPayload, e engine.Effect, done effect.Done) {
	if done.Err != nil {
		o.failed.Inc(string(e.Kind))
		if !connectors.IsPermanent(done.Err) && row.Attempts < o.cfg.MaxAttempts {
			o.retry(ctx, row, done.Err)
			return
		}
		if e.WaitID == "" {
			o.deadLetter(ctx, row, done.Err)
			if p.Agent != nil {
				o.agentReplyResult(ctx, p, row.ID, nil, done.Err)
			}
			return
		}
	}
	res := done.ResultFor() // a failure goes to the flow's failure outcome
	var sent *store.Message
	if done.Delivered {
		sent = o.delivered(p, row.ExecutionID, done.PlatformID, done.Pending)
		if v := done.Via; v != nil {
			sent.Connector, sent.Instance = v.Connector, v.Instance
		}
	}
	result, _ := json.Marshal(res)
	complete := func(u *store.Unit) {
		u.CompleteEffects = append(u.CompleteEffects, store.EffectResult{ID: row.ID, Result: result})
		if sent != nil {
			u.Messages = append(u.Messages, *sent)
		}
	}
	if e.WaitID == "" || done.Pending { // a pending outcome comes back as an event of the conversation
		unit := &store.Unit{At: o.core.Now()}
		complete(unit)
		if _, err := o.core.Submit(ctx, unit); err != nil {
			if ctx.Err() == nil {
				o.log.Error("completing effect", "effect", row.ID, "err", err)
			}
			return
		}
		if p.Agent != nil && sent != nil {
			o.agentReplyResult(ctx, p, row.ID, sent, nil)
		}
		return
	}
	waitID := e.WaitID
	err := o.core.Resume(ctx, row.ExecutionID, p.Route, p.Event,
		func(ev *engine.Event) { ev.Kind, ev.WaitID, ev.Result = engine.EventResult, waitID, &res }, complete)
	if err != nil && ctx.Err() == nil {
		o.log.Error("recording effect result", "effect", row.ID, "err", err)
	}
}

// callEnded ends the flow and the conversation of a call that turned out
// to be over when its next verbs reached it (the platform's report of its
// end was lost, or not configured), with the row's completion.
func (o *Outbox) callEnded(ctx context.Context, row store.Effect, p effect.OutboxPayload) {
	err := o.core.EndConversation(ctx, row.ExecutionID, p.Route, p.Event, func(u *store.Unit) {
		u.CompleteEffects = append(u.CompleteEffects, store.EffectResult{ID: row.ID})
	})
	if err != nil && ctx.Err() == nil {
		o.log.Error("ending the flow of an ended call", "effect", row.ID, "err", err)
	}
}

// delivered is the stored message of a delivered send; an agent's reply
// names its agent, and a send whose report the flow waits for its wait.
func (o *Outbox) delivered(p effect.OutboxPayload, executionID, platformID string, pending bool) *store.Message {
	e := p.Effect
	o.sent.Inc(effect.Outbound(p.Route, e).Channel)
	rec := effect.SentRecord{SendEffect: e.Send}
	if p.Agent != nil {
		rec.Agent, rec.Task = p.Agent.Worker, p.Agent.Task
	}
	if pending {
		rec.Execution, rec.Wait = executionID, e.WaitID
	}
	body, _ := json.Marshal(rec)
	return &store.Message{ID: store.NewID(), ConversationID: p.Route.ConversationID, Direction: store.Outbound,
		Connector: p.Route.Connector, Instance: p.Route.Instance, PlatformMessageID: platformID, Text: e.Send.Text, Payload: body}
}

// handled records what a Handler's row gave.
func (o *Outbox) handled(ctx context.Context, row store.Effect, err error) {
	if err != nil {
		if !connectors.IsPermanent(err) && row.Attempts < o.cfg.MaxAttempts {
			o.retry(ctx, row, err)
		} else {
			o.deadLetter(ctx, row, err)
		}
		return
	}
	if err := o.store.CompleteEffect(ctx, row.ID, nil); err != nil {
		o.log.Error("completing effect", "effect", row.ID, "kind", row.Kind, "err", err)
	}
}

func (o *Outbox) retry(ctx context.Context, row store.Effect, cause error) {
	wait := o.cfg.RetryBase << min(row.Attempts, 16)
	if wait > 5*time.Minute || wait <= 0 {
		wait = 5 * time.Minute
	}
	if d, ok := connectors.RetryDelay(cause); ok && d > wait {
		wait = d // the platform asked for it (Retry-After)
	}
	if err := o.store.RetryEffect(ctx, row.ID, o.core.Now().Add(wait), cause.Error()); err != nil {
		o.log.Error("scheduling retry", "effect", row.ID, "err", err)
	}
}

func (o *Outbox) deadLetter(ctx context.Context, row store.Effect, cause error) {
	o.log.Warn("effect dead-lettered", "effect", row.ID, "kind", row.Kind, "err", cause)
	if err := o.store.DeadLetter(ctx, row.ID, cause.Error()); err != nil {
		o.log.Error("dead-lettering", "effect", row.ID, "err", err)
	}
}

// agentReplyResult tells the agent's stream what became of its reply: a
// stored message (delivered) or an error (dead-lettered).
func (o *Outbox) agentReplyResult(ctx context.Context, p effect.OutboxPayload, effectID string, sent *store.Message, failure error) {
	data := map[string]any{"conversation_id": p.Route.ConversationID, "reply_id": effectID, "text": p.Effect.Send.Text}
	typ := "agent.reply.delivered"
	if sent != nil {
		data["message_id"] = sent.ID
	}
	if failure != nil {
		typ, data["error"] = "agent.reply.failed", failure.Error()
	}
	b, _ := json.Marshal(data)
	ev := store.RouterEvent{Type: typ, TaskID: p.Agent.Task, WorkerID: p.Agent.Worker, Data: b}
	if err := o.store.AppendRouterEvents(ctx, []store.RouterEvent{ev}); err != nil {
		o.log.Error("telling the agent about its reply", "task", p.Agent.Task, "err", err)
	}
}
