package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

// The shared queries (sqlstore) in SQLite's words. Times are INTEGER
// microseconds, 0 for none; one writer makes row locks moot.
var dialect = sqlstore.Dialect{
	Name:  "sqlite",
	Time:  func(t time.Time) any { return micros(t) },
	True:  "1",
	False: "0",
	// "+column": not a term SQLite may answer with an index.
	NoIndex:   func(col string) string { return "+" + col },
	IndexedBy: func(table, index string) string { return table + " INDEXED BY " + index },
	IsUnique:  isUnique,
	// One writer: no other claim runs between the choice and the update.
	ClaimEffects: `UPDATE effects
		SET status = 'leased', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
		WHERE seq IN (SELECT seq FROM (
			SELECT seq, next_attempt_at AS due FROM effects WHERE status = 'pending' AND next_attempt_at <= ?
			UNION ALL
			SELECT seq, lease_until AS due FROM effects WHERE status = 'leased' AND lease_until <= ?)
			ORDER BY due, seq LIMIT ?)
		RETURNING ` + sqlstore.EffectCols,
	ClaimTimers: `UPDATE timers SET lease_owner = ?, lease_until = ?
		WHERE id IN (SELECT id FROM timers WHERE fire_at <= ? AND lease_until <= ? ORDER BY fire_at, id LIMIT ?)
		RETURNING ` + sqlstore.TimerCols,
}

func (s *Store) sqlConfig() sqlstore.Config {
	write := func(ctx context.Context, fn func(sqlstore.Querier) error) error {
		return s.w.tx(ctx, func(x *wtx) error { return fn(writeQ{x}) })
	}
	return sqlstore.Config{
		Dialect:    dialect,
		Reads:      readQ{s.rs},
		Scans:      readQ{poolQ{s.r}},
		Write:      write,
		Tx:         write,
		Notified:   func(topic, payload string) { hubOf(s.path).Notify(topic, payload) },
		NewAddress: s.addrs.add,
	}
}

// TouchTokens is not shared: PostgreSQL updates all the tokens with one
// statement over arrays, which SQLite lacks.
func (s *Store) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.w.tx(ctx, func(x *wtx) error {
		for id, at := range used {
			if _, err := x.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = max(last_used_at, ?) WHERE id = ?`,
				micros(store.Now(at)), id); err != nil {
				return err
			}
		}
		return nil
	})
}

// rows is *sql.Rows as sqlstore.Rows.
type rows struct{ *sql.Rows }

func (r rows) Close() { _ = r.Rows.Close() }

func wrapRows(r *sql.Rows, err error) (sqlstore.Rows, error) {
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

// writeQ runs statements in the writer's transaction.
type writeQ struct{ x *wtx }

func (q writeQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return wrapRows(q.x.QueryContext(ctx, query, args...))
}

func (q writeQ) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.x.QueryRowContext(ctx, query, args...)
}

func (q writeQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return q.x.exec(ctx, query, args...)
}

var errReadOnly = errors.New("sqlite: a write through the read pool")

// readQ runs queries on the read pool.
type readQ struct{ r querier }

func (q readQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return wrapRows(q.r.QueryContext(ctx, query, args...))
}

func (q readQ) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.r.QueryRowContext(ctx, query, args...)
}

func (readQ) Exec(context.Context, string, ...any) (int64, error) { return 0, errReadOnly }

// poolQ runs the read pool's queries unprepared, with the text rule that
// the prepared reads apply: lookups find what writes cleaned.
type poolQ struct{ db *sql.DB }

func (q poolQ) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.db.QueryContext(ctx, query, cleanArgs(args)...)
}

func (q poolQ) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return q.db.QueryRowContext(ctx, query, cleanArgs(args)...)
}
