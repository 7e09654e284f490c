// Package agents is what agents and admins do to conversations through
// the runtime: router commands (applied by the router leader, wherever it
// runs, and awaited here), an agent's reply to the customer (through the
// outbox), closing a conversation, and the delivery of the router's event
// log to the event webhook.
package agents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/hmacsig"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/leader"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Config configures Agents.
type Config struct {
	// EventWebhook is where DeliverEvents POSTs the router's events.
	EventWebhook leader.EventWebhook
	HTTP         *http.Client
	// Call performs a call's script through the conversation's connector
	// (the outbox's Call); RingTimeout is how long an agent's phone rings
	// (0: the connector's default).
	Call        func(ctx context.Context, r effect.Route, a connectors.CallAction) (connectors.CallResult, error)
	RingTimeout time.Duration
}

// Agents acts on the conversations of core for agents and admins.
type Agents struct {
	cfg   Config
	core  *execution.Core
	store store.Store
}

// New returns the Agents of the node of core.
func New(core *execution.Core, cfg Config) *Agents {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	return &Agents{cfg: cfg, core: core, store: core.Store()}
}

// Command asks the router leader to apply a command and waits for its
// result (at most timeout): the leader may be another node.
func (a *Agents) Command(ctx context.Context, kind string, args leader.CommandArgs, timeout time.Duration) (json.RawMessage, error) {
	seq, err := a.store.SubmitCommand(ctx, store.Command{Kind: kind, Args: mustJSON(args)})
	if err != nil {
		return nil, err
	}
	// Subscribed after submitting (the seq names the answer's wake-up); an
	// answer in between is found by the first read below.
	var wake <-chan struct{}
	if notifier, ok := a.store.(store.Notifier); ok {
		ch, cancel := notifier.Subscribe(store.TopicEvents, store.CommandParty(seq))
		defer cancel()
		wake = ch
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := a.store.GetCommand(ctx, seq)
		if err != nil {
			return nil, err
		}
		switch c.Status {
		case store.CommandDone:
			return c.Result, nil
		case store.CommandFailed:
			code, msg, ok := strings.Cut(c.Error, ": ")
			if !ok {
				code, msg = "invalid", c.Error
			}
			return nil, &leader.CommandError{Code: code, Msg: msg}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, ErrNoLeader
		case <-wake:
		case <-tick.C:
		}
	}
}

// ErrNoLeader: no router leader applied a command in time.
var ErrNoLeader = errors.New("node: the router did not answer in time (is a router leader running?)")

// Reply sends an agent's message to the customer of a task the agent
// holds, through the conversation's connector (the outbox delivers it).
func (a *Agents) Reply(ctx context.Context, workerID, taskID, text string) (string, error) {
	return a.Send(ctx, workerID, taskID, text, nil)
}

// Send is Reply with attachments: media are the URLs the customer's
// platform fetches them from (a connector without media sends their links).
func (a *Agents) Send(ctx context.Context, workerID, taskID, text string, media []string) (string, error) {
	t, err := a.store.GetTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	if workerID != "" && t.WorkerID != workerID {
		return "", leader.Refuse("forbidden", "task %q is not yours", taskID)
	}
	if t.Status != store.TaskAssigned && t.Status != store.TaskWrapping {
		return "", leader.Refuse("conflict", "task %q is %s: replies go to assigned tasks", taskID, t.Status)
	}
	route, tmpl, err := a.core.RouteFor(ctx, t.ConversationID)
	if err != nil {
		return "", err
	}
	e := engine.Effect{Kind: engine.EffectSend, Key: store.NewID(), Send: &engine.SendEffect{Text: text, Media: media}}
	op := mustJSON(effect.OutboxPayload{Route: route, Effect: e, Event: tmpl, Agent: &effect.AgentReplyOf{Worker: t.WorkerID, Task: t.ID}})
	unit := &store.Unit{At: a.core.Now(), Effects: []store.Effect{{ID: e.Key, Kind: string(e.Kind), IdempotencyKey: e.Key, Payload: op}}}
	res, err := a.core.Submit(ctx, unit)
	if err != nil {
		return "", err
	}
	if res.Outcome != store.Committed {
		return "", fmt.Errorf("node: storing the reply: %v", res.Err)
	}
	a.core.WakeOutbox()
	return e.Key, nil
}

// DeliverEvents POSTs a batch of the router's events to the event webhook:
// the outbox's Handler for leader.KindRouterEvents rows, which retries it.
func (a *Agents) DeliverEvents(ctx context.Context, row store.Effect) error {
	var d leader.EventDelivery
	if err := json.Unmarshal(row.Payload, &d); err != nil {
		return connectors.Permanent(fmt.Errorf("unreadable event delivery: %w", err))
	}
	body := mustJSON(map[string]any{"events": d.Events})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return connectors.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", row.IdempotencyKey)
	if secret := a.cfg.EventWebhook.Secret; secret != "" {
		hmacsig.SignHeader(req.Header, secret, a.core.Now(), body)
	}
	resp, err := a.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("event webhook answered %s", resp.Status)
	}
	return nil
}

// CloseConversation ends a conversation (the customer left, an agent or an
// admin resolved it): its running execution is canceled — with its timers
// and its open task, whose agent's reservation is withdrawn — and the
// conversation is closed, so the customer's next message starts a new one.
func (a *Agents) CloseConversation(ctx context.Context, conversationID string) error {
	conv, err := a.store.GetConversation(ctx, conversationID)
	if err != nil {
		return err
	}
	if conv.Status == store.ConversationClosed {
		return nil
	}
	route, tmpl, err := a.core.RouteFor(ctx, conversationID)
	if err != nil {
		return err
	}
	execID := ""
	switch live, err := a.store.LiveExecution(ctx, conversationID); {
	case err == nil:
		execID = live.ID
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return a.core.EndConversation(ctx, execID, route, tmpl, nil)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps and structs of plain values are encoded here
	}
	return b
}
