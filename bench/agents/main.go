// Command agents measures one node with many connected agents: it creates N workers through the
// admin API, opens a worker stream (WebSocket) for each, and while they are all connected posts
// customer messages that need an agent through the custom connector at a fixed rate. Every offer
// is accepted, wrapped up and completed with the calls an agent desktop makes, so capacity frees.
//
// It reports, per message, the time from the start of its POST to the arrival of its task's offer
// frame (p50, p90, p99, max), the server's memory before and after the streams are open (RSS, and
// the Go heap and stacks when the server serves pprof), the time to open them, and the server's
// CPU while idle with every stream open and during the run. It exits 1 when a check fails: a
// message without an offer, an offer seen twice, a task offered again, a failed call, a stream
// that closed, or a p99 above -p99.
//
// By default it builds ./cmd/switchboard and starts `serve` on SQLite in a temporary directory
// with bench/agents/flows (every message becomes a task for the desk queue):
//
//	go run ./bench/agents -n 20000 -rate 100 -duration 30s
//
// To profile, build bench/loadgen/sbserve and let it serve pprof; -pprof reads its heap figures:
//
//	go build -o /tmp/sbserve ./bench/loadgen/sbserve
//	SBSERVE_PPROF=127.0.0.1:6071 go run ./bench/agents -server /tmp/sbserve -pprof 127.0.0.1:6071
//
// Against a running server (a fresh one: its other workers of the desk queue would get offers
// nobody answers), -url, -admin-token and -secret name it, and -pid lets it read its memory:
//
//	go run ./bench/agents -url http://127.0.0.1:18750 -admin-token sba_… -secret … -pid 1234
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type config struct {
	n          int           // workers, each with one stream
	rate       int           // customer messages a second
	duration   time.Duration // how long messages are posted
	wait       time.Duration // how long, after the last message, offers may still arrive
	idle       time.Duration // the window the idle CPU is measured over, every stream open
	p99        time.Duration // the largest p99 that passes (0: not checked)
	url        string        // a running server ("" starts one)
	adminToken string
	secret     string
	pid        int    // the running server's process, for its memory and CPU (0: unknown)
	server     string // the binary to start ("" builds ./cmd/switchboard)
	addr       string
	flows      string
	pprof      string // the server's net/http/pprof address, for its heap
	dialers    int    // streams opened at once
	creators   int    // workers created at once
	capacity   int    // each worker's chat capacity
	perHolder  int    // streams a holder process takes (0: as many as its descriptors allow)
}

func parseArgs(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("agents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.n, "n", 20000, "workers, each with one open stream")
	fs.IntVar(&c.rate, "rate", 100, "customer messages a second")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long customers post messages")
	fs.DurationVar(&c.wait, "wait", 30*time.Second, "how long offers may still arrive after the last message")
	fs.DurationVar(&c.idle, "idle", 5*time.Second, "window of the server's idle CPU with every stream open (0: not measured)")
	fs.DurationVar(&c.p99, "p99", 50*time.Millisecond, "the largest offer latency p99 that passes (0: not checked)")
	fs.StringVar(&c.url, "url", "", "a running server's base URL (default: start one)")
	fs.StringVar(&c.adminToken, "admin-token", "", "the running server's admin token (with -url)")
	fs.StringVar(&c.secret, "secret", "", "the secret of the running server's custom/default connector (with -url)")
	fs.IntVar(&c.pid, "pid", 0, "the running server's process id, for its memory and CPU (with -url)")
	fs.StringVar(&c.server, "server", "", "switchboard binary to start (default: go build ./cmd/switchboard)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:18750", "address the started server listens on")
	fs.StringVar(&c.flows, "flows", "bench/agents/flows", "flows directory the started server serves")
	fs.StringVar(&c.pprof, "pprof", "", "the server's pprof address (SBSERVE_PPROF of bench/loadgen/sbserve), for its heap")
	fs.IntVar(&c.dialers, "dialers", 64, "streams opened at once")
	fs.IntVar(&c.creators, "creators", 8, "workers created at once")
	fs.IntVar(&c.capacity, "capacity", 1, "each worker's chat capacity")
	fs.IntVar(&c.perHolder, "per-holder", 0, "streams one holder process takes (0: as many as RLIMIT_NOFILE allows)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.n < 1 || c.rate < 1 || c.dialers < 1 || c.creators < 1 || c.capacity < 1 || c.perHolder < 0:
		return c, errors.New("-n, -rate, -dialers, -creators and -capacity must be at least 1, -per-holder not negative")
	case c.duration <= 0 || c.wait <= 0 || c.idle < 0 || c.p99 < 0:
		return c, errors.New("-duration and -wait must be positive, -idle and -p99 not negative")
	case c.url != "" && (c.adminToken == "" || c.secret == ""):
		return c, errors.New("-url needs -admin-token and -secret")
	case c.url == "" && (c.adminToken != "" || c.secret != "" || c.pid != 0):
		return c, errors.New("-admin-token, -secret and -pid name a running server: give its -url too")
	}
	return c, nil
}

func main() {
	if os.Getenv(holderEnv) == "1" {
		os.Exit(holdStreams(os.Args[1:], os.Stdin, os.Stdout))
	}
	cfg, err := parseArgs(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "agents:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "agents:", err)
		os.Exit(2)
	}
	if failed := rep.failures(cfg); len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintln(os.Stdout, "FAIL:", f)
		}
		os.Exit(1)
	}
	fmt.Fprintln(os.Stdout, "PASS")
}
