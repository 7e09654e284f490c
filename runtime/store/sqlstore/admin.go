package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// What the admin console asks of the outbox and the executions.

// RequeueDeadLetter changes a dead effect to pending in one statement, so
// two concurrent retries cannot both requeue it: the second finds no dead
// effect and is told so.
func (db *DB) RequeueDeadLetter(ctx context.Context, id string, at time.Time) error {
	return db.c.Write(ctx, func(x Querier) error {
		n, err := db.exec(ctx, x, `UPDATE effects SET status = 'pending', next_attempt_at = ?, lease_owner = '', lease_until = ?, updated_at = ?
			WHERE id = ? AND status = 'dead'`, db.time(store.Now(at)), db.time(time.Time{}), db.time(store.Now(time.Time{})), id)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return err
	})
}

// DiscardDeadLetter deletes a dead effect.
func (db *DB) DiscardDeadLetter(ctx context.Context, id string) error {
	return db.c.Write(ctx, func(x Querier) error {
		n, err := db.exec(ctx, x, `DELETE FROM effects WHERE id = ? AND status = 'dead'`, id)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return err
	})
}

// WaitingSteps groups the waiting executions of a version by the dialect's
// reading of their payload's last frame (Dialect.WaitingSteps), through
// the executions_status index.
func (db *DB) WaitingSteps(ctx context.Context, version string) ([]store.StepCount, error) {
	rows, err := db.query(ctx, db.c.Scans, db.d.WaitingSteps, version)
	counts, err := collect(rows, err, func(sc Row) (store.StepCount, error) {
		var flow sql.NullString
		var state sql.NullInt64
		var c store.StepCount
		if err := sc.Scan(&flow, &state, &c.Waiting); err != nil {
			return c, err
		}
		c.Flow, c.State = flow.String, int(state.Int64)
		if !flow.Valid || !state.Valid {
			c.Flow = "" // not a payload the engine wrote
		}
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	out := counts[:0]
	for _, c := range counts {
		if c.Flow != "" {
			out = append(out, c)
		}
	}
	return out, nil
}
