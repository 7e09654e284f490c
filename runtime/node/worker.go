package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Lease lengths: a claimed row returns to the pool when its owner has not
// finished with it by then (the owner died).
const (
	effectLease = 2 * time.Minute
	timerLease  = 30 * time.Second
	pollEvery   = 200 * time.Millisecond
	claimBatch  = 64
	maxBody     = 1 << 20 // bytes of an http step's response kept
)

// Run works the outbox and the timers until ctx ends.
func (n *Node) Run(ctx context.Context, workers int) {
	if workers <= 0 {
		workers = 8
	}
	jobs := make(chan store.Effect)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				n.perform(ctx, e)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.pruneLoop(ctx)
	}()
	ticker := time.NewTicker(pollEvery)
	defer func() {
		ticker.Stop()
		close(jobs)
		wg.Wait()
	}()
	for {
		busy := n.fireTimers(ctx)
		effects, err := n.store.ClaimEffects(ctx, n.cfg.Owner, claimBatch, effectLease, n.cfg.Now())
		if err != nil && ctx.Err() == nil {
			n.log.Error("claiming effects", "err", err)
		}
		for _, e := range effects {
			select {
			case jobs <- e:
			case <-ctx.Done():
				return
			}
		}
		if busy || len(effects) == claimBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-n.wake:
		}
	}
}

// fireTimers steps the executions of due timers; it reports whether there
// may be more due.
func (n *Node) fireTimers(ctx context.Context) bool {
	timers, err := n.store.ClaimDueTimers(ctx, n.cfg.Owner, n.cfg.Now(), claimBatch, timerLease)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error("claiming timers", "err", err)
		}
		return false
	}
	// Fired concurrently, so their commits share group transactions.
	var wg sync.WaitGroup
	for _, t := range timers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tp TimerPayload
			_ = json.Unmarshal(t.Payload, &tp)
			err := n.resume(ctx, t.ExecutionID, tp.Route, tp.Event,
				func(ev *engine.Event) {
					if tp.Task != nil { // a routed task ended
						ev.Kind, ev.Task = engine.EventTask, tp.Task
						return
					}
					ev.Kind, ev.Timer = engine.EventTimer, t.ID
				},
				func(u *store.Unit) { u.DeleteTimers = append(u.DeleteTimers, t.ID) })
			if err != nil && ctx.Err() == nil {
				n.log.Error("firing timer", "timer", t.ID, "err", err)
			}
		}()
	}
	wg.Wait()
	return len(timers) == claimBatch
}

// resume applies an event to a stored execution and commits the result
// with extra (the fired timer's deletion, the effect's completion). When
// the execution has moved on, the event is stale: only extra is committed.
func (n *Node) resume(ctx context.Context, execID string, route Route, tmpl EventTemplate, set func(*engine.Event), extra func(*store.Unit)) error {
	defer n.lock(route.ConversationID)()
	for attempt := 0; attempt < maxConflicts; attempt++ {
		now := n.cfg.Now()
		unit := &store.Unit{At: now}
		var fails failure
		row, err := n.store.GetExecution(ctx, execID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case row.Status.Live():
			x, prog, err := n.load(ctx, row)
			if err != nil {
				return err
			}
			ev := engine.Event{Now: now, Env: n.cfg.Env, StepBudget: n.cfg.StepBudget, Contact: tmpl.Contact, Conversation: tmpl.Conversation}
			set(&ev)
			next, effects, err := engine.Step(prog, x, ev)
			if err != nil && !errors.Is(err, engine.ErrEnded) {
				return err
			}
			if next != x {
				fails = failureOf(next, effects)
				if unit, _, err = plan(next, row.Version, row.ConversationID, route, tmpl, effects, now, false, ""); err != nil {
					return err
				}
			}
		}
		extra(unit)
		res, err := n.committer.Submit(ctx, unit)
		if err != nil {
			return err
		}
		switch res.Outcome {
		case store.Committed, store.Duplicate:
			n.committed(ctx, unit)
			if res.Outcome == store.Committed {
				n.reportFailure(fails)
			}
			return nil
		case store.Conflict:
			continue
		default:
			return fmt.Errorf("node: %v", res.Err)
		}
	}
	return fmt.Errorf("node: execution %s kept changing", execID)
}

// perform carries out one outbox effect and records its result.
func (n *Node) perform(ctx context.Context, row store.Effect) {
	if row.Kind == kindRouterEvents {
		n.deliverEvents(ctx, row)
		return
	}
	var p OutboxPayload
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		n.deadLetter(ctx, row, fmt.Errorf("unreadable effect: %w", err))
		return
	}
	e := p.Effect
	var res engine.Result
	var sent *store.Message
	began := time.Now()
	defer func() { n.effectRun.Observe(time.Since(began).Seconds()) }()
	switch e.Kind {
	case engine.EffectSend:
		id, err := n.send(ctx, p.Route, e)
		if err != nil {
			n.failed.Inc(string(e.Kind))
			if !connectors.IsPermanent(err) && row.Attempts < n.cfg.MaxAttempts {
				n.retry(ctx, row, err)
				return
			}
			if e.WaitID == "" {
				n.deadLetter(ctx, row, err)
				if p.Agent != nil {
					n.agentReplyResult(ctx, p, row.ID, nil, err)
				}
				return
			}
			res.Err = err.Error() // the flow handles the failure
		} else {
			n.sent.Inc(outbound(p.Route, e).Channel)
			var body []byte
			if p.Agent != nil {
				body, _ = json.Marshal(struct {
					*engine.SendEffect
					Agent string `json:"agent"`
				}{e.Send, p.Agent.Worker})
			} else {
				body, _ = json.Marshal(e.Send)
			}
			sent = &store.Message{ID: store.NewID(), ConversationID: p.Route.ConversationID, Direction: store.Outbound,
				Connector: p.Route.Connector, Instance: p.Route.Instance, PlatformMessageID: id, Text: e.Send.Text, Payload: body}
		}
	case engine.EffectHTTP:
		res = n.doHTTP(ctx, e.HTTP)
	case engine.EffectFunction:
		res = n.callFunction(ctx, e.Function)
	default:
		err := fmt.Errorf("no connector performs %s effects", e.Kind)
		if e.WaitID == "" {
			n.deadLetter(ctx, row, err)
			return
		}
		res.Err = err.Error() // the flow's failure outcome handles it
	}
	result, _ := json.Marshal(res)
	complete := func(u *store.Unit) {
		u.CompleteEffects = append(u.CompleteEffects, store.EffectResult{ID: row.ID, Result: result})
		if sent != nil {
			u.Messages = append(u.Messages, *sent)
		}
	}
	if e.WaitID == "" {
		unit := &store.Unit{At: n.cfg.Now()}
		complete(unit)
		if _, err := n.committer.Submit(ctx, unit); err != nil {
			if ctx.Err() == nil {
				n.log.Error("completing effect", "effect", row.ID, "err", err)
			}
			return
		}
		if p.Agent != nil && sent != nil {
			n.agentReplyResult(ctx, p, row.ID, sent, nil)
		}
		return
	}
	waitID := e.WaitID
	err := n.resume(ctx, row.ExecutionID, p.Route, p.Event,
		func(ev *engine.Event) { ev.Kind, ev.WaitID, ev.Result = engine.EventResult, waitID, &res }, complete)
	if err != nil && ctx.Err() == nil {
		n.log.Error("recording effect result", "effect", row.ID, "err", err)
	}
}

func (n *Node) send(ctx context.Context, r Route, e engine.Effect) (string, error) {
	ch := n.cfg.Channels[r.Connector+"/"+r.Instance]
	if ch == nil {
		return "", connectors.Permanent(fmt.Errorf("no connector %s/%s is configured", r.Connector, r.Instance))
	}
	out := outbound(r, e)
	return ch.Send(ctx, &out)
}

// doHTTP makes an http step's request. Failures are results, not retries:
// the flow's error outcome decides what happens.
func (n *Node) doHTTP(ctx context.Context, h *engine.HTTPEffect) engine.Result {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	var body io.Reader
	if h.Body != "" {
		body = strings.NewReader(h.Body)
	}
	req, err := http.NewRequestWithContext(ctx, h.Method, h.URL, body)
	if err != nil {
		return engine.Result{Err: err.Error()}
	}
	for k, v := range h.Headers {
		req.Header.Set(k, v)
	}
	if h.ContentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", h.ContentType)
	}
	resp, err := n.cfg.HTTP.Do(req)
	if err != nil {
		return engine.Result{Err: err.Error()}
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(resp.Body, maxBody)); err != nil {
		return engine.Result{Status: resp.StatusCode, Err: err.Error()}
	}
	headers := make(map[string]string, len(resp.Header))
	for k := range resp.Header {
		headers[strings.ToLower(k)] = resp.Header.Get(k)
	}
	return engine.Result{Status: resp.StatusCode, Headers: headers, Body: buf.String()}
}

func (n *Node) callFunction(ctx context.Context, f *engine.FunctionEffect) engine.Result {
	fn := n.cfg.Functions[f.Name]
	if fn == nil {
		if u := n.cfg.FunctionURLs[f.Name]; u != "" {
			return n.callWebhookFunction(ctx, u, f)
		}
		return engine.Result{Err: fmt.Sprintf("function %q is not registered", f.Name)}
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	v, err := fn(ctx, f.Args)
	if err != nil {
		return engine.Result{Err: err.Error()}
	}
	return engine.Result{Value: v}
}

// callWebhookFunction POSTs the args as JSON and takes the JSON answer (a
// 2xx) as the result.
func (n *Node) callWebhookFunction(ctx context.Context, url string, f *engine.FunctionEffect) engine.Result {
	body, err := json.Marshal(f.Args)
	if err != nil {
		return engine.Result{Err: err.Error()}
	}
	res := n.doHTTP(ctx, &engine.HTTPEffect{Method: http.MethodPost, URL: url, Body: string(body), ContentType: "application/json", Timeout: f.Timeout})
	if res.Err != "" {
		return res
	}
	if res.Status < 200 || res.Status > 299 {
		return engine.Result{Err: fmt.Sprintf("function %s answered %d: %.200s", f.Name, res.Status, res.Body)}
	}
	var v any
	if res.Body != "" {
		if err := json.Unmarshal([]byte(res.Body), &v); err != nil {
			return engine.Result{Err: fmt.Sprintf("function %s answered with invalid JSON: %v", f.Name, err)}
		}
	}
	return engine.Result{Value: v}
}

func (n *Node) retry(ctx context.Context, row store.Effect, cause error) {
	wait := n.cfg.RetryBase << min(row.Attempts, 16)
	if wait > 5*time.Minute || wait <= 0 {
		wait = 5 * time.Minute
	}
	if d, ok := connectors.RetryDelay(cause); ok && d > wait {
		wait = d // the platform asked for it (Retry-After)
	}
	if err := n.store.RetryEffect(ctx, row.ID, n.cfg.Now().Add(wait), cause.Error()); err != nil {
		n.log.Error("scheduling retry", "effect", row.ID, "err", err)
	}
}

func (n *Node) deadLetter(ctx context.Context, row store.Effect, cause error) {
	n.log.Warn("effect dead-lettered", "effect", row.ID, "kind", row.Kind, "err", cause)
	if err := n.store.DeadLetter(ctx, row.ID, cause.Error()); err != nil {
		n.log.Error("dead-lettering", "effect", row.ID, "err", err)
	}
}
