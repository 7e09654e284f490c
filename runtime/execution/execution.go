// Package execution runs the flows' executions on the store: it holds the
// compiled programs by version, loads a stored execution, steps it through
// the engine, records the step as one unit of the group commit
// (effect.Plan) and wakes whoever has work from it. Ingest, the outbox,
// the timers, the agents' commands and the router leader all step
// executions through it; the stripes of per-conversation locks make the
// steps of one conversation apply in order within a node, and the
// executions' versions settle races between nodes sharing a store.
package execution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Config configures a Core. Store and Committer are required.
type Config struct {
	Store      store.Store
	Committer  *store.GroupCommitter
	Env        map[string]string // what flows read as env
	StepBudget int               // see engine.Event.StepBudget
	Now        func() time.Time
	Logger     *slog.Logger
	Metrics    *metrics.Registry
	// WakeOutbox and WakeTimers are called when a committed unit holds
	// outbox work or timers: only the loop with new work polls the store
	// at once, so a commit does not set two writers racing for SQLite's
	// write lock.
	WakeOutbox, WakeTimers func()
	// ShowsNotices tells whether a connector instance shows notices
	// (connectors.Notifier); nil: every one does. The others get no
	// notice rows, which would cost a commit and a read each for nothing.
	ShowsNotices func(connector, instance string) bool
}

// Core steps stored executions; it is shared by the runtime's parts.
type Core struct {
	cfg   Config
	store store.Store
	log   *slog.Logger

	mu        sync.RWMutex
	active    *compiler.Program
	programs  map[string]*compiler.Program // by version, for executions on older versions (programs.go)
	compiling map[string]*compilation      // versions being compiled again

	deployed chan struct{} // a new program: the router leader switches to it

	stepTime    *metrics.Histogram
	budgetSpent *metrics.CounterVec

	// stripes serialize the steps of one conversation within this node:
	// its messages apply in arrival order instead of racing on the
	// execution's version. Nodes sharing a store still race, and the
	// version check settles it.
	stripes [1024]sync.Mutex
}

// New returns a Core without a program: Deploy gives it one.
func New(cfg Config) *Core {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.WakeOutbox == nil {
		cfg.WakeOutbox = func() {}
	}
	if cfg.WakeTimers == nil {
		cfg.WakeTimers = func() {}
	}
	reg := cfg.Metrics
	if reg == nil {
		reg = &metrics.Registry{}
	}
	c := &Core{cfg: cfg, store: cfg.Store, log: cfg.Logger, programs: map[string]*compiler.Program{}, deployed: make(chan struct{}, 1)}
	c.budgetSpent = reg.Counter("switchboard_step_budget_exceeded_total",
		"Executions failed because they ran their step budget without a message from the customer, by flow.", "flow")
	c.stepTime = reg.Histogram("switchboard_step_seconds", "Time the engine takes to apply one event.",
		[]float64{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05})
	return c
}

// Store is the store the executions live in.
func (c *Core) Store() store.Store { return c.store }

// Now is the runtime's clock.
func (c *Core) Now() time.Time { return c.cfg.Now() }

// Submit adds a unit to the group commit and waits for its outcome.
func (c *Core) Submit(ctx context.Context, u *store.Unit) (store.UnitResult, error) {
	return c.cfg.Committer.Submit(ctx, u)
}

// Lock serializes the steps of a conversation within this node; call the
// returned function to unlock.
func (c *Core) Lock(conversationID string) func() {
	h := uint32(2166136261)
	for i := 0; i < len(conversationID); i++ {
		h = (h ^ uint32(conversationID[i])) * 16777619
	}
	m := &c.stripes[h%uint32(len(c.stripes))]
	m.Lock()
	return m.Unlock
}

// Deployed is signalled after each Deploy.
func (c *Core) Deployed() <-chan struct{} { return c.deployed }

// Deploy makes prog the program new conversations start on. Running
// executions stay on the version they started with.
func (c *Core) Deploy(ctx context.Context, prog *compiler.Program, sources []compiler.Source) error {
	blob, err := json.Marshal(sources)
	if err != nil {
		return err
	}
	if err := c.store.SaveProgram(ctx, prog.Version, blob, true); err != nil {
		return fmt.Errorf("node: saving program %s: %w", prog.Version, err)
	}
	c.mu.Lock()
	c.active = prog
	c.programs[prog.Version] = prog
	c.mu.Unlock()
	select {
	case c.deployed <- struct{}{}:
	default:
	}
	c.prune(ctx)
	return nil
}

// Active returns the program new conversations start on.
func (c *Core) Active() *compiler.Program {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.active
}

// Program returns the program of a version, compiling it from the store's
// copy of its sources when the node does not hold it (see programs.go).
func (c *Core) Program(ctx context.Context, version string) (*compiler.Program, error) {
	c.mu.RLock()
	p := c.programs[version]
	c.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	return c.recompile(ctx, version)
}

// Event returns an event of the runtime's context for a conversation.
func (c *Core) Event(now time.Time, tmpl effect.EventTemplate) engine.Event {
	return engine.Event{Now: now, Env: c.cfg.Env, StepBudget: c.cfg.StepBudget, Contact: tmpl.Contact, Conversation: tmpl.Conversation}
}

// Start starts a new execution of flow, timing the engine.
func (c *Core) Start(prog *compiler.Program, flow string, ev engine.Event) (*engine.Execution, []engine.Effect, error) {
	began := time.Now()
	x, effects, err := engine.Start(prog, flow, store.NewID(), ev)
	c.stepTime.Observe(time.Since(began).Seconds())
	return x, effects, err
}

// Step applies an event to an execution, timing the engine.
func (c *Core) Step(prog *compiler.Program, x *engine.Execution, ev engine.Event) (*engine.Execution, []engine.Effect, error) {
	began := time.Now()
	next, effects, err := engine.Step(prog, x, ev)
	c.stepTime.Observe(time.Since(began).Seconds())
	return next, effects, err
}

// Committed wakes whoever has work from a committed unit: the outbox
// workers and the timers, and the router leader for new or canceled tasks.
func (c *Core) Committed(ctx context.Context, u *store.Unit) {
	if len(u.Effects) > 0 {
		c.cfg.WakeOutbox()
	}
	if len(u.Timers) > 0 {
		c.cfg.WakeTimers()
	}
	if len(u.Tasks) > 0 || len(u.TaskUpdates) > 0 {
		if notifier, ok := c.store.(store.Notifier); ok {
			if err := notifier.Notify(ctx, store.TopicRouter); err != nil {
				c.log.Warn("waking the router", "err", err) // it polls too
			}
		}
	}
}

// WakeOutbox tells the outbox there is new work.
func (c *Core) WakeOutbox() { c.cfg.WakeOutbox() }

// Failure is an execution that failed in a step, with why.
type Failure struct {
	x   *engine.Execution
	end *engine.EndEffect
}

// FailureOf finds a step's failure, if it failed.
func FailureOf(x *engine.Execution, effects []engine.Effect) Failure {
	for _, e := range effects {
		if e.Kind == engine.EffectEnd && e.End.Status == engine.StatusFailed {
			return Failure{x, e.End}
		}
	}
	return Failure{}
}

// Report reports a committed failure: the reason is stored with the
// execution (GET /v1/executions/{id}); operators also see it in the log,
// and a spent step budget (a flow looping on its own) in the metrics.
func (c *Core) Report(f Failure) {
	if f.end == nil {
		return
	}
	c.log.Warn("execution failed", "execution", f.x.ID, "flow", f.x.Flow, "reason", f.end.Reason)
	if f.end.Code == engine.CodeStepBudget {
		c.budgetSpent.Inc(f.x.Flow)
	}
}

// Load decodes a stored execution and finds its program.
func (c *Core) Load(ctx context.Context, row store.Execution) (*engine.Execution, *compiler.Program, error) {
	var x engine.Execution
	if err := json.Unmarshal(row.Payload, &x); err != nil {
		return nil, nil, fmt.Errorf("node: execution %s: %w", row.ID, err)
	}
	prog, err := c.Program(ctx, row.ProgramVersion)
	if err != nil {
		return nil, nil, err
	}
	return &x, prog, nil
}

// MaxConflicts bounds the retries of a step whose execution changed under
// it (another node, or an effect result, committed first).
const MaxConflicts = 8

// Resume applies an event to a stored execution and commits the result
// with extra (the fired timer's deletion, the effect's completion). When
// the execution has moved on, the event is stale: only extra is committed.
func (c *Core) Resume(ctx context.Context, execID string, route effect.Route, tmpl effect.EventTemplate, set func(*engine.Event), extra func(*store.Unit)) error {
	defer c.Lock(route.ConversationID)()
	for attempt := 0; attempt < MaxConflicts; attempt++ {
		now := c.cfg.Now()
		unit, fails, err := c.resumeUnit(ctx, execID, route, tmpl, now, set)
		if err != nil {
			return err
		}
		extra(unit)
		res, err := c.Submit(ctx, unit)
		if err != nil {
			return err
		}
		switch res.Outcome {
		case store.Committed, store.Duplicate:
			c.Committed(ctx, unit)
			if res.Outcome == store.Committed {
				c.Report(fails)
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

// EndConversation cancels the conversation's execution (its timers and
// open task with it) and closes the conversation, with extra in the same
// unit: the customer left, an agent closed it, its call turned out over.
func (c *Core) EndConversation(ctx context.Context, execID string, route effect.Route, tmpl effect.EventTemplate, extra func(*store.Unit)) error {
	return c.Resume(ctx, execID, route, tmpl, func(ev *engine.Event) { ev.Kind = engine.EventCancel }, func(u *store.Unit) {
		u.CloseConversations = append(u.CloseConversations, route.ConversationID)
		if route.Channel != connectors.ChannelVoice && !c.Quiet(route) {
			u.Effects = append(u.Effects, effect.NoticeRow(effect.NoticePayload{Kind: connectors.NoticeClosed, Conversation: route.ConversationID}))
		}
		if extra != nil {
			extra(u)
		}
	})
}

// resumeUnit is one attempt of Resume before extra: the unit recording
// the step, empty when the execution is gone or has ended.
func (c *Core) resumeUnit(ctx context.Context, execID string, route effect.Route, tmpl effect.EventTemplate, now time.Time,
	set func(*engine.Event)) (*store.Unit, Failure, error) {
	unit := &store.Unit{At: now}
	row, err := c.store.GetExecution(ctx, execID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return unit, Failure{}, nil
	case err != nil:
		return nil, Failure{}, err
	case !row.Status.Live():
		return unit, Failure{}, nil
	}
	x, prog, err := c.Load(ctx, row)
	if err != nil {
		return nil, Failure{}, err
	}
	ev := c.Event(now, tmpl)
	set(&ev)
	next, effects, err := c.Step(prog, x, ev)
	if err != nil && !errors.Is(err, engine.ErrEnded) {
		return nil, Failure{}, err
	}
	if next == x {
		return unit, Failure{}, nil
	}
	route.ConversationID = row.ConversationID
	unit, _, err = effect.Plan(effect.Step{Execution: next, Expected: row.Version, Effects: effects, Route: route, Event: tmpl, At: now,
		Quiet: c.Quiet(route)})
	return unit, FailureOf(next, effects), err
}

// RouteFor rebuilds the route and event context of a conversation, for
// work that starts outside an inbound message (a task's outcome, an
// agent's reply): the connector is the one its latest message came through.
func (c *Core) RouteFor(ctx context.Context, conversationID string) (effect.Route, effect.EventTemplate, error) {
	conv, err := c.store.GetConversation(ctx, conversationID)
	if err != nil {
		return effect.Route{}, effect.EventTemplate{}, err
	}
	contact, err := c.store.GetContact(ctx, conv.ContactID)
	if err != nil {
		return effect.Route{}, effect.EventTemplate{}, err
	}
	route := effect.Route{ConversationID: conv.ID, ContactID: contact.ID, Connector: conv.Channel, Instance: conv.Instance, Channel: conv.Channel}
	msgs, _, err := c.store.ListMessages(ctx, conv.ID, store.Page{Newest: true, Limit: 20})
	if err != nil {
		return effect.Route{}, effect.EventTemplate{}, err
	}
	for _, m := range msgs {
		if m.Direction == store.Inbound {
			route.Connector, route.Instance = m.Connector, m.Instance
			var in struct{ Thread string }
			_ = json.Unmarshal(m.Payload, &in) // the connectors.Inbound it came as
			route.Thread = in.Thread
			break
		}
	}
	for _, a := range contact.Addresses {
		if a.Channel == conv.Channel {
			route.Address = a.Address
			break
		}
	}
	return route, effect.EventTemplate{Contact: ContactOf(contact), Conversation: ConversationOf(conv)}, nil
}

// Quiet tells whether the route's channel shows no notices
// (Config.ShowsNotices).
func (c *Core) Quiet(r effect.Route) bool {
	return c.cfg.ShowsNotices != nil && !c.cfg.ShowsNotices(r.Connector, r.Instance)
}

// ContactOf is a stored contact as flows see it.
func ContactOf(c store.Contact) compiler.Contact {
	out := compiler.Contact{ID: c.ID, Name: c.Name, Addresses: map[string]string{}}
	_ = json.Unmarshal(c.Attributes, &out.Attributes)
	for _, a := range c.Addresses {
		out.Addresses[a.Channel] = a.Address
	}
	return out
}

// ConversationOf is a stored conversation as flows see it.
func ConversationOf(c store.Conversation) compiler.Conversation {
	out := compiler.Conversation{ID: c.ID, Channel: c.Channel}
	_ = json.Unmarshal(c.Attributes, &out.Attributes)
	return out
}
