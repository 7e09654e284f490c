package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

// The shared queries (sqlstore) in PostgreSQL's words: timestamptz, NULL
// for no time, row locks for concurrent nodes.
var dialect = sqlstore.Dialect{
	Name:      "postgres",
	Numbered:  true,
	Time:      tsOrNull,
	True:      "true",
	False:     "false",
	ForShare:  " FOR SHARE",
	ForUpdate: " FOR UPDATE",
	LockTable: `LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE`,
	NoIndex:   func(col string) string { return col },
	IndexedBy: func(table, _ string) string { return table }, // the planner picks the partial index
	IsUnique:  func(err error) bool { return pgCode(err) == uniqueViolation },
	// SKIP LOCKED: concurrent claimers (other nodes) pass over the rows
	// being claimed instead of waiting for them; a row claimed and
	// committed meanwhile is re-checked against the WHERE and left out.
	ClaimEffects: `UPDATE effects e
		SET status = 'leased', lease_owner = ?, lease_until = ?, attempts = e.attempts + 1, updated_at = ?
		FROM (SELECT seq FROM effects
			WHERE (status = 'pending' AND next_attempt_at <= ?) OR (status = 'leased' AND lease_until <= ?)
			ORDER BY next_attempt_at, seq LIMIT ? FOR UPDATE SKIP LOCKED) due
		WHERE e.seq = due.seq
		RETURNING ` + sqlstore.Prefixed("e.", sqlstore.EffectCols),
	ClaimTimers: `UPDATE timers t SET lease_owner = ?, lease_until = ?
		FROM (SELECT id FROM timers WHERE fire_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY fire_at, id LIMIT ? FOR UPDATE SKIP LOCKED) due
		WHERE t.id = due.id
		RETURNING ` + sqlstore.Prefixed("t.", sqlstore.TimerCols),
}

func (s *Store) sqlConfig() sqlstore.Config {
	pool := pgxQ{s.pool}
	return sqlstore.Config{
		Dialect: dialect,
		Reads:   pool,
		Scans:   pool,
		Write: func(_ context.Context, fn func(sqlstore.Querier) error) error {
			return fn(pool)
		},
		Tx: func(ctx context.Context, fn func(sqlstore.Querier) error) error {
			return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(pgxQ{tx}) })
		},
		LockConversation: func(ctx context.Context, q sqlstore.Querier, contactID, channel, instance string) error {
			_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
				conversationLockKey(contactID, channel, instance))
			return err
		},
		// Delivered at commit.
		NotifyTx: func(ctx context.Context, q sqlstore.Querier, topic, payload string) error {
			_, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, topic, payload)
			return err
		},
	}
}

// TouchTokens is not shared: one statement over arrays updates every token.
func (s *Store) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	ats := make([]time.Time, 0, len(used))
	for id, at := range used {
		ids, ats = append(ids, id), append(ats, store.Now(at))
	}
	_, err := s.pool.Exec(ctx, `UPDATE api_tokens t SET last_used_at = greatest(t.last_used_at, u.at)
		FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at) WHERE t.id = u.id`, ids, ats)
	return err
}

// tsOrNull stores a zero time as NULL.
func tsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.Micro(t)
}

// pgxQ is the pool or a transaction as a sqlstore.Querier: pgx's rows and
// row already are sqlstore's.
type pgxQ struct {
	q interface {
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	}
}

func (p pgxQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := p.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (p pgxQ) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return p.q.QueryRow(ctx, query, args...)
}

func (p pgxQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}
