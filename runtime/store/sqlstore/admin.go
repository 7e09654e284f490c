package sqlstore

import (
	"context"
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

// WaitingSteps counts through executions_waiting_steps, an index of the
// waiting executions by version and step: no payload is read.
func (db *DB) WaitingSteps(ctx context.Context, version string) ([]store.StepCount, error) {
	rows, err := db.query(ctx, db.c.Scans, `SELECT step, count(*) FROM `+db.d.IndexedBy("executions", "executions_waiting_steps")+`
		WHERE status = 'waiting' AND program_version = ? AND step <> '' GROUP BY step`, version)
	type row struct {
		step string
		n    int
	}
	counts, err := collect(rows, err, func(sc Row) (r row, err error) { return r, sc.Scan(&r.step, &r.n) })
	if err != nil {
		return nil, err
	}
	out := make([]store.StepCount, 0, len(counts))
	for _, c := range counts {
		if flow, state, ok := store.ParseStep(c.step); ok {
			out = append(out, store.StepCount{Flow: flow, State: state, Waiting: c.n})
		}
	}
	return out, nil
}
