// Package postgres is the scale-out store: PostgreSQL through pgx v5 and a
// connection pool, so several runtime nodes share one database. The outbox
// and timers are claimed with FOR UPDATE SKIP LOCKED, find-or-create paths
// are made atomic by unique indexes or transaction-scoped advisory locks, and
// Commit sends a whole batch in two pipelined round trips when it can.
//
// The store lives in the connection's current schema: a URL parameter
// ?search_path=NAME (passed to the server as a run-time parameter) puts
// several stores in one database, as the tests do.
//
// Importing the package registers the "postgres" and "postgresql" schemes
// with store.Open.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/internal/fanout"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

func init() {
	open := func(ctx context.Context, url string) (store.Store, error) { return Open(ctx, url) }
	store.Register("postgres", open)
	store.Register("postgresql", open)
}

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultMaxConns is the pool size when the connection string does not set
// pool_max_conns (pgx's own default, max(4, CPUs), starves the concurrent
// reads of the inbound path on small machines).
const DefaultMaxConns = 32

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	*sqlstore.DB // the queries both stores share

	url     string
	pool    *pgxpool.Pool
	lookups *store.Batcher[store.Address, store.Contact] // see lookups.go

	closeOnce sync.Once

	// LISTEN/NOTIFY (see Subscribe)
	listenOnce sync.Once
	subs       store.Fanout
	stopListen context.CancelFunc
	listenDone chan struct{}

	// the relay's reader (see relay.go)
	relayOnce sync.Once
	relay     *fanout.Payloads
	stopRelay context.CancelFunc
	relayDone chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open connects to the database a pgx connection string names
// (postgres://user@host:port/db?sslmode=disable&search_path=schema) and
// applies pending migrations. The pool holds at most DefaultMaxConns
// connections unless the string sets pool_max_conns.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.ConnConfig.Tracer = textRule{} // see text.go
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		registerTextRule(c.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{url: url, pool: pool}
	s.DB = sqlstore.New(s.sqlConfig())
	s.lookups = store.NewBatcher(maxLookups, s.lookupContacts)
	if err := s.migrate(ctx); err != nil {
		s.lookups.Close()
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Reopen opens a second Store, with its own pool, on the same database and
// schema (store.Reopener): another runtime node.
func (s *Store) Reopen(ctx context.Context) (store.Store, error) { return Open(ctx, s.url) }

// Pool returns the connection pool (for LISTEN/NOTIFY and advisory locks
// elsewhere in the runtime).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the pool, waiting for connections in use to be released.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.relayOnce.Do(func() {}) // no relay reader starts after Close
		if s.stopRelay != nil {
			s.stopRelay()
			<-s.relayDone
		}
		s.listenOnce.Do(func() {}) // no listener starts after Close
		if s.stopListen != nil {
			s.stopListen()
			<-s.listenDone
		}
		s.lookups.Close()
		s.pool.Close()
	})
	return nil
}

// migrate applies the embedded migrations not yet recorded. Each runs in
// its own transaction holding an advisory lock, so runtime nodes starting
// together apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	m := sqlstore.Migrator{
		Dialect: dialect,
		Scripts: migrations,
		Tx:      s.sqlConfig().Tx,
		Lock:    `SELECT pg_advisory_xact_lock(hashtextextended('switchboard migrations ' || current_schema(), 0))`,
		Table: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		// No arguments: the simple protocol, which runs a multi-statement script.
		Script: func(ctx context.Context, q sqlstore.Querier, script string) error {
			_, err := q.Exec(ctx, script)
			return err
		},
	}
	return m.Migrate(ctx)
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// unitFault reports an error caused by one unit's data (integrity
// constraint violations, class 23; bad data, class 22), so that only that
// unit fails and the batch goes on.
func unitFault(err error) bool {
	c := pgCode(err)
	return strings.HasPrefix(c, "23") || strings.HasPrefix(c, "22") ||
		errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound)
}

const uniqueViolation = "23505"

// URL returns the connection string the store was opened with.
func (s *Store) URL() string { return s.url }
