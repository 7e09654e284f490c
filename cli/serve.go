package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	_ "github.com/switchboard-dev/switchboard/connectors/all" // every connector registers itself
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/leader/policy"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/pull"
	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/postgres" // several nodes on one database
	_ "github.com/switchboard-dev/switchboard/runtime/store/sqlite"   // the embedded default store
)

type serveOptions struct {
	addr       string
	storeURL   string
	publicURL  string
	watch      bool
	workers    int
	connectors []string
	functions  []string

	eventWebhook       string
	eventWebhookSecret string
	reservationTimeout time.Duration
	wrapUp             time.Duration
	activities         []string
	missedOffers       int
	reofferAfter       time.Duration
	drainTimeout       time.Duration
	env                []string
	stepBudget         int
	separatePhones     bool
	separateEmails     bool
	attachmentDir      string
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [dir]",
		Short: "Run the flows of a directory: webhooks, admin API and workers",
		Long: `Serve compiles the .flow files of dir (default: the current directory) and
runs them: connectors' webhooks arrive at /v1/webhooks/{connector}/{instance},
each message is stepped through its conversation's flow, and what the flow
decides (replies, HTTP calls, tasks, timers) is stored in the same
transaction as the message before the webhook is answered. Workers then
perform the effects, with retries.

The store is ./switchboard.db (SQLite) unless --store names another:
sqlite:PATH, or postgres://… for several nodes sharing one database.

On first start serve creates an admin token, prints it once, and stores only
its hash. Flows read as env only the variables --env exposes: --env NAME
passes the process's variable NAME, --env NAME=VALUE sets one. BOT_URL
defaults to a small built-in demo bot so the example flows answer out of
the box. A variable a connector reads as a secret (env:NAME) cannot be
exposed.

Connectors are configured with --connector, once per instance:
  --connector 'custom/default,secret=env:CUSTOM_SECRET,outbound_url=https://…'
A value env:NAME is read from the environment, so secrets stay out of flags.

An execution that runs --step-budget steps without a message from the
customer (a flow looping on a failing request) fails, and a request step
that keeps failing waits longer after each failure before it tries again
(1s, 2s, 4s… up to a minute).`,
		Example: `  # Run the example flows on the embedded store
  switchboard serve flows/

  # A custom channel, reloading flows when they change
  CUSTOM_SECRET=s3cret switchboard serve --watch --connector 'custom/default,secret=env:CUSTOM_SECRET' flows/

  # Flows read env.CRM_URL and env.CRM_TOKEN, and nothing else of the environment
  switchboard serve --env CRM_URL=https://crm.example.com --env CRM_TOKEN flows/`,
		Args: argsUsage(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cmd, dir, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", ":8080", "address to listen on")
	f.StringVar(&o.storeURL, "store", "sqlite:switchboard.db", "store: sqlite:PATH or postgres://…")
	f.StringVar(&o.publicURL, "public-url", "", "base URL platforms reach this server at (default: from each request's Host)")
	f.StringVar(&o.attachmentDir, "attachments", "", "directory keeping the files agents send to customers (default: one under the system's temporary directory)")
	f.BoolVar(&o.watch, "watch", false, "recompile and deploy the flows when their files change")
	f.IntVar(&o.workers, "workers", 16, "effects the outbox performs at once (sends, http steps, functions); recording their results takes none")
	f.StringArrayVar(&o.connectors, "connector", nil, "a connector instance: NAME/INSTANCE,key=value,… (repeatable)")
	f.StringArrayVar(&o.functions, "function", nil, "a webhook function: NAME=URL; `function NAME` POSTs its args there (repeatable)")
	f.StringVar(&o.eventWebhook, "event-webhook", "", "URL that receives the router's event log as signed JSON POSTs")
	f.StringVar(&o.eventWebhookSecret, "event-webhook-secret", "", "secret signing the event webhook (env:NAME reads the environment)")
	f.DurationVar(&o.reservationTimeout, "reservation-timeout", policy.DefaultReservationTimeout, "how long an agent has to accept an offer before it goes to the next")
	f.DurationVar(&o.wrapUp, "wrap-up", 0, "complete a wrapping task automatically after this long (0: when the agent completes it)")
	f.StringArrayVar(&o.activities, "activity", nil, "a worker activity besides available, break, busy, away, offline: NAME=available or NAME=unavailable (repeatable)")
	f.IntVar(&o.missedOffers, "missed-offers", policy.DefaultMissedLimit, "consecutive offers a worker rejects or lets time out before it is set away (-1: never)")
	f.DurationVar(&o.reofferAfter, "reoffer-after", policy.DefaultReofferAfter, "how long before a task nobody else took is offered again to a worker who rejected it or let it time out (0: never)")
	f.DurationVar(&o.drainTimeout, "drain-timeout", server.DefaultDrainTimeout, "on SIGTERM or SIGINT, how long to wait for the requests in flight before closing")
	f.StringArrayVar(&o.env, "env", nil, "a variable flows read as env: `NAME` passes the process's NAME, NAME=VALUE sets one (repeatable)")
	f.IntVar(&o.stepBudget, "step-budget", engine.DefaultStepBudget, "steps an execution may run without a message from the customer before it fails")
	f.BoolVar(&o.separatePhones, "separate-phone-contacts", false, "keep senders with the same phone number on SMS, WhatsApp and calls as separate contacts")
	f.BoolVar(&o.separateEmails, "separate-email-contacts", false, "keep senders who give one mail address on two channels (a message by mail, a chat's pre-chat form) as separate contacts")
	return cmd
}

// startWork runs the node's background work: the outbox's workers and
// the timers, the competition for the router's leadership, and the
// connectors that fetch their messages. The returned func stops it all and
// waits.
func startWork(st store.Store, n *node.Node, instances []server.Instance, workers int, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.Run(ctx, workers) })
	wg.Go(func() { n.RunRouter(ctx) }) // competes for the router leadership
	wg.Go(func() { runPullers(ctx, st, n, instances, log) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// runPullers runs the instances that fetch their messages (an IMAP
// mailbox, a Gateway), each on one node at a time, delivering what they
// fetch as webhooks' messages.
func runPullers(ctx context.Context, st store.Store, n *node.Node, instances []server.Instance, log *slog.Logger) {
	var pullers []pull.Instance
	for _, in := range instances {
		if p, ok := in.Conn.(connectors.Puller); ok {
			pullers = append(pullers, pull.Instance{Connector: in.Connector, Name: in.Name, Puller: p})
		}
	}
	if len(pullers) == 0 {
		return
	}
	leaser, ok := st.(store.Leaser)
	if !ok {
		log.Error("the store cannot hold leases: connectors that fetch their messages do not run")
		return
	}
	pull.Run(ctx, pull.Config{Leaser: leaser, Logger: log, Deliver: func(ctx context.Context, connector, instance string, in connectors.Inbound) error {
		_, err := n.Receive(ctx, connector, instance, in, false)
		return err
	}}, pullers)
}

// loadProgram reads and compiles the .flow files of dir. channels are the
// channel names flows may name besides the known ones.
func loadProgram(dir string, channels []string) (*compiler.Program, []compiler.Source, diag.List, diag.Sources, error) {
	paths, err := flowFiles(dir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if len(paths) == 0 {
		return nil, nil, nil, nil, fmt.Errorf("no .flow files in %s", dir)
	}
	var sources []compiler.Source
	files := diag.Sources{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		sources = append(sources, compiler.Source{Name: displayPath(p), Src: b})
		files[displayPath(p)] = b
	}
	opts := compiler.Options{Channels: append(append([]string(nil), compiler.KnownChannels...), channels...)}
	prog, list := compiler.CompileSources(sources, opts)
	return prog, sources, list, files, nil
}

func serve(ctx context.Context, cmd *cobra.Command, dir string, o serveOptions) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	env, err := parseEnv(o.env)
	if err != nil {
		return usagef(cmd, "%v", err)
	}
	if err := checkSecrets(o.env, secretNames(o)); err != nil {
		return usagef(cmd, "%v", err)
	}
	if o.stepBudget < 1 {
		return usagef(cmd, "--step-budget %d: want at least 1", o.stepBudget)
	}
	if o.drainTimeout <= 0 {
		return usagef(cmd, "--drain-timeout %v: want a positive duration", o.drainTimeout)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	base := o.publicURL
	if base == "" {
		base = "http://" + localAddr(ln.Addr())
	}
	relay := connectors.NewBoundLater() // bound once the store is open
	keys := connectors.NewKeysBoundLater()
	res := connectors.Resources{HTTPClient: &http.Client{Timeout: 30 * time.Second}, Logger: log, Now: time.Now, PublicURL: base, Relay: relay,
		Keys: keys}
	instances, channels, err := buildConnectors(connectors.Default(), quickStart(connectors.Default(), o.connectors), res)
	if err != nil {
		ln.Close()
		return usagef(cmd, "%v", err)
	}
	closeConns := sync.OnceFunc(func() { closeConnectors(instances) })
	defer closeConns()
	extra := channelNames(instances)
	prog, sources, list, files, err := loadProgram(dir, extra)
	if err != nil {
		ln.Close()
		return usagef(cmd, "%v", err)
	}
	if prog == nil {
		ln.Close()
		_ = diag.Write(stderr, list, files, diag.Options{})
		return errProblems
	}
	st, err := store.Open(ctx, o.storeURL)
	if err != nil {
		ln.Close()
		relay.Bind(nil)
		keys.Bind(nil)
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	relayer, _ := st.(store.Relayer)
	relay.Bind(relayer)
	keys.Bind(st)
	if _, ok := env["BOT_URL"]; !ok {
		env["BOT_URL"] = base + server.DemoBotPath
	}
	nf, err := parseNodeFlags(o)
	if err != nil {
		return usagef(cmd, "%v", err)
	}
	reg := &metrics.Registry{}
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources, Channels: channels, Env: env, Logger: log,
		FunctionURLs: nf.functionURLs, Metrics: reg, StepBudget: o.stepBudget, SeparatePhoneContacts: o.separatePhones,
		SeparateEmailContacts: o.separateEmails, EventWebhook: node.EventWebhook{URL: o.eventWebhook, Secret: nf.hookSecret},
		Routing: node.RoutingConfig{ReservationTimeout: o.reservationTimeout, WrapUp: o.wrapUp, Activities: nf.activities,
			MissedLimit: o.missedOffers, ReofferAfter: reofferAfter(o.reofferAfter)}})
	if err != nil {
		return err
	}
	token, err := ensureAdminToken(ctx, st)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{Node: n, Store: st, Instances: instances, Logger: log, PublicURL: o.publicURL, DemoBot: true, Metrics: reg,
		DrainTimeout: o.drainTimeout, AttachmentDir: o.attachmentDir})

	fmt.Fprintf(stdout, "switchboard %s serving %s (program %s, %d flows) on %s\n", version(), dir, prog.Version, len(prog.Flows), base)
	printURLs(stdout, base, o.storeURL, instances, token)
	if len(list) > 0 {
		_ = diag.Write(stderr, list, files, diag.Options{})
	}

	stopWork := startWork(st, n, instances, o.workers, log)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		if o.watch {
			watch(ctx, dir, extra, n, stderr, log)
		}
	}()
	// On SIGTERM or SIGINT, Serve stops accepting and answers what is in
	// flight (at most --drain-timeout). Then the rest stops in the order
	// that keeps anything running from meeting a closed store: the workers
	// and the router leader, the node's group commit (it commits what was
	// submitted), the connectors (their relay reads the store), the store.
	err = srv.Serve(ctx, ln)
	stopWork()
	<-watchDone
	_ = n.Close()
	closeConns()
	fmt.Fprintln(stdout, "switchboard stopped")
	return err
}

// printURLs tells where everything is: each connector instance's page
// (connectors.HomePage) or else its webhook, the desktop, the console, the API.
func printURLs(stdout io.Writer, base, storeURL string, instances []server.Instance, token string) {
	fmt.Fprintf(stdout, "  store:     %s\n", storeURL)
	for _, in := range instances {
		if h, ok := in.Conn.(connectors.HomePage); ok {
			url, note := h.HomePage()
			fmt.Fprintf(stdout, "  %-10s %s   %s\n", in.Connector+":", url, note)
			continue
		}
		fmt.Fprintf(stdout, "  webhook:   %s%s\n", base, connectors.WebhookPath(in.Connector, in.Name))
	}
	fmt.Fprintf(stdout, "  agents:    %s/agent/   (the agent desktop; workers are created with the admin API)\n", base)
	fmt.Fprintf(stdout, "  admin:     %s/admin/   (the admin console; sign in with the admin token)\n", base)
	fmt.Fprintf(stdout, "  admin API: %s/v1/… (docs/API.md)\n", base)
	fmt.Fprintf(stdout, "  metrics:   %s/metrics   health: %s/healthz\n", base, base)
	if token != "" {
		fmt.Fprintf(stdout, "\nAdmin token (shown once, only its hash is stored):\n  %s\nTry: curl -H 'Authorization: Bearer %s' %s/v1/programs\n\n", token, token, base)
	}
}

// nodeFlags are the flags that configure the node, read.
type nodeFlags struct {
	activities   map[string]bool
	functionURLs map[string]string
	hookSecret   string
}

// parseNodeFlags reads --activity, --function and the event webhook's flags.
func parseNodeFlags(o serveOptions) (nodeFlags, error) {
	nf := nodeFlags{activities: policy.DefaultActivities(),
		functionURLs: map[string]string{}}
	var err error
	if nf.hookSecret, err = fromEnv(o.eventWebhookSecret); err != nil {
		return nf, fmt.Errorf("--event-webhook-secret %v", err)
	}
	if o.eventWebhook != "" && !strings.HasPrefix(o.eventWebhook, "http") {
		return nf, fmt.Errorf("--event-webhook %q: want an http(s) URL", o.eventWebhook)
	}
	for _, a := range o.activities {
		name, kind, _ := strings.Cut(a, "=")
		if name == "" || (kind != "available" && kind != "unavailable") {
			return nf, fmt.Errorf("--activity %q: want NAME=available or NAME=unavailable", a)
		}
		nf.activities[name] = kind == "available"
	}
	for _, f := range o.functions {
		name, u, ok := strings.Cut(f, "=")
		if !ok || name == "" || !strings.HasPrefix(u, "http") {
			return nf, fmt.Errorf("--function %q: want NAME=URL", f)
		}
		nf.functionURLs[name] = u
	}
	return nf, nil
}

func localAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("localhost:%d", tcp.Port)
		}
	}
	return a.String()
}

// parseEnv reads --env values into what flows see as env: NAME=VALUE sets
// a variable, NAME passes the process's variable of that name. Nothing
// else of the process environment reaches flows, so what a connector reads
// with env:NAME stays out of their reach.
func parseEnv(values []string) (map[string]string, error) {
	env := map[string]string{}
	for _, kv := range values {
		name, v, set := strings.Cut(kv, "=")
		if name == "" {
			return nil, fmt.Errorf("--env %q: want NAME or NAME=VALUE", kv)
		}
		if !set {
			var ok bool
			if v, ok = os.LookupEnv(name); !ok {
				return nil, fmt.Errorf("--env %s: the environment has no variable %s (give its value with --env %s=VALUE)", name, name, name)
			}
		}
		env[name] = v
	}
	return env, nil
}

// secretNames maps the environment variables that connectors and the event
// webhook read with env:NAME to the flag that reads them.
func secretNames(o serveOptions) map[string]string {
	names := map[string]string{}
	for _, spec := range o.connectors {
		parts := strings.Split(spec, ",")
		for _, kv := range parts[1:] {
			k, v, _ := strings.Cut(kv, "=")
			if name, ok := strings.CutPrefix(v, "env:"); ok {
				names[name] = fmt.Sprintf("--connector %s reads it as %s", parts[0], k)
			}
		}
	}
	if name, ok := strings.CutPrefix(o.eventWebhookSecret, "env:"); ok {
		names[name] = "--event-webhook-secret reads it"
	}
	return names
}

// checkSecrets refuses to pass flows a process variable that holds a
// secret: a flow could send it anywhere (env[message.text] is enough).
// A value set on the command line (--env NAME=VALUE) is not the secret.
func checkSecrets(values []string, secrets map[string]string) error {
	for _, kv := range values {
		if strings.Contains(kv, "=") {
			continue
		}
		if why, ok := secrets[kv]; ok {
			return fmt.Errorf("--env %s: flows may not read %s, a secret (%s)", kv, kv, why)
		}
	}
	return nil
}

// buildConnectors parses --connector values, NAME/INSTANCE,key=value,…,
// and builds the instances from reg.
func buildConnectors(reg *connectors.Registry, specs []string, res connectors.Resources) ([]server.Instance, map[string]connectors.Connector, error) {
	var instances []server.Instance
	channels := map[string]connectors.Connector{}
	for _, spec := range specs {
		parts := strings.Split(spec, ",")
		name, instance, _ := strings.Cut(parts[0], "/")
		if instance == "" {
			instance = connectors.DefaultInstance
		}
		cfg := connectors.Config{}
		for _, kv := range parts[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, nil, fmt.Errorf("--connector %s: %q is not key=value", parts[0], kv)
			}
			v, err := fromEnv(v)
			if err != nil {
				return nil, nil, fmt.Errorf("--connector %s: %s %w", parts[0], k, err)
			}
			cfg[k] = v
		}
		key := name + "/" + instance
		if _, dup := channels[key]; dup {
			return nil, nil, fmt.Errorf("--connector %s is configured twice", key)
		}
		in, err := reg.NewInstance(name, instance, cfg, res)
		if err != nil {
			return nil, nil, fmt.Errorf("--connector %s: %w", parts[0], err)
		}
		channels[key] = in.Conn
		instances = append(instances, in)
	}
	return instances, channels, nil
}

// quickStart puts first in specs an instance, with its defaults, of each
// connector that asks for one (Spec.QuickStart) and that specs do not
// configure: the channel the quick start tries.
func quickStart(reg *connectors.Registry, specs []string) []string {
	var add []string
	for _, qs := range reg.QuickStart() {
		if !hasConnector(specs, qs.Name) {
			add = append(add, qs.Name+"/"+connectors.DefaultInstance)
		}
	}
	return append(add, specs...)
}

func hasConnector(specs []string, name string) bool {
	for _, s := range specs {
		if strings.HasPrefix(s, name+"/") || strings.HasPrefix(s, name+",") || s == name {
			return true
		}
	}
	return false
}

// channelNames lists the channels the configured connectors carry.
func channelNames(instances []server.Instance) []string {
	var out []string
	for _, in := range instances {
		if l, ok := in.Conn.(connectors.ChannelLister); ok {
			out = append(out, l.Channels()...)
		}
	}
	return out
}

func closeConnectors(instances []server.Instance) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, in := range instances {
		if c, ok := in.Conn.(connectors.Closer); ok {
			_ = c.Close(ctx)
		}
	}
}

// fromEnv resolves a flag value env:NAME from the environment, so secrets
// stay out of command lines; other values are returned as they are.
func fromEnv(v string) (string, error) {
	name, ok := strings.CutPrefix(v, "env:")
	if !ok {
		return v, nil
	}
	if v = os.Getenv(name); v == "" {
		return "", fmt.Errorf("reads the environment variable %s, which is empty", name)
	}
	return v, nil
}

// ensureAdminToken creates an admin token when the store has none that
// still works (expired ones do not count: nobody could use the API) and
// returns it; "" when one exists already.
func ensureAdminToken(ctx context.Context, st store.Store) (string, error) {
	tokens, err := st.ListTokens(ctx)
	if err != nil {
		return "", err
	}
	now := time.Now()
	for _, t := range tokens {
		if t.Role == store.RoleAdmin && !t.Expired(now) {
			return "", nil
		}
	}
	token, _, err := server.IssueToken(ctx, st, "", time.Time{})
	return token, err
}

// watch redeploys the flows when their files change. A program that does
// not compile is reported and the running one is kept.
func watch(ctx context.Context, dir string, channels []string, n *node.Node, stderr io.Writer, log *slog.Logger) {
	last := n.Active().Version
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		prog, sources, list, files, err := loadProgram(dir, channels)
		if err != nil {
			log.Error("reloading flows", "err", err)
			continue
		}
		if prog == nil {
			if v := fmt.Sprint(list); v != last {
				last = v
				fmt.Fprintln(stderr, "flows changed but do not compile; still running the previous program:")
				_ = diag.Write(stderr, list, files, diag.Options{})
			}
			continue
		}
		if prog.Version == n.Active().Version {
			continue
		}
		if err := n.Deploy(ctx, prog, sources); err != nil {
			log.Error("deploying", "err", err)
			continue
		}
		last = prog.Version
		log.Info("flows reloaded", "program", prog.Version)
	}
}

// reofferAfter maps the flag, where 0 means never, to the routing
// configuration, where 0 means the default and a negative value never.
func reofferAfter(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
