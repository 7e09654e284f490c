package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

// Commit applies the batch in one write transaction: one fsync, the
// COMMIT's, however many units it holds.
//
// A batch whose units all commit — nearly every batch — is written table by
// table (see bulk.go): one multi-row INSERT per table for the rows of all its
// units, in the order that applying the units one by one would write them,
// after checks that prove none of them is a Duplicate, a Conflict or Failed.
// When a check or a statement says otherwise (a redelivered message, a lost
// race, a bad unit), that transaction is rolled back and the batch is applied
// again unit by unit, each unit inside a savepoint: a unit that turns out
// Duplicate, Conflict or Failed is rolled back to it alone. Both ways give
// the same results and leave the same rows.
func (s *Store) Commit(ctx context.Context, b *store.Batch) ([]store.UnitResult, error) {
	res := make([]store.UnitResult, len(b.Units))
	valid := 0
	for i, u := range b.Units {
		if err := u.Validate(); err != nil {
			res[i] = store.UnitResult{Outcome: store.Failed, Err: err}
			continue
		}
		valid++
		if u.Contact != nil {
			// Before the commit: a unit that finds the address taken (by
			// another process) leaves it known here too.
			s.addrs.add(u.Contact.Channel, u.Contact.Address)
		}
	}
	if valid == 0 {
		return res, nil
	}
	now := store.Now(time.Time{})
	if p := planBulk(b.Units, res, now); p != nil {
		err := s.w.tx(ctx, func(x *wtx) error { return p.apply(ctx, x) })
		if err == nil {
			for i, u := range b.Units {
				if res[i].Outcome == 0 {
					res[i] = u.CommittedResult()
				}
			}
			return res, nil
		}
		if !errors.Is(err, errFallback) && !unitFault(err) {
			return nil, fmt.Errorf("sqlite: commit: %w", err)
		}
	}
	return s.commitUnits(ctx, b, res, now)
}

// commitUnits applies the valid units one by one, each inside a savepoint.
func (s *Store) commitUnits(ctx context.Context, b *store.Batch, res []store.UnitResult, now time.Time) ([]store.UnitResult, error) {
	invalid := make([]bool, len(res))
	for i := range res {
		invalid[i] = res[i].Outcome == store.Failed
	}
	err := s.w.tx(ctx, func(x *wtx) error {
		for i, u := range b.Units {
			if invalid[i] {
				continue
			}
			if _, err := x.ExecContext(ctx, "SAVEPOINT unit"); err != nil {
				return err
			}
			r, err := applyUnit(ctx, x, u, now)
			if err != nil {
				if !unitFault(err) {
					return err // the database's fault: the whole batch fails
				}
				r = store.UnitResult{Outcome: store.Failed, Err: err}
			}
			if r.Outcome != store.Committed {
				if _, err := x.ExecContext(ctx, "ROLLBACK TO unit"); err != nil {
					return err
				}
			}
			if _, err := x.ExecContext(ctx, "RELEASE unit"); err != nil {
				return err
			}
			res[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: commit: %w", err)
	}
	return res, nil
}

// unitFault reports whether err is caused by the unit's data, so that only
// that unit fails and the batch goes on.
func unitFault(err error) bool {
	return isConstraint(err) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound)
}

func conflict(reason string) store.UnitResult {
	return store.UnitResult{Outcome: store.Conflict, Reason: reason}
}

// applyUnit writes one unit; a non-Committed result or an error leaves the
// caller to roll back the unit's savepoint.
func applyUnit(ctx context.Context, x *wtx, u *store.Unit, now time.Time) (store.UnitResult, error) {
	at := now
	if !u.At.IsZero() {
		at = store.Micro(u.At)
	}
	t := micros(at)
	if r, err := applyIdentity(ctx, x, u, t); r != nil || err != nil {
		return result(r), err
	}
	if r, err := applyInbound(ctx, x, u, t); r != nil || err != nil {
		return result(r), err
	}
	if err := applyOutbox(ctx, x, u, t); err != nil {
		return store.UnitResult{}, err
	}
	if r, err := applyTasks(ctx, x, u, t); r != nil || err != nil {
		return result(r), err
	}
	return u.CommittedResult(), nil
}

// The parts of applyUnit return the unit's outcome when it is not
// Committed (stop), else nil.

func stop(r store.UnitResult) *store.UnitResult { return &r }

func result(r *store.UnitResult) store.UnitResult {
	if r == nil {
		return store.UnitResult{}
	}
	return *r
}

// applyIdentity creates the unit's contact and conversation.
func applyIdentity(ctx context.Context, x *wtx, u *store.Unit, t int64) (*store.UnitResult, error) {
	// The one writer makes each check-and-insert atomic: no other
	// transaction can claim the address or open the conversation meanwhile.
	// The checks are in the inserts (one statement each on the common path).
	if c := u.Contact; c != nil {
		if _, err := x.ExecContext(ctx, `INSERT INTO contacts (id, name, attributes, created_at) VALUES (?, ?, '{}', ?)`, c.ID, c.Name, t); err != nil {
			return nil, err
		}
		n, err := x.exec(ctx, `INSERT INTO contact_addresses (channel, address, contact_id, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, c.Channel, c.Address, c.ID, t)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return stop(conflict(store.ReasonAddressTaken)), nil // the contact row goes with the savepoint
		}
	}
	if c := u.Conversation; c != nil {
		q := `INSERT INTO conversations (` + sqlstore.ConversationCols + `)
			SELECT ?, k.id, ?, ?, 'open', '{}', ?, ? FROM contacts k
			WHERE k.id = ? AND k.merged_into IS NULL AND (? OR NOT EXISTS (SELECT 1 FROM conversations o
				WHERE o.contact_id = k.id AND o.channel = ? AND o.instance = ? AND o.status = 'open'))`
		n, err := x.exec(ctx, q, c.ID, c.Channel, c.Instance, t, t, c.ContactID, c.Beside, c.Channel, c.Instance)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			// Why not: the contact is missing, merged, or has that conversation open.
			var merged sql.NullString
			err := x.QueryRowContext(ctx, `SELECT merged_into FROM contacts WHERE id = ?`, c.ContactID).Scan(&merged)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return nil, fmt.Errorf("contact %s: %w", c.ContactID, store.ErrNotFound)
			case err != nil:
				return nil, err
			case merged.Valid:
				return stop(conflict(store.ReasonContactMerged)), nil
			}
			return stop(conflict(store.ReasonConversationExists)), nil
		}
	}
	return nil, nil
}

// applyInbound stores the inbound message (once) and the execution.
func applyInbound(ctx context.Context, x *wtx, u *store.Unit, t int64) (*store.UnitResult, error) {
	if m := u.Inbound; m != nil {
		// DO NOTHING without a target covers the dedupe index (and a
		// re-used message id, the same message again).
		n, err := x.exec(ctx, `INSERT INTO messages (id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at)
			VALUES (?, ?, 'in', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			m.ID, m.ConversationID, m.Connector, m.Instance, sqlstore.Nullable(m.PlatformMessageID), m.Text, sqlstore.Payload(m.Payload), createdAt(m.CreatedAt, t))
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return stop(store.UnitResult{Outcome: store.Duplicate, Reason: store.ReasonDuplicate}), nil
		}
	}

	if w := u.Execution; w != nil {
		e := w.Execution
		var n int64
		var err error
		if w.Expected == 0 {
			n, err = x.exec(ctx, `INSERT INTO executions (`+sqlstore.ExecutionCols+`) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT DO NOTHING`,
				e.ID, e.ConversationID, e.Flow, e.ProgramVersion, e.Status, sqlstore.Payload(e.Payload), t, t, e.Step)
			if err == nil && n == 0 {
				var one int
				if x.QueryRowContext(ctx, `SELECT 1 FROM executions WHERE id = ?`, e.ID).Scan(&one) == nil {
					return stop(conflict(store.ReasonVersion)), nil
				}
				return stop(conflict(store.ReasonLiveExecution)), nil
			}
		} else {
			n, err = x.exec(ctx, `UPDATE executions SET flow = ?, program_version = ?, status = ?, payload = ?, version = version + 1, updated_at = ?, step = ?
				WHERE id = ? AND version = ?`,
				e.Flow, e.ProgramVersion, e.Status, sqlstore.Payload(e.Payload), t, e.Step, e.ID, w.Expected)
			if isUnique(err) {
				return stop(conflict(store.ReasonLiveExecution)), nil
			}
			if err == nil && n == 0 {
				return stop(conflict(store.ReasonVersion)), nil
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// applyOutbox stores the replies, effects and timers.
func applyOutbox(ctx context.Context, x *wtx, u *store.Unit, t int64) error {
	for _, m := range u.Messages {
		if _, err := x.exec(ctx, `INSERT INTO messages (id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			m.ID, m.ConversationID, m.Direction, m.Connector, m.Instance, sqlstore.Nullable(m.PlatformMessageID), m.Text, sqlstore.Payload(m.Payload), createdAt(m.CreatedAt, t)); err != nil {
			return err
		}
	}

	for _, e := range u.Effects {
		key, due := effectDefaults(e, t)
		if _, err := x.exec(ctx, `INSERT INTO effects (id, execution_id, kind, idempotency_key, payload, status, next_attempt_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING`,
			e.ID, sqlstore.Nullable(e.ExecutionID), e.Kind, key, sqlstore.Payload(e.Payload), due, t, t); err != nil {
			return err
		}
	}
	for _, r := range u.CompleteEffects {
		if _, err := x.exec(ctx, `UPDATE effects SET status = 'done', result = ?, lease_owner = '', lease_until = 0, updated_at = ?
			WHERE id = ? AND status <> 'done'`, sqlstore.Payload(r.Result), t, r.ID); err != nil {
			return err
		}
	}

	for _, id := range u.DeleteTimers {
		if _, err := x.exec(ctx, `DELETE FROM timers WHERE id = ?`, id); err != nil {
			return err
		}
	}
	for _, tm := range u.Timers {
		if _, err := x.exec(ctx, `INSERT INTO timers (id, execution_id, fire_at, payload, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET execution_id = excluded.execution_id, fire_at = excluded.fire_at,
				payload = excluded.payload, lease_owner = '', lease_until = 0`,
			tm.ID, sqlstore.Nullable(tm.ExecutionID), micros(store.Micro(tm.FireAt)), sqlstore.Payload(tm.Payload), t); err != nil {
			return err
		}
	}
	return nil
}

// applyTasks creates and updates tasks and closes conversations.
func applyTasks(ctx context.Context, x *wtx, u *store.Unit, t int64) (*store.UnitResult, error) {
	for _, tk := range u.Tasks {
		args, err := sqlstore.TaskArgs(tk, t)
		if err != nil {
			return nil, err
		}
		n, err := x.exec(ctx, `INSERT INTO tasks (`+sqlstore.TaskCols+`) VALUES `+insTasks.row+` ON CONFLICT DO NOTHING`, args...)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return stop(conflict(store.ReasonOpenTask)), nil
		}
	}
	for _, tu := range u.TaskUpdates {
		attrs, err := sqlstore.OptionalObject(tu.Attributes)
		if err != nil {
			return nil, err
		}
		n, err := x.exec(ctx, `UPDATE tasks SET status = ?, attributes = coalesce(?, attributes), updated_at = ? WHERE id = ?`,
			tu.Status, attrs, t, tu.ID)
		if isUnique(err) {
			return stop(conflict(store.ReasonOpenTask)), nil
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("task %s: %w", tu.ID, store.ErrNotFound)
		}
	}

	for _, id := range u.CloseConversations {
		n, err := x.exec(ctx, `UPDATE conversations SET status = 'closed', updated_at = ? WHERE id = ?`, t, id)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("conversation %s: %w", id, store.ErrNotFound)
		}
	}
	return nil, nil
}

// effectDefaults are a new effect's idempotency key and due time (the
// unit's time, micros, unless set).
func effectDefaults(e store.Effect, unit int64) (key string, due int64) {
	key, due = e.Key(), unit
	if !e.NextAttemptAt.IsZero() {
		due = micros(store.Micro(e.NextAttemptAt))
	}
	return key, due
}

// createdAt is a message's own time when it has one, else the unit's.
func createdAt(t time.Time, unit int64) int64 {
	if t.IsZero() {
		return unit
	}
	return micros(store.Micro(t))
}
