package node

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

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Function is a Go function flows call with `function NAME`.
type Function func(ctx context.Context, args map[string]any) (any, error)

// Config configures a Node. Store and Program are required.
type Config struct {
	Store   store.Store
	Program *compiler.Program // the active program; it is saved if the store lacks it
	Sources []compiler.Source // the program's sources, saved with it
	// Channels delivers outbound messages, by "connector/instance".
	Channels  map[string]connectors.Connector
	Functions map[string]Function
	Env       map[string]string // what flows read as env
	HTTP      *http.Client      // for http steps; default: a client without a global timeout
	Now       func() time.Time  // default time.Now
	Owner     string            // lease owner name; default a random id
	Logger    *slog.Logger
	// MaxAttempts is how many times an effect is tried before it is dead
	// lettered (default 8); the wait between attempts doubles from
	// RetryBase (default 1s), up to 5 minutes.
	MaxAttempts int
	RetryBase   time.Duration
	// GroupSize caps the units of one group commit (default 512).
	GroupSize int
	// FunctionURLs are webhook functions: `function NAME` POSTs its args as
	// JSON to the URL and takes the JSON answer as its result.
	FunctionURLs map[string]string
	// Metrics, when set, receives the node's counters.
	Metrics *metrics.Registry
	// Routing configures the task router (see RunRouter).
	Routing RoutingConfig
	// EventWebhook, when its URL is set, receives the router's event log:
	// every change the leader makes is POSTed as JSON {"events": […]},
	// signed like the custom connector (X-Switchboard-Signature) when Secret
	// is set, through the outbox (retries, dead letters).
	EventWebhook EventWebhook
	// LeaderRetry is how often a node that does not lead tries to take the
	// router leadership (default 2s): a dead leader is replaced this fast.
	LeaderRetry time.Duration
	// StepBudget is how many steps an execution may run without a message
	// from the customer before it fails (default engine.DefaultStepBudget).
	StepBudget int
}

// Node is one runtime node.
type Node struct {
	cfg       Config
	store     store.Store
	committer *store.GroupCommitter
	log       *slog.Logger

	mu        sync.RWMutex
	active    *compiler.Program
	programs  map[string]*compiler.Program // by version, for executions on older versions (programs.go)
	compiling map[string]*compilation      // versions being compiled again

	wake chan struct{} // new outbox work or timers

	leading  atomic.Bool   // this node is the router leader
	deployed chan struct{} // a new program: the router leader switches to it

	sent         *metrics.CounterVec
	failed       *metrics.CounterVec
	stepTime     *metrics.Histogram
	effectRun    *metrics.Histogram
	routerEvents *metrics.CounterVec
	budgetSpent  *metrics.CounterVec

	// stripes serialize the steps of one conversation within this node:
	// its messages apply in arrival order instead of racing on the
	// execution's version. Nodes sharing a store still race, and the
	// version check settles it.
	stripes [1024]sync.Mutex
}

func (n *Node) lock(conversationID string) func() {
	h := uint32(2166136261)
	for i := 0; i < len(conversationID); i++ {
		h = (h ^ uint32(conversationID[i])) * 16777619
	}
	m := &n.stripes[h%uint32(len(n.stripes))]
	m.Lock()
	return m.Unlock
}

// New starts a node on cfg's store with cfg's program as the active one.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Store == nil || cfg.Program == nil {
		return nil, errors.New("node: Store and Program are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	if cfg.Owner == "" {
		cfg.Owner = "node-" + store.NewID()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.LeaderRetry == 0 {
		cfg.LeaderRetry = 2 * time.Second
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.GroupSize == 0 {
		cfg.GroupSize = 512
	}
	n := &Node{cfg: cfg, store: cfg.Store, log: cfg.Logger, programs: map[string]*compiler.Program{}, wake: make(chan struct{}, 1),
		deployed: make(chan struct{}, 1)}
	reg := cfg.Metrics
	if reg == nil {
		reg = &metrics.Registry{}
	}
	n.sent = reg.Counter("switchboard_messages_out_total", "Messages delivered through connectors, by channel.", "channel")
	n.routerEvents = reg.Counter("switchboard_router_events_total", "Router events applied by this node as leader, by type.", "type")
	reg.Gauge("switchboard_router_leader", "1 while this node is the router leader.", "owner", func() map[string]float64 {
		v := 0.0
		if n.leading.Load() {
			v = 1
		}
		return map[string]float64{n.cfg.Owner: v}
	})
	n.failed = reg.Counter("switchboard_effect_failures_total", "Effects that failed (retried or dead-lettered), by kind.", "kind")
	n.budgetSpent = reg.Counter("switchboard_step_budget_exceeded_total",
		"Executions failed because they ran their step budget without a message from the customer, by flow.", "flow")
	n.stepTime = reg.Histogram("switchboard_step_seconds", "Time the engine takes to apply one event.",
		[]float64{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05})
	n.effectRun = reg.Histogram("switchboard_effect_seconds", "Time to perform one effect (send, http, function).",
		[]float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30})
	n.committer = store.NewGroupCommitter(cfg.Store, store.GroupOptions{MaxBatch: cfg.GroupSize})
	if err := n.Deploy(ctx, cfg.Program, cfg.Sources); err != nil {
		return nil, err
	}
	// The first program is held as the active one while it is, not for
	// the node's life (see programs.go).
	n.cfg.Program, n.cfg.Sources = nil, nil
	return n, nil
}

// Close stops committing; in-flight Submit calls finish first.
func (n *Node) Close() error { return n.committer.Close() }

// Deploy makes prog the program new conversations start on. Running
// executions stay on the version they started with.
func (n *Node) Deploy(ctx context.Context, prog *compiler.Program, sources []compiler.Source) error {
	blob, err := json.Marshal(sources)
	if err != nil {
		return err
	}
	if err := n.store.SaveProgram(ctx, prog.Version, blob, true); err != nil {
		return fmt.Errorf("node: saving program %s: %w", prog.Version, err)
	}
	n.mu.Lock()
	n.active = prog
	n.programs[prog.Version] = prog
	n.mu.Unlock()
	select {
	case n.deployed <- struct{}{}:
	default:
	}
	n.prune(ctx)
	return nil
}

// committed wakes whoever has work from a committed unit: the outbox
// workers, and the router leader for new or canceled tasks.
func (n *Node) committed(ctx context.Context, u *store.Unit) {
	if len(u.Effects) > 0 || len(u.Timers) > 0 {
		n.signal()
	}
	if len(u.Tasks) > 0 || len(u.TaskUpdates) > 0 {
		if notifier, ok := n.store.(store.Notifier); ok {
			if err := notifier.Notify(ctx, store.TopicRouter); err != nil {
				n.log.Warn("waking the router", "err", err) // it polls too
			}
		}
	}
}

// Active returns the program new conversations start on.
func (n *Node) Active() *compiler.Program {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.active
}

// program returns the program of a version, compiling it from the store's
// copy of its sources when the node does not hold it (see programs.go).
func (n *Node) program(ctx context.Context, version string) (*compiler.Program, error) {
	n.mu.RLock()
	p := n.programs[version]
	n.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	return n.recompile(ctx, version)
}

func (n *Node) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Reaction is what the flow did while handling an inbound message, for
// connectors that answer inline.
type Reaction struct {
	Replies  []connectors.Outbound
	Enqueued []engine.EnqueueEffect
}

// maxConflicts bounds the retries of a step whose execution changed under
// it (another node, or an effect result, committed first).
const maxConflicts = 8

// Receive records an inbound message and steps its conversation's flow,
// returning once all of it is durably committed: only then may the
// webhook be acknowledged. A redelivered message is recognised by its
// platform id and does nothing twice.
//
// A new contact and a new conversation are created by the message's own
// unit, in the group-committed transaction: a message from a new contact
// costs no transaction of its own. When a concurrent message created the
// same contact or conversation first, the unit is a Conflict and Receive
// looks them up again.
func (n *Node) Receive(ctx context.Context, connector, instance string, in connectors.Inbound, inline bool) (*Reaction, error) {
	in = cleanInbound(in)
	payload, _ := json.Marshal(in)
	msgID := store.NewID()
	cmsg := &compiler.Message{ID: msgID, Channel: in.Channel, From: in.From, To: in.To, Text: in.Text, Media: in.Media, Attributes: in.Attributes}
	checked := false // FindMessage was asked
	lastConv := ""
	for attempt := 0; attempt < maxConflicts; attempt++ {
		r, convID, done, err := n.receiveOnce(ctx, connector, instance, in, inline, payload, msgID, cmsg, &checked, attempt == 0)
		if done || err != nil {
			return r, err
		}
		lastConv = convID
	}
	return nil, fmt.Errorf("node: conversation %s kept changing; gave up after %d attempts", lastConv, maxConflicts)
}

// receiveOnce is one attempt of Receive: done is false after a Conflict
// (look up and step again).
func (n *Node) receiveOnce(ctx context.Context, connector, instance string, in connectors.Inbound, inline bool,
	payload []byte, msgID string, cmsg *compiler.Message, checked *bool, first bool) (r *Reaction, convID string, done bool, err error) {
	now := n.cfg.Now()
	var newContact *store.NewContact
	var newConv *store.NewConversation
	contact, err := n.lookupContact(ctx, in.Channel, in.From, first)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A new contact: it has no conversation, no execution, and no
		// stored message (the unit's Inbound dedupe still guards that).
		at := store.Micro(now)
		newContact = &store.NewContact{ID: store.NewID(), Name: in.FromName, Channel: in.Channel, Address: in.From}
		contact = store.Contact{ID: newContact.ID, Name: in.FromName, Attributes: json.RawMessage("{}"),
			Addresses: []store.Address{{Channel: in.Channel, Address: in.From}}, CreatedAt: at}
	case err != nil:
		return nil, "", true, err
	default:
		if in.PlatformID != "" && !*checked {
			*checked = true
			if first, err := n.store.FindMessage(ctx, connector, instance, in.PlatformID); err == nil {
				r, err := n.replay(ctx, first, inline) // delivered before: answer as the first time
				return r, "", true, err
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, "", true, err
			}
		}
	}
	var conv store.Conversation
	if newContact == nil {
		conv, err = n.store.LookupConversation(ctx, contact.ID, in.Channel, instance)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, "", true, err
		}
	}
	if newContact != nil || err != nil { // no open conversation: the unit opens one
		at := store.Micro(now)
		newConv = &store.NewConversation{ID: store.NewID(), ContactID: contact.ID, Channel: in.Channel, Instance: instance}
		conv = store.Conversation{ID: newConv.ID, ContactID: contact.ID, Channel: in.Channel, Instance: instance,
			Status: store.ConversationOpen, Attributes: json.RawMessage("{}"), CreatedAt: at, UpdatedAt: at}
	}

	msg := &store.Message{ID: msgID, ConversationID: conv.ID, Direction: store.Inbound, Connector: connector,
		Instance: instance, PlatformMessageID: in.PlatformID, Text: in.Text, Payload: payload}
	route := Route{ConversationID: conv.ID, ContactID: contact.ID, Connector: connector, Instance: instance, Channel: in.Channel, Address: in.From}
	tmpl := EventTemplate{Contact: compilerContact(contact), Conversation: compilerConversation(conv)}
	defer n.lock(conv.ID)()

	ev := engine.Event{Now: now, Env: n.cfg.Env, StepBudget: n.cfg.StepBudget, Contact: tmpl.Contact, Conversation: tmpl.Conversation, Message: cmsg}
	unit := &store.Unit{At: now}
	var replies []engine.Effect
	var agentTask string // the execution waits for this routed task
	var fails failure    // the execution fails in this unit
	live := store.Execution{}
	err = store.ErrNotFound // a new conversation has no execution
	if newConv == nil {
		live, err = n.store.LiveExecution(ctx, conv.ID)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		prog := n.Active()
		if f := pickFlow(prog, compiler.TriggerMessage, in.Channel); f != nil {
			ev.Kind = engine.EventStart
			began := time.Now()
			x, effects, err := engine.Start(prog, f.Name, store.NewID(), ev)
			n.stepTime.Observe(time.Since(began).Seconds())
			if err != nil {
				return nil, "", true, err
			}
			fails = failureOf(x, effects)
			if unit, replies, err = plan(x, 0, conv.ID, route, tmpl, effects, now, inline, msg.ID); err != nil {
				return nil, "", true, err
			}
		}
	case err != nil:
		return nil, "", true, err
	default:
		x, prog, err := n.load(ctx, live)
		if err != nil {
			return nil, "", true, err
		}
		if x.Wait != nil && x.Wait.Kind == engine.WaitTask {
			agentTask = x.Wait.Task
		}
		ev.Kind = engine.EventInbound
		began := time.Now()
		next, effects, err := engine.Step(prog, x, ev)
		n.stepTime.Observe(time.Since(began).Seconds())
		if err != nil {
			return nil, "", true, err
		}
		if next != x { // the execution took the message
			fails = failureOf(next, effects)
			if unit, replies, err = plan(next, live.Version, conv.ID, route, tmpl, effects, now, inline, msg.ID); err != nil {
				return nil, "", true, err
			}
		}
	}
	unit.Contact, unit.Conversation = newContact, newConv
	unit.Inbound = msg
	res, err := n.committer.Submit(ctx, unit)
	if err != nil {
		return nil, "", true, err
	}
	switch res.Outcome {
	case store.Committed:
		n.committed(ctx, unit)
		n.reportFailure(fails)
		if agentTask != "" && len(unit.TaskUpdates) == 0 {
			n.toAgent(ctx, agentTask, msg)
		}
		return reaction(replies, unit, route), conv.ID, true, nil
	case store.Duplicate: // a concurrent delivery of the same message won
		first, err := n.store.FindMessage(ctx, connector, instance, in.PlatformID)
		if err != nil {
			return &Reaction{}, "", true, nil
		}
		r, err := n.replay(ctx, first, inline)
		return r, "", true, err
	case store.Conflict: // the execution moved, or the contact or conversation was created meanwhile
		return nil, conv.ID, false, nil
	default:
		return nil, "", true, fmt.Errorf("node: storing message: %v", res.Err)
	}
}

// failure is an execution that failed in a step, with why.
type failure struct {
	x   *engine.Execution
	end *engine.EndEffect
}

func failureOf(x *engine.Execution, effects []engine.Effect) failure {
	for _, e := range effects {
		if e.Kind == engine.EffectEnd && e.End.Status == engine.StatusFailed {
			return failure{x, e.End}
		}
	}
	return failure{}
}

// reportFailure reports a committed failure: the reason is stored with the
// execution (GET /v1/executions/{id}); operators also see it in the log,
// and a spent step budget (a flow looping on its own) in the metrics.
func (n *Node) reportFailure(f failure) {
	if f.end == nil {
		return
	}
	n.log.Warn("execution failed", "execution", f.x.ID, "flow", f.x.Flow, "reason", f.end.Reason)
	if f.end.Code == engine.CodeStepBudget {
		n.budgetSpent.Inc(f.x.Flow)
	}
}

// lookupContact is LookupContact, skipped on the first attempt when the
// store knows the address is new (store.AddressFilter): after a Conflict
// the address may have been stored by another process, so it is looked up.
func (n *Node) lookupContact(ctx context.Context, channel, address string, first bool) (store.Contact, error) {
	if f, ok := n.store.(store.AddressFilter); ok && first && !f.MayHaveAddress(channel, address) {
		return store.Contact{}, store.ErrNotFound
	}
	return n.store.LookupContact(ctx, channel, address)
}

// replay rebuilds the inline answer given to a message's first delivery,
// so an answer lost on the way is not lost for good. Tasks are not
// repeated: the first answer reported them.
func (n *Node) replay(ctx context.Context, first store.Message, inline bool) (*Reaction, error) {
	r := &Reaction{}
	if !inline {
		return r, nil
	}
	msgs, _, err := n.store.ListMessages(ctx, first.ConversationID, store.Page{Newest: true, Limit: 200})
	if err != nil {
		return nil, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		var ir inlineReply
		if m.Direction != store.Outbound || json.Unmarshal(m.Payload, &ir) != nil || ir.InReplyTo != first.ID {
			continue
		}
		out := connectors.Outbound{Key: ir.Key, Channel: ir.Send.Channel, To: ir.Send.To, Text: ir.Send.Text,
			Media: ir.Send.Media, ConversationID: first.ConversationID}
		r.Replies = append(r.Replies, out)
	}
	return r, nil
}

func reaction(replies []engine.Effect, u *store.Unit, route Route) *Reaction {
	r := &Reaction{}
	for _, e := range replies {
		r.Replies = append(r.Replies, outbound(route, e))
	}
	for _, t := range u.Tasks {
		var attrs map[string]any
		_ = json.Unmarshal(t.Attributes, &attrs)
		r.Enqueued = append(r.Enqueued, engine.EnqueueEffect{TaskID: t.ID, Workflow: t.Workflow, Attributes: attrs, Priority: float64(t.Priority)})
	}
	return r
}

// load decodes a stored execution and finds its program.
func (n *Node) load(ctx context.Context, row store.Execution) (*engine.Execution, *compiler.Program, error) {
	var x engine.Execution
	if err := json.Unmarshal(row.Payload, &x); err != nil {
		return nil, nil, fmt.Errorf("node: execution %s: %w", row.ID, err)
	}
	prog, err := n.program(ctx, row.ProgramVersion)
	if err != nil {
		return nil, nil, err
	}
	return &x, prog, nil
}

// outbound addresses a send effect: by default to the contact, on the
// conversation's channel.
func outbound(r Route, e engine.Effect) connectors.Outbound {
	to, channel := e.Send.To, e.Send.Channel
	if to == "" {
		to = r.Address
	}
	if channel == "" {
		channel = r.Channel
	}
	return connectors.Outbound{Key: e.Key, Channel: channel, To: to, Text: e.Send.Text, Media: e.Send.Media, ConversationID: r.ConversationID}
}

func compilerContact(c store.Contact) compiler.Contact {
	out := compiler.Contact{ID: c.ID, Name: c.Name, Addresses: map[string]string{}}
	_ = json.Unmarshal(c.Attributes, &out.Attributes)
	for _, a := range c.Addresses {
		out.Addresses[a.Channel] = a.Address
	}
	return out
}

func compilerConversation(c store.Conversation) compiler.Conversation {
	out := compiler.Conversation{ID: c.ID, Channel: c.Channel}
	_ = json.Unmarshal(c.Attributes, &out.Attributes)
	return out
}
