// Command waiting measures one node with a million conversations waiting: seeded the real way
// (signed custom-connector webhooks to a running `serve`), then a restart (SIGTERM, start again on
// the same database) with its start-up time and memory, and a share of the ask timeouts coming
// due in bulk after it, each timer's lag (firing time - due time) read back from the store.
//
//	go run ./bench/waiting -n 1000000 -tasks 100000 -phases 1000x20s,2000x20s,4000x15s,8000x10s
//
// The seeded conversations, in this order: n - tasks - bulk asks whose 24 h timeout stays
// pending, `tasks` conversations handed to a queue no worker serves (waiting tasks the router
// leader restores at start-up), and the bulk: for each phase RATExDURATION, RATE timers a second
// due over DURATION, the phases one after the other with -gap between them, the first -lead after
// the bulk's seeding began. The flow (flows/waiting.flow, see flow.go) aims each bulk timer at
// its due time to the second. A timer's due time is its fire_at, read while serve is stopped
// before the restart; it fired when its step committed, the created_at of the outbox row its
// timeout branch's send made in that commit; its reply was delivered at the created_at of the
// outbound message, written when the custom connector's outbound_url (this tool) answered.
//
// With -n equal to the bulk and -tasks 0, only the bulk is seeded, onto the database of an
// earlier run kept with -keep (-work and -store naming it): its timers and outbox must have been
// worked off first (start serve on it until /metrics shows no pending effects).
//
// Every bulk timer must fire exactly once and no other timer may fire; the exit status is 1
// otherwise, or when a webhook failed.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	n, tasks, conns int
	phases          []phase
	lead, gap       time.Duration
	storeURL        string
	work, bin       string
	port, outPort   int
	settle          time.Duration
	keep            bool
}

func main() {
	var o options
	var phases string
	flag.IntVar(&o.n, "n", 1_000_000, "conversations to seed in all")
	flag.IntVar(&o.tasks, "tasks", 100_000, "of them, conversations waiting as tasks")
	flag.StringVar(&phases, "phases", "1000x20s,2000x20s,4000x15s,8000x10s", "bulk timers: RATExDURATION, comma-separated")
	flag.DurationVar(&o.lead, "lead", 330*time.Second, "from the start of the bulk's seeding to the first phase's due time")
	flag.DurationVar(&o.gap, "gap", 15*time.Second, "between phases")
	flag.IntVar(&o.conns, "c", 32, "webhook connections while seeding")
	flag.StringVar(&o.storeURL, "store", "", "store URL (default: sqlite in -work; postgres://… for PostgreSQL)")
	flag.StringVar(&o.work, "work", "", "work directory (default: a new /tmp/waiting-*)")
	flag.StringVar(&o.bin, "bin", "", "the serve binary (default: build bench/loadgen/sbserve into -work)")
	flag.IntVar(&o.port, "port", 18760, "serve's port")
	flag.IntVar(&o.outPort, "out-port", 18761, "the outbound receiver's port")
	flag.DurationVar(&o.settle, "settle", 60*time.Second, "how long after the last due time to wait for stragglers")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (the database) at the end")
	writeFlow := flag.String("write-flow", "", "only write the flow file to this path")
	flag.Parse()
	if *writeFlow != "" {
		if err := os.WriteFile(*writeFlow, []byte(waitingFlow()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var err error
	if o.phases, err = parsePhases(phases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if bulk := bulkCount(o.phases); o.tasks+bulk > o.n {
		fmt.Fprintf(os.Stderr, "-n %d is less than the tasks and the bulk (%d + %d)\n", o.n, o.tasks, bulk)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "waiting:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.work == "" {
		d, err := os.MkdirTemp("/tmp", "waiting-")
		if err != nil {
			return err
		}
		o.work = d
	}
	if !o.keep && strings.HasPrefix(o.work, "/tmp/waiting-") {
		defer os.RemoveAll(o.work)
	}
	if o.storeURL == "" {
		o.storeURL = "sqlite:" + filepath.Join(o.work, "switchboard.db")
	}
	if o.bin == "" {
		o.bin = filepath.Join(o.work, "sbserve")
		if err := build(ctx, o.bin); err != nil {
			return err
		}
	}
	flows := filepath.Join(o.work, "flows")
	if err := os.MkdirAll(flows, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(flows, "waiting.flow"), []byte(waitingFlow()), 0o644); err != nil {
		return err
	}
	recv, err := listenOutbound(o.outPort)
	if err != nil {
		return err
	}
	defer recv.close()
	srv := &server{bin: o.bin, storeURL: o.storeURL, port: o.port, outPort: o.outPort, flows: flows,
		secret: randomHex(16), log: filepath.Join(o.work, "serve")}
	defer srv.kill()

	fmt.Printf("== machine: %s\n== store %s, n=%d, tasks=%d, bulk=%d (%s), %d connections\n",
		machine(), redact(o.storeURL), o.n, o.tasks, bulkCount(o.phases), phaseString(o.phases), o.conns)
	if _, err := srv.start(ctx); err != nil {
		return err
	}
	res := &results{}
	if err := seedAll(ctx, o, srv, res); err != nil {
		return err
	}
	if err := srv.stop(); err != nil {
		return err
	}
	res.stopTook = srv.stopTook
	db, err := openDB(o.storeURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if res.snap, err = snapshot(ctx, db); err != nil {
		return err
	}
	res.printSnapshot(o)
	if err := restart(ctx, o, srv, recv, res); err != nil {
		return err
	}
	if err := srv.stop(); err != nil {
		return err
	}
	since := res.restartAt.UnixMicro()
	fired, err := times(ctx, db, since, firedSQL)
	if err != nil {
		return err
	}
	delivered, err := times(ctx, db, since, deliveredSQL, lateText)
	if err != nil {
		return err
	}
	rep := analyse(res.snap.due, fired, o.phases, res.starts)
	rep.print(os.Stdout, "fired (step committed)")
	analyse(res.snap.due, delivered, o.phases, res.starts).print(os.Stdout, "delivered (outbound_url answered)")
	if res.seedErrors > 0 || !rep.ok() {
		return fmt.Errorf("%d webhook errors, %d timers not fired, %d fired more than once, %d fired that were not due",
			res.seedErrors, rep.missing, rep.duplicates, rep.unexpected)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redact drops a URL's query (a DSN's options) from what is printed.
func redact(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return u
}
