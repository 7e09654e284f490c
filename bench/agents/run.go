package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/internal/procstat"
)

// serverMargin is what a started server needs besides its streams' descriptors: the store's
// files, its listeners, the API connections of customers and agents (maxAPIConns).
const serverMargin = maxAPIConns + 200

// memory is the server's memory at one moment: rss from /proc, the rest from pprof (0: unknown).
type memory struct {
	rss, heap, stack int64
	goroutines       int
}

// report is what a run measured.
type report struct {
	n                      int
	created, opened        time.Duration // creating the workers, opening their streams
	start, before, after   memory        // the server's: ready, workers created, streams open
	settled                memory        // and after the idle window (-idle), stacks shrunk by the collections since
	idleCPU, runCPU        float64       // the server's CPU (cores) idle with the streams open, and while customers post
	runWall                time.Duration // from the first message to the last offer or the end of the wait
	posted, postedOK       int
	offered, completed     int // messages whose offer arrived, whose task was completed
	latencies              []time.Duration
	answers                []time.Duration // the webhooks' answer times
	counts                 map[string]int
	samples                []string
	knownMemory, knownHeap bool
}

func run(ctx context.Context, cfg config, out io.Writer) (*report, error) {
	limit, err := raiseNoFile(uint64(2*cfg.n + 8192))
	if err != nil {
		return nil, fmt.Errorf("raise RLIMIT_NOFILE: %w", err)
	}
	// The streams are held by child processes (holders.go), but the server holds them all.
	if cfg.url == "" && limit < uint64(cfg.n+serverMargin) {
		return nil, fmt.Errorf("RLIMIT_NOFILE is %d (`ulimit -Hn`, not raisable here): the server cannot hold %d streams "+
			"besides its own %d descriptors (store, listeners, API connections); at most -n %d", limit, cfg.n, serverMargin, int(limit)-serverMargin)
	}
	t := &target{base: strings.TrimSuffix(cfg.url, "/"), admin: cfg.adminToken, secret: cfg.secret, pid: cfg.pid, stop: func() {}}
	if cfg.url == "" {
		if t, err = startServer(ctx, cfg, out); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "serve pid %d on %s (output: %s)\n", t.pid, t.base, t.log)
	}
	defer t.stop()
	b := newBench(cfg, t)
	rep := &report{n: cfg.n, knownMemory: t.pid != 0, knownHeap: cfg.pprof != ""}
	measure := func(m *memory) {
		if t.pid != 0 {
			m.rss, _, _ = procstat.Memory(t.pid)
		}
		if cfg.pprof != "" {
			h, err := readHeap(ctx, cfg.pprof)
			if err != nil {
				fmt.Fprintln(out, "pprof:", err)
			}
			m.heap, m.stack, m.goroutines = h.heapInuse, h.stackInuse, h.goroutines
		}
	}
	measure(&rep.start)

	began := time.Now()
	if err := b.createWorkers(ctx); err != nil {
		return nil, err
	}
	rep.created = time.Since(began)
	fmt.Fprintf(out, "%d workers created in %v\n", cfg.n, rep.created.Round(time.Millisecond))
	measure(&rep.before)

	began = time.Now()
	err = b.openStreams(ctx, limit)
	rep.opened = time.Since(began)
	defer b.closeStreams()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%d streams open in %v\n", cfg.n, rep.opened.Round(time.Millisecond))
	measure(&rep.after)
	if cfg.idle > 0 {
		rep.idleCPU = cpuDuring(t.pid, func() { sleep(ctx, cfg.idle) }, cfg.idle)
		measure(&rep.settled)
	}

	began = time.Now()
	rep.runCPU = cpuDuring(t.pid, func() {
		b.customers(ctx)
		select {
		case <-b.allDone:
		case <-time.After(cfg.wait):
		case <-ctx.Done():
		}
	}, 0)
	rep.runWall = time.Since(began)
	if rep.runWall > 0 && t.pid != 0 {
		rep.runCPU /= rep.runWall.Seconds()
	}
	b.closeStreams()
	b.collect(rep)
	rep.print(out, cfg)
	return rep, ctx.Err()
}

// cpuDuring runs f and returns the server's CPU time over it, in cores when over > 0 (seconds
// otherwise); 0 when the server's process is unknown.
func cpuDuring(pid int, f func(), over time.Duration) float64 {
	if pid == 0 {
		f()
		return 0
	}
	before, _ := procstat.CPUTime(pid)
	f()
	after, _ := procstat.CPUTime(pid)
	used := (after - before).Seconds()
	if over > 0 {
		return used / over.Seconds()
	}
	return used
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// collect moves the run's counts into rep.
func (b *bench) collect(rep *report) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rep.posted = len(b.posted)
	for n, ok := range b.postedOK {
		if !ok {
			continue
		}
		rep.postedOK++
		if d, seen := b.arrival[n]; seen {
			rep.offered++
			rep.latencies = append(rep.latencies, d)
		}
		if b.completed[n] {
			rep.completed++
		}
	}
	rep.answers = slices.Clone(b.answered)
	rep.counts = b.counts
	rep.samples = b.samples
}

// percentile is the nearest-rank percentile p (0 < p ≤ 100) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// failures are the checks the run failed, said.
func (r *report) failures(cfg config) []string {
	var f []string
	if lost := r.postedOK - r.offered; lost > 0 {
		f = append(f, fmt.Sprintf("%d of %d messages got no offer", lost, r.postedOK))
	}
	if undone := r.offered - r.completed; undone > 0 {
		f = append(f, fmt.Sprintf("%d offered tasks were not completed", undone))
	}
	kinds := make([]string, 0, len(r.counts))
	for k := range r.counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		f = append(f, fmt.Sprintf("%s: %d", k, r.counts[k]))
	}
	if r.postedOK == 0 {
		f = append(f, "no message was taken")
	}
	if cfg.p99 > 0 && len(r.latencies) > 0 {
		if p99 := percentile(r.sortedLatencies(), 99); p99 > cfg.p99 {
			f = append(f, fmt.Sprintf("offer latency p99 %v above %v", p99.Round(10*time.Microsecond), cfg.p99))
		}
	}
	return f
}

func (r *report) sortedLatencies() []time.Duration {
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (r *report) print(out io.Writer, cfg config) {
	fmt.Fprintf(out, "workers %d: created in %v, streams opened in %v (%.0f/s)\n", r.n,
		r.created.Round(time.Millisecond), r.opened.Round(time.Millisecond), float64(r.n)/r.opened.Seconds())
	if r.knownMemory {
		fmt.Fprintf(out, "server RSS: %s ready, %s with the workers, %s with the streams open: %.1f KiB a stream\n",
			mib(r.start.rss), mib(r.before.rss), mib(r.after.rss), float64(r.after.rss-r.before.rss)/1024/float64(r.n))
	}
	if r.knownMemory && r.settled.rss > 0 {
		fmt.Fprintf(out, "server RSS after %v idle: %s: %.1f KiB a stream\n", cfg.idle, mib(r.settled.rss), float64(r.settled.rss-r.before.rss)/1024/float64(r.n))
	}
	if r.knownHeap && r.settled.goroutines > 0 {
		fmt.Fprintf(out, "server Go heap after %v idle: %s, stacks %s: %.1f KiB heap + %.1f KiB stack a stream\n", cfg.idle,
			mib(r.settled.heap), mib(r.settled.stack), float64(r.settled.heap-r.before.heap)/1024/float64(r.n), float64(r.settled.stack-r.before.stack)/1024/float64(r.n))
	}
	if r.knownHeap {
		fmt.Fprintf(out, "server Go heap in use %s → %s, stacks %s → %s, goroutines %d → %d: %.1f KiB heap + %.1f KiB stack, %.2f goroutines a stream\n",
			mib(r.before.heap), mib(r.after.heap), mib(r.before.stack), mib(r.after.stack), r.before.goroutines, r.after.goroutines,
			float64(r.after.heap-r.before.heap)/1024/float64(r.n), float64(r.after.stack-r.before.stack)/1024/float64(r.n),
			float64(r.after.goroutines-r.before.goroutines)/float64(r.n))
	}
	switch {
	case r.knownMemory && cfg.idle > 0:
		fmt.Fprintf(out, "server CPU: %.2f cores idle with %d streams open (over %v), %.2f cores during the run\n", r.idleCPU, r.n, cfg.idle, r.runCPU)
	case r.knownMemory:
		fmt.Fprintf(out, "server CPU: %.2f cores during the run\n", r.runCPU)
	}
	fmt.Fprintf(out, "messages: %d at %d/s (%d answered 200), %d offered, %d completed, in %v\n",
		r.posted, cfg.rate, r.postedOK, r.offered, r.completed, r.runWall.Round(time.Millisecond))
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	if s := slices.Sorted(slices.Values(r.answers)); len(s) > 0 {
		fmt.Fprintf(out, "webhook answered (the message stored): p50 %s, p90 %s, p99 %s, max %s\n",
			ms(percentile(s, 50)), ms(percentile(s, 90)), ms(percentile(s, 99)), ms(s[len(s)-1]))
	}
	if s := r.sortedLatencies(); len(s) > 0 {
		fmt.Fprintf(out, "offer latency (POST start → offer frame): p50 %s, p90 %s, p99 %s, max %s\n",
			ms(percentile(s, 50)), ms(percentile(s, 90)), ms(percentile(s, 99)), ms(s[len(s)-1]))
	}
	for _, s := range r.samples {
		fmt.Fprintln(out, "error:", s)
	}
}
