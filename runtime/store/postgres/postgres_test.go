package postgres_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/internal/procstat"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/postgres"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// open returns a store in a fresh schema of the test database (see
// storetest.OpenPostgres), skipping visibly when no server is configured.
func open(tb testing.TB) store.Store { return storetest.OpenPostgres(tb) }

// requireDSN skips the whole test once, rather than each of its cases.
func requireDSN(tb testing.TB) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		storetest.OpenPostgres(tb) // skips, saying why
	}
}

func TestConformance(t *testing.T) {
	requireDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkGroupCommit(b *testing.B) {
	storetest.BenchGroupCommit(b, func(b *testing.B) store.Store { return open(b) })
}

func BenchmarkCommit(b *testing.B) {
	storetest.BenchCommit(b, func(b *testing.B) store.Store { return open(b) })
}

func BenchmarkWaitingSteps(b *testing.B) {
	storetest.BenchWaitingSteps(b, func(b *testing.B) store.Store { return open(b) })
}

func TestOpenURL(t *testing.T) {
	s := open(t).(*postgres.Store)
	for _, scheme := range []string{"postgres", "postgresql"} {
		u, _ := url.Parse(s.URL())
		u.Scheme = scheme
		s2, err := store.Open(context.Background(), u.String())
		if err != nil {
			t.Fatalf("Open(%s): %v", u.Scheme, err)
		}
		if _, ok := s2.(*postgres.Store); !ok {
			t.Fatalf("Open(%s) = %T", u.Scheme, s2)
		}
		s2.Close()
	}
}

func TestPoolSize(t *testing.T) {
	s := open(t).(*postgres.Store)
	if got := s.Pool().Config().MaxConns; got != postgres.DefaultMaxConns {
		t.Fatalf("MaxConns %d, want the default %d", got, postgres.DefaultMaxConns)
	}
	u, _ := url.Parse(s.URL())
	q := u.Query()
	q.Set("pool_max_conns", "7")
	u.RawQuery = q.Encode()
	s2, err := postgres.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.Pool().Config().MaxConns; got != 7 {
		t.Fatalf("MaxConns %d with pool_max_conns=7", got)
	}
}

func BenchmarkInboundReads(b *testing.B) {
	storetest.BenchInboundReads(b, func(b *testing.B) store.Store { return open(b) })
}

// BenchmarkCommitNewContacts also reports the server's CPU per unit: the
// CPU time of the backends serving the store's connections (by their
// application_name, which storetest.OpenPostgres sets to the schema), read
// from /proc, so the server must run on this machine.
func BenchmarkCommitNewContacts(b *testing.B) {
	storetest.BenchCommitNewContactsServer(b, func(b *testing.B) store.Store { return open(b) }, backendCPU)
}

func backendCPU(s store.Store) time.Duration {
	ps := s.(*postgres.Store)
	u, err := url.Parse(ps.URL())
	if err != nil {
		panic(err)
	}
	rows, err := ps.Pool().Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`,
		u.Query().Get("application_name"))
	if err != nil {
		panic(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		panic(err)
	}
	var total time.Duration
	for _, pid := range pids {
		cpu, err := procstat.CPUTime(int(pid))
		if err != nil {
			continue // not on this machine, or gone
		}
		total += cpu
	}
	return total
}
