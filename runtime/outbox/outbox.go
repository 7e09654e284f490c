// Package outbox performs the effects that steps committed to the outbox:
// workers claim due rows under a lease, carry each out through the effect
// interpreter (effect.Perform) with the node's connectors, HTTP client and
// functions, and record the result in one unit with the step it resumes.
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
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
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
	claimBatch  = 64
)

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

// Run performs the outbox's effects with workers goroutines until ctx
// ends; wake says there may be new work before the next poll.
func (o *Outbox) Run(ctx context.Context, workers int, wake <-chan struct{}) {
	jobs := make(chan store.Effect)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				o.perform(ctx, e)
			}
		}()
	}
	ticker := time.NewTicker(pollEvery)
	defer func() {
		ticker.Stop()
		close(jobs)
		wg.Wait()
	}()
	for {
		effects, err := o.store.ClaimEffects(ctx, o.cfg.Owner, claimBatch, effectLease, o.core.Now())
		if err != nil && ctx.Err() == nil {
			o.log.Error("claiming effects", "err", err)
		}
		for _, e := range effects {
			select {
			case jobs <- e:
			case <-ctx.Done():
				return
			}
		}
		if len(effects) == claimBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-wake:
		}
	}
}

// perform carries out one outbox row and records its result.
func (o *Outbox) perform(ctx context.Context, row store.Effect) {
	if h := o.cfg.Handlers[row.Kind]; h != nil {
		o.handle(ctx, row, h)
		return
	}
	var p effect.OutboxPayload
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		o.deadLetter(ctx, row, fmt.Errorf("unreadable effect: %w", err))
		return
	}
	e := p.Effect
	began := time.Now()
	defer func() { o.effectRun.Observe(time.Since(began).Seconds()) }()
	var done effect.Done
	if e.Kind == engine.EffectVoice {
		done = effect.PerformScript(ctx, o.io, p.Route, e, p.Script)
		e.WaitID = p.WaitID()
		if errors.Is(done.Err, connectors.ErrCallEnded) && row.ExecutionID != "" {
			o.callEnded(ctx, row, p)
			return
		}
	} else if p.Agent != nil {
		done = effect.PerformReply(ctx, o.io, p.Route, e, p.Agent.Worker, o.agentName(ctx, p.Agent.Worker))
	} else {
		done = effect.Perform(ctx, o.io, p.Route, e)
	}
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

// handle performs a row of a Handler's kind.
func (o *Outbox) handle(ctx context.Context, row store.Effect, h Handler) {
	if err := h(ctx, row); err != nil {
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
