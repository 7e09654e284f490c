// Package node is one Switchboard runtime node: it wires the runtime's
// parts on one store. Ingest (runtime/ingest) steps inbound messages
// through the flows and commits them in groups; the outbox
// (runtime/outbox) performs the effects through the effect interpreter
// (runtime/effect) and the timers (runtime/timers) fire durable timers,
// both feeding their results back as events; the router leader
// (runtime/leader) drives the task router; agents (runtime/agents) reply,
// command the router and close conversations. All of them step executions
// through runtime/execution. Several nodes may share one PostgreSQL
// store: leases and the executions' versions keep every effect and every
// event applied once.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/agents"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/ingest"
	"github.com/switchboard-dev/switchboard/runtime/leader"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/outbox"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/timers"
)

// Function is a Go function flows call with `function NAME`.
type Function = outbox.Function

// Config configures a Node. Store and Program are required.
type Config struct {
	Store   store.Store
	Program *compiler.Program // the active program; it is saved if the store lacks it
	Sources []compiler.Source // the program's sources, saved with it
	// Channels delivers outbound messages, by "connector/instance"; one
	// that is also a connectors.CallPerformer performs the voice verbs of
	// its conversations (without one, they are dead-lettered).
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
	// SeparatePhoneContacts keeps senders with the same phone number on
	// SMS, WhatsApp and calls as separate contacts (by default they are one).
	SeparatePhoneContacts bool
	// SeparateEmailContacts keeps senders who give the same email address
	// on two channels (an email, the webchat's pre-chat form) as separate
	// contacts (by default they are one).
	SeparateEmailContacts bool
}

// Node is one runtime node.
type Node struct {
	cfg    Config
	core   *execution.Core
	ingest *ingest.Ingest
	outbox *outbox.Outbox
	leader *leader.Leader
	agents *agents.Agents

	committer *store.GroupCommitter
	signals   *signals // what agents' streams show for a moment
	// New outbox work, new timers.
	outboxWake, timersWake chan struct{}
}

// pruneEvery is how often the node forgets the versions whose last
// executions ended since a deploy (a variable for the tests).
var pruneEvery = 5 * time.Minute

// New starts a node on cfg's store with cfg's program as the active one.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Store == nil || cfg.Program == nil {
		return nil, errors.New("node: Store and Program are required")
	}
	cfg = cfg.withDefaults()
	n := &Node{cfg: cfg, outboxWake: make(chan struct{}, 1), timersWake: make(chan struct{}, 1)}
	n.committer = store.NewGroupCommitter(cfg.Store, store.GroupOptions{MaxBatch: cfg.GroupSize})
	n.core = execution.New(execution.Config{Store: cfg.Store, Committer: n.committer, Env: cfg.Env, StepBudget: cfg.StepBudget,
		Now: cfg.Now, Logger: cfg.Logger, Metrics: cfg.Metrics,
		WakeOutbox: func() { signal(n.outboxWake) }, WakeTimers: func() { signal(n.timersWake) },
		ShowsNotices: func(connector, instance string) bool {
			_, ok := cfg.Channels[connector+"/"+instance].(connectors.Notifier)
			return ok
		}})
	n.agents = agents.New(n.core, agents.Config{EventWebhook: cfg.EventWebhook, HTTP: cfg.HTTP,
		Call: func(ctx context.Context, r effect.Route, a connectors.CallAction) (connectors.CallResult, error) {
			return n.outbox.Call(ctx, r, a)
		}})
	n.ingest = ingest.New(n.core, cfg.Logger, n.agents)
	if cfg.SeparatePhoneContacts {
		n.ingest.SeparatePhones()
	}
	if cfg.SeparateEmailContacts {
		n.ingest.SeparateEmails()
	}
	n.signals = newSignals(cfg.Store)
	n.ingest.OnTyping(n.signals.publish)
	n.leader = leader.New(n.core, leader.Config{Owner: cfg.Owner, Routing: cfg.Routing, EventWebhook: cfg.EventWebhook,
		Retry: cfg.LeaderRetry, Logger: cfg.Logger, Metrics: cfg.Metrics})
	n.outbox = outbox.New(n.core, outbox.Config{Owner: cfg.Owner, Channels: cfg.Channels, Functions: cfg.Functions,
		FunctionURLs: cfg.FunctionURLs, HTTP: cfg.HTTP, MaxAttempts: cfg.MaxAttempts, RetryBase: cfg.RetryBase,
		Handlers: map[string]outbox.Handler{leader.KindRouterEvents: n.agents.DeliverEvents, leader.KindCallConnect: n.agents.Connect,
			effect.KindNotice: func(ctx context.Context, row store.Effect) error { return n.outbox.Notice(ctx, row) }}, Logger: cfg.Logger, Metrics: cfg.Metrics})
	if err := n.core.Deploy(ctx, cfg.Program, cfg.Sources); err != nil {
		n.signals.close()
		return nil, err
	}
	// The first program is held as the active one while it is, not for
	// the node's life (see runtime/execution/programs.go).
	n.cfg.Program, n.cfg.Sources = nil, nil
	return n, nil
}

func (cfg Config) withDefaults() Config {
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
	if cfg.Metrics == nil {
		cfg.Metrics = &metrics.Registry{}
	}
	return cfg
}

// Close stops committing; in-flight Submit calls finish first.
func (n *Node) Close() error {
	n.signals.close()
	return n.committer.Close()
}

// Deploy makes prog the program new conversations start on. Running
// executions stay on the version they started with.
func (n *Node) Deploy(ctx context.Context, prog *compiler.Program, sources []compiler.Source) error {
	return n.core.Deploy(ctx, prog, sources)
}

// Active returns the program new conversations start on.
func (n *Node) Active() *compiler.Program { return n.core.Active() }

// Program returns a stored version's program, compiled again from its
// sources when the node no longer holds it (store.ErrNotFound when no
// such version was deployed).
func (n *Node) Program(ctx context.Context, version string) (*compiler.Program, error) {
	return n.core.Program(ctx, version)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Reaction is what the flow did while handling an inbound message, for
// connectors that answer inline.
type Reaction = ingest.Reaction

// Receive records an inbound message and steps its conversation's flow,
// returning once all of it is durably committed (see ingest.Receive).
func (n *Node) Receive(ctx context.Context, connector, instance string, in connectors.Inbound, inline bool) (*Reaction, error) {
	return n.ingest.Receive(ctx, connector, instance, in, inline)
}

// Run works the outbox and the timers until ctx ends, with workers
// goroutines performing effects (default 8).
func (n *Node) Run(ctx context.Context, workers int) {
	if workers <= 0 {
		workers = 8
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		n.core.PruneLoop(ctx, pruneEvery)
	}()
	go func() {
		defer wg.Done()
		timers.Run(ctx, n.core, n.cfg.Owner, n.cfg.Logger, n.timersWake)
	}()
	n.outbox.Run(ctx, workers, n.outboxWake)
	wg.Wait()
}

// RunRouter competes for the router leadership until ctx ends (see
// leader.Run).
func (n *Node) RunRouter(ctx context.Context) { n.leader.Run(ctx) }

// Leading reports whether this node is the router leader now.
func (n *Node) Leading() bool { return n.leader.Leading() }

// Command asks the router leader to apply a command and waits for its
// result (at most timeout): the leader may be another node.
func (n *Node) Command(ctx context.Context, kind string, args CommandArgs, timeout time.Duration) (json.RawMessage, error) {
	return n.agents.Command(ctx, kind, args, timeout)
}

// Hangup ends the call of a voice task the agent holds (see agents.Hangup).
func (n *Node) Hangup(ctx context.Context, workerID, taskID string) error {
	return n.agents.Hangup(ctx, workerID, taskID)
}

// AgentReply sends an agent's message to the customer of a task the agent
// holds, through the conversation's connector (the outbox delivers it).
func (n *Node) AgentReply(ctx context.Context, workerID, taskID, text string) (string, error) {
	return n.agents.Reply(ctx, workerID, taskID, text)
}

// AgentSend is AgentReply with attachments, the URLs the customer's
// platform fetches them from.
func (n *Node) AgentSend(ctx context.Context, workerID, taskID, text string, media []string) (string, error) {
	return n.agents.Send(ctx, workerID, taskID, text, media)
}

// CloseConversation ends a conversation: its execution is canceled with
// its timers and task, and the customer's next message starts a new one.
func (n *Node) CloseConversation(ctx context.Context, conversationID string) error {
	return n.agents.CloseConversation(ctx, conversationID)
}

// The router's commands and their types, for the API (see runtime/leader).
type (
	RoutingConfig = leader.RoutingConfig
	EventWebhook  = leader.EventWebhook
	CommandArgs   = leader.CommandArgs
	CommandError  = leader.CommandError
)

// Router commands: what the API asks the leader to do.
const (
	CmdPutWorker    = leader.CmdPutWorker
	CmdDeleteWorker = leader.CmdDeleteWorker
	CmdActivity     = leader.CmdActivity
	CmdAccept       = leader.CmdAccept
	CmdReject       = leader.CmdReject
	CmdWrapUp       = leader.CmdWrapUp
	CmdComplete     = leader.CmdComplete
	CmdTransfer     = leader.CmdTransfer
	CmdCancel       = leader.CmdCancel
	CmdStats        = leader.CmdStats
	CmdWaiting      = leader.CmdWaiting
	CmdLoads        = leader.CmdLoads
)

// ErrNoLeader: no router leader applied a command in time.
var ErrNoLeader = agents.ErrNoLeader

// DefaultCapacity is a worker's capacity when none is given.
var DefaultCapacity = leader.DefaultCapacity
