package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

func openDB(storeURL string) (*sql.DB, error) {
	if strings.HasPrefix(storeURL, "postgres://") || strings.HasPrefix(storeURL, "postgresql://") {
		return sql.Open("pgx", storeURL)
	}
	path := strings.TrimPrefix(strings.TrimPrefix(storeURL, "sqlite://"), "sqlite:")
	return sql.Open("sqlite", "file:"+path+"?mode=ro")
}

// micros reads a time column: SQLite's are microseconds since the epoch, PostgreSQL's timestamptz.
func micros(v any) int64 {
	switch t := v.(type) {
	case int64:
		return t
	case time.Time:
		return t.UnixMicro()
	}
	return 0
}

// snap is the store as the restart finds it.
type snap struct {
	due                          map[string]int64 // an execution's timer due within the hour → fire_at (µs)
	timers, waiting, tasks, late int64
}

func snapshot(ctx context.Context, db *sql.DB) (snap, error) {
	s := snap{due: map[string]int64{}}
	soon := time.Now().Add(time.Hour).UnixMicro()
	rows, err := db.QueryContext(ctx, `SELECT execution_id, fire_at FROM timers`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var exec string
		var at any
		if err := rows.Scan(&exec, &at); err != nil {
			return s, err
		}
		s.timers++
		if us := micros(at); us < soon {
			s.due[exec] = us
		}
	}
	if err := rows.Err(); err != nil {
		return s, err
	}
	for _, q := range []struct {
		dst *int64
		sql string
	}{
		{&s.waiting, `SELECT count(*) FROM executions WHERE status = 'waiting'`},
		{&s.tasks, `SELECT count(*) FROM tasks WHERE status = 'waiting'`},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (r *results) printSnapshot(o options) {
	fmt.Printf("before the restart: %d executions waiting, %d timers (%d due within the hour), %d tasks waiting; serve stopped in %.2f s\n",
		r.snap.waiting, r.snap.timers, len(r.snap.due), r.snap.tasks, r.stopTook.Seconds())
}

// A timer fired when its step committed: the send its timeout branch queued is an outbox row
// (effects.created_at) made in that commit. It was delivered when the custom connector's
// outbound_url answered: the outbound message row is written then.
const (
	firedSQL = `SELECT execution_id, created_at FROM effects WHERE kind = 'send'`
	// One conversation, one execution in this flow.
	deliveredSQL = `SELECT e.id, m.created_at FROM messages m JOIN executions e ON e.conversation_id = m.conversation_id
		WHERE m.direction = 'out' AND m.text = $1`
)

// times reads execution → times (µs) from query, keeping those at or after since (µs): a
// database reused from an earlier run holds that run's firings too.
func times(ctx context.Context, db *sql.DB, since int64, query string, args ...any) (map[string][]int64, error) {
	out := map[string][]int64{}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var exec string
		var at any
		if err := rows.Scan(&exec, &at); err != nil {
			return nil, err
		}
		if us := micros(at); us >= since {
			out[exec] = append(out[exec], us)
		}
	}
	return out, rows.Err()
}

// lagStats summarises lags in microseconds.
type lagStats struct {
	name                string
	n                   int
	dueFrom, dueTo      int64 // µs
	peakDue             int   // the most timers due within one second
	p50, p99, p999, max int64
	fired               time.Duration // from the first to the last firing
}

type report struct {
	all                             lagStats
	phases                          []lagStats
	missing, duplicates, unexpected int
}

func (r report) ok() bool { return r.missing == 0 && r.duplicates == 0 && r.unexpected == 0 }

// percentile is the nearest-rank percentile of sorted xs.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func stats(name string, due, lag, fired []int64) lagStats {
	s := lagStats{name: name, n: len(lag)}
	if len(lag) == 0 {
		return s
	}
	slices.Sort(lag)
	slices.Sort(due)
	slices.Sort(fired)
	s.p50, s.p99, s.p999, s.max = percentile(lag, 50), percentile(lag, 99), percentile(lag, 99.9), lag[len(lag)-1]
	s.dueFrom, s.dueTo = due[0], due[len(due)-1]
	s.fired = time.Duration(fired[len(fired)-1]-fired[0]) * time.Microsecond
	per := map[int64]int{}
	for _, d := range due {
		per[d/1e6]++
		s.peakDue = max(s.peakDue, per[d/1e6])
	}
	return s
}

// analyse matches each timer due with its firings; a timer belongs to the phase whose window
// (its start up to the next phase's) holds its due time.
func analyse(due map[string]int64, fired map[string][]int64, ps []phase, starts []time.Time) report {
	var r report
	type acc struct{ due, lag, fired []int64 }
	all := &acc{}
	byPhase := make([]*acc, len(ps))
	for i := range byPhase {
		byPhase[i] = &acc{}
	}
	for exec, d := range due {
		f := fired[exec]
		switch len(f) {
		case 0:
			r.missing++
			continue
		case 1:
		default:
			r.duplicates++
		}
		for _, a := range []*acc{all, byPhase[phaseOf(d, starts)]} {
			a.due, a.lag, a.fired = append(a.due, d), append(a.lag, f[0]-d), append(a.fired, f[0])
		}
	}
	for exec := range fired {
		if _, ok := due[exec]; !ok {
			r.unexpected++
		}
	}
	r.all = stats("all", all.due, all.lag, all.fired)
	for i, a := range byPhase {
		r.phases = append(r.phases, stats(fmt.Sprintf("%d/s x %s", ps[i].rate, ps[i].dur), a.due, a.lag, a.fired))
	}
	return r
}

func phaseOf(due int64, starts []time.Time) int {
	i := 0
	for j, s := range starts {
		if due >= s.UnixMicro() {
			i = j
		}
	}
	return i
}

func ms(us int64) string { return fmt.Sprintf("%.0f ms", float64(us)/1e3) }

func (r report) print(w io.Writer, what string) {
	fmt.Fprintf(w, "timers %s: %d, %d not, %d more than once, %d that were not due\n",
		what, r.all.n, r.missing, r.duplicates, r.unexpected)
	fmt.Fprintln(w, "| phase (planned) | timers | due over | peak due in 1 s | fired over | lag p50 | p99 | p99.9 | max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range append(slices.Clone(r.phases), r.all) {
		fmt.Fprintf(w, "| %s | %d | %.1f s | %d | %.1f s | %s | %s | %s | %s |\n", s.name, s.n,
			float64(s.dueTo-s.dueFrom)/1e6, s.peakDue, s.fired.Seconds(), ms(s.p50), ms(s.p99), ms(s.p999), ms(s.max))
	}
}

// restart starts serve again on the same database and follows it until every bulk timer's
// timeout reply was delivered, or -settle after the last due time.
func restart(ctx context.Context, o options, srv *server, recv *receiver, res *results) error {
	recv.seen.Store(0)
	res.restartAt = time.Now()
	took, err := srv.start(ctx)
	if err != nil {
		return err
	}
	pid := srv.pid()
	res.readyTook = took
	res.rssReady, _ = memory(pid)
	fmt.Printf("restart: ready (/readyz 200) %.2f s after start, RSS %s\n", took.Seconds(), mib(res.rssReady))
	var last int64
	for _, d := range res.snap.due {
		last = max(last, d)
	}
	deadline := time.UnixMicro(last).Add(o.settle)
	want := int64(len(res.snap.due))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastPrint := time.Now()
	for recv.seen.Load() < want && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-srv.exited:
			return fmt.Errorf("serve exited during the run (see its log in %s)", o.work)
		case <-tick.C:
		}
		rss, _ := memory(pid)
		res.rssPeak = max(res.rssPeak, rss)
		if res.restoreLine == "" {
			res.restoreLine = grepLog(fmt.Sprintf("%s.%d.log", srv.log, srv.starts), "router restored")
		}
		if time.Since(lastPrint) >= 5*time.Second {
			lastPrint = time.Now()
			fmt.Printf("  %s: %d/%d timeout replies delivered, RSS %s\n", time.Now().UTC().Format("15:04:05"), recv.seen.Load(), want, mib(rss))
		}
	}
	res.rssEnd, res.rssPeak = memory(pid)
	fmt.Printf("after the bulk: %d/%d timeout replies delivered; RSS %s, peak (VmHWM) %s\n",
		recv.seen.Load(), want, mib(res.rssEnd), mib(res.rssPeak))
	if res.restoreLine != "" {
		fmt.Printf("leader: %s\n", res.restoreLine)
	}
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// grepLog returns the first line of a log file that contains s, or "".
func grepLog(path, s string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for l := range strings.Lines(string(b)) {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
