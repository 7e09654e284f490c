package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// ---- messages ----

const messageCols = `id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at`

func scanMessage(sc Row) (store.Message, error) {
	var m store.Message
	if err := sc.Scan(&m.ID, &m.ConversationID, &m.Direction, &m.Connector, &m.Instance, text(&m.PlatformMessageID), &m.Text,
		bytes(&m.Payload), at(&m.CreatedAt)); err != nil {
		return m, notFound(err)
	}
	return m, nil
}

func (db *DB) FindMessage(ctx context.Context, connector, instance, platformMessageID string) (store.Message, error) {
	if platformMessageID == "" {
		return store.Message{}, store.ErrNotFound
	}
	return scanMessage(db.row(ctx, db.c.Reads, `SELECT `+messageCols+` FROM messages
		WHERE connector = ? AND instance = ? AND platform_message_id = ? AND direction = 'in'`, connector, instance, platformMessageID))
}

func (db *DB) FindSent(ctx context.Context, connector, instance, platformMessageID string) (store.Message, error) {
	if platformMessageID == "" {
		return store.Message{}, store.ErrNotFound
	}
	return scanMessage(db.row(ctx, db.c.Reads, `SELECT `+messageCols+` FROM messages
		WHERE connector = ? AND instance = ? AND platform_message_id = ? AND direction = 'out'`, connector, instance, platformMessageID))
}

func (db *DB) ListMessages(ctx context.Context, conversationID string, page store.Page) ([]store.Message, string, error) {
	return list(ctx, db, "messages", messageCols, []string{"conversation_id = ?"}, []any{conversationID}, page, scanMessage)
}

// ---- executions ----

// ExecutionCols are an execution's columns.
const ExecutionCols = `id, conversation_id, flow, program_version, status, payload, version, created_at, updated_at, step`

func scanExecution(sc Row) (store.Execution, error) {
	var e store.Execution
	if err := sc.Scan(&e.ID, &e.ConversationID, &e.Flow, &e.ProgramVersion, &e.Status, bytes(&e.Payload), &e.Version,
		at(&e.CreatedAt), at(&e.UpdatedAt), &e.Step); err != nil {
		return e, notFound(err)
	}
	return e, nil
}

func (db *DB) GetExecution(ctx context.Context, id string) (store.Execution, error) {
	return scanExecution(db.row(ctx, db.c.Reads, `SELECT `+ExecutionCols+` FROM executions WHERE id = ?`, id))
}

func (db *DB) LiveExecution(ctx context.Context, conversationID string) (store.Execution, error) {
	return scanExecution(db.row(ctx, db.c.Reads, `SELECT `+ExecutionCols+` FROM executions
		WHERE conversation_id = ? AND status IN ('running', 'waiting')`, conversationID))
}

func (db *DB) ListExecutions(ctx context.Context, f store.ExecutionFilter, page store.Page) ([]store.Execution, string, error) {
	var where []string
	var args []any
	if f.ConversationID != "" {
		where, args = append(where, "conversation_id = ?"), append(args, f.ConversationID)
	}
	switch {
	case f.Status == "":
	case f.ConversationID != "":
		// Not a term for an index of status, so that a conversation's few
		// executions come from executions_conversation.
		where, args = append(where, db.d.NoIndex("status")+" = ?"), append(args, string(f.Status))
	case f.Status.Known():
		// A literal, not a parameter: the planners use the partial index
		// executions_unfinished only for a status they can see.
		where = append(where, "status = '"+string(f.Status)+"'")
	default:
		return nil, "", nil
	}
	return list(ctx, db, "executions", ExecutionCols, where, args, page, scanExecution)
}

// LiveProgramVersions reads the versions through executions_live, the
// index of the live executions, instead of every execution ever run.
func (db *DB) LiveProgramVersions(ctx context.Context) ([]string, error) {
	rows, err := db.query(ctx, db.c.Scans, `SELECT DISTINCT program_version FROM `+db.d.IndexedBy("executions", "executions_live")+
		` WHERE status IN ('running', 'waiting')`)
	return collect(rows, err, func(sc Row) (v string, err error) { return v, sc.Scan(&v) })
}

// ---- outbox ----

// EffectCols are an effect's columns, as Dialect.ClaimEffects returns them.
const EffectCols = `id, execution_id, kind, idempotency_key, payload, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, result, created_at`

func scanEffect(sc Row) (store.Effect, error) {
	var e store.Effect
	if err := sc.Scan(&e.ID, text(&e.ExecutionID), &e.Kind, &e.IdempotencyKey, bytes(&e.Payload), &e.Status, &e.Attempts, at(&e.NextAttemptAt),
		&e.LeaseOwner, at(&e.LeaseUntil), &e.LastError, bytes(&e.Result), at(&e.CreatedAt)); err != nil {
		return e, notFound(err)
	}
	return e, nil
}

func (db *DB) ClaimEffects(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]store.Effect, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("%w: ClaimEffects needs an owner, a limit and a lease", store.ErrInvalid)
	}
	now = store.Now(now)
	n := db.time(now)
	var out []store.Effect
	err := db.c.Write(ctx, func(x Querier) error {
		rows, err := db.query(ctx, x, db.d.ClaimEffects, owner, db.time(now.Add(lease)), n, n, n, limit)
		out, err = collect(rows, err, scanEffect)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NextAttemptAt.Before(out[j].NextAttemptAt) })
	return out, nil
}

// effectUpdate runs an update on one effect, telling a missing one apart.
func (db *DB) effectUpdate(ctx context.Context, id, q string, args ...any) error {
	return db.c.Write(ctx, func(x Querier) error {
		n, err := db.exec(ctx, x, q, args...)
		if err != nil || n > 0 {
			return err
		}
		var one int
		return notFound(db.row(ctx, x, `SELECT 1 FROM effects WHERE id = ?`, id).Scan(&one))
	})
}

func (db *DB) CompleteEffect(ctx context.Context, id string, result json.RawMessage) error {
	return db.effectUpdate(ctx, id, `UPDATE effects SET status = 'done', result = ?, lease_owner = '', lease_until = ?, updated_at = ?
		WHERE id = ? AND status <> 'done'`, Payload(result), db.time(time.Time{}), db.time(store.Now(time.Time{})), id)
}

func (db *DB) RetryEffect(ctx context.Context, id string, nextAttemptAt time.Time, errText string) error {
	return db.effectUpdate(ctx, id, `UPDATE effects SET status = 'pending', next_attempt_at = ?, last_error = ?, lease_owner = '', lease_until = ?, updated_at = ?
		WHERE id = ? AND status <> 'done'`, db.time(store.Now(nextAttemptAt)), errText, db.time(time.Time{}), db.time(store.Now(time.Time{})), id)
}

func (db *DB) DeadLetter(ctx context.Context, id string, errText string) error {
	return db.effectUpdate(ctx, id, `UPDATE effects SET status = 'dead', last_error = ?, lease_owner = '', lease_until = ?, updated_at = ?
		WHERE id = ? AND status <> 'done'`, errText, db.time(time.Time{}), db.time(store.Now(time.Time{})), id)
}

func (db *DB) GetEffect(ctx context.Context, id string) (store.Effect, error) {
	return scanEffect(db.row(ctx, db.c.Reads, `SELECT `+EffectCols+` FROM effects WHERE id = ?`, id))
}

func (db *DB) ListDeadLetters(ctx context.Context, page store.Page) ([]store.Effect, string, error) {
	return list(ctx, db, "effects", EffectCols, []string{"status = 'dead'"}, nil, page, scanEffect)
}

func (db *DB) OutboxStats(ctx context.Context) (map[store.EffectStatus]int, error) {
	rows, err := db.query(ctx, db.c.Scans, `SELECT status, count(*) FROM effects GROUP BY status`)
	type count struct {
		status store.EffectStatus
		n      int
	}
	counts, err := collect(rows, err, func(sc Row) (c count, err error) { return c, sc.Scan(&c.status, &c.n) })
	if err != nil {
		return nil, err
	}
	out := map[store.EffectStatus]int{store.EffectPending: 0, store.EffectLeased: 0, store.EffectDone: 0, store.EffectDead: 0}
	for _, c := range counts {
		out[c.status] = c.n
	}
	return out, nil
}

// ---- timers ----

// TimerCols are a timer's columns, as Dialect.ClaimTimers returns them.
const TimerCols = `id, execution_id, fire_at, payload, lease_owner, lease_until`

func scanTimer(sc Row) (store.Timer, error) {
	var t store.Timer
	if err := sc.Scan(&t.ID, text(&t.ExecutionID), at(&t.FireAt), bytes(&t.Payload), &t.LeaseOwner, at(&t.LeaseUntil)); err != nil {
		return t, notFound(err)
	}
	return t, nil
}

func (db *DB) ClaimDueTimers(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]store.Timer, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("%w: ClaimDueTimers needs an owner, a limit and a lease", store.ErrInvalid)
	}
	now = store.Now(now)
	n := db.time(now)
	var out []store.Timer
	err := db.c.Write(ctx, func(x Querier) error {
		rows, err := db.query(ctx, x, db.d.ClaimTimers, owner, db.time(now.Add(lease)), n, n, limit)
		out, err = collect(rows, err, scanTimer)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FireAt.Before(out[j].FireAt) })
	return out, nil
}

func (db *DB) DeleteTimer(ctx context.Context, id string) error {
	return db.c.Write(ctx, func(x Querier) error {
		_, err := db.exec(ctx, x, `DELETE FROM timers WHERE id = ?`, id)
		return err
	})
}

func (db *DB) NextTimerAt(ctx context.Context) (time.Time, bool, error) {
	var t nullTime
	if err := db.row(ctx, db.c.Reads, `SELECT min(fire_at) FROM timers`).Scan(&t); err != nil {
		return time.Time{}, false, err
	}
	return time.Time(t.t), t.valid, nil
}

// nullTime scans a time column that may be NULL.
type nullTime struct {
	t     timeCol
	valid bool
}

func (n *nullTime) Scan(src any) error {
	n.valid = src != nil
	return n.t.Scan(src)
}

// ---- tasks ----

// TaskCols are a task's columns as a unit inserts them; taskReadCols add
// what the router leader writes.
const (
	TaskCols     = `id, conversation_id, contact_id, execution_id, workflow, attributes, priority, status, channel, created_at, updated_at, quiet`
	taskReadCols = TaskCols + `, queue, worker_id`
)

func scanTask(sc Row) (store.Task, error) {
	var t store.Task
	var attrs string
	var quiet int
	if err := sc.Scan(&t.ID, &t.ConversationID, &t.ContactID, text(&t.ExecutionID), &t.Workflow, &attrs, &t.Priority, &t.Status, &t.Channel,
		at(&t.CreatedAt), at(&t.UpdatedAt), &quiet, &t.Queue, &t.WorkerID); err != nil {
		return t, notFound(err)
	}
	t.Attributes, t.Quiet = json.RawMessage(attrs), quiet != 0
	return t, nil
}

func (db *DB) GetTask(ctx context.Context, id string) (store.Task, error) {
	return scanTask(db.row(ctx, db.c.Scans, `SELECT `+taskReadCols+` FROM tasks WHERE id = ?`, id))
}

func (db *DB) TaskPosition(ctx context.Context, id string) (int, error) {
	var n int
	err := db.row(ctx, db.c.Reads, `SELECT CASE WHEN me.status = 'waiting' THEN (SELECT COUNT(*) FROM tasks t
			WHERE t.status = 'waiting' AND t.seq <= me.seq AND t.workflow = me.workflow AND t.channel = me.channel) ELSE 0 END
		FROM tasks me WHERE me.id = ?`, id).Scan(&n)
	return n, notFound(err)
}

func (db *DB) ListTasks(ctx context.Context, status store.TaskStatus, page store.Page) ([]store.Task, string, error) {
	var where []string
	var args []any
	if status != "" {
		where, args = append(where, "status = ?"), append(args, string(status))
	}
	return list(ctx, db, "tasks", taskReadCols, where, args, page, scanTask)
}

// ---- tokens ----

func (db *DB) CreateToken(ctx context.Context, t store.Token) error {
	if t.Hash == "" || (t.Role != store.RoleAdmin && t.Role != store.RoleWorker) {
		return fmt.Errorf("%w: token needs a hash and role admin or worker", store.ErrInvalid)
	}
	if t.ID == "" {
		t.ID = "tok_" + store.NewID()
	}
	created, expires := db.time(store.Now(t.CreatedAt)), db.time(store.Micro(t.ExpiresAt))
	return db.c.Write(ctx, func(x Querier) error {
		var n int64
		var err error
		if t.Role == store.RoleWorker {
			// Bound to the worker row of now. The share lock: a delete of the
			// worker running meanwhile waits for this token, then deletes it
			// too (see ApplyRouting), or this finds no worker.
			n, err = db.exec(ctx, x, `INSERT INTO api_tokens (id, hash, role, subject, incarnation, created_at, expires_at)
				SELECT ?, ?, 'worker', id, incarnation, ?, ? FROM workers WHERE id = ?`+db.d.ForShare,
				t.ID, t.Hash, created, expires, t.Subject)
		} else {
			n, err = db.exec(ctx, x, `INSERT INTO api_tokens (id, hash, role, subject, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
				t.ID, t.Hash, string(t.Role), t.Subject, created, expires)
		}
		switch {
		case err != nil && db.d.IsUnique(err):
			return store.ErrExists
		case err == nil && n == 0:
			return fmt.Errorf("%w: no worker %q", store.ErrNotFound, t.Subject)
		}
		return err
	})
}

// tokenCols and liveToken read the tokens that authenticate: admin ones,
// and worker ones whose worker is the one they were issued for.
const (
	tokenCols = `t.id, t.hash, t.role, t.subject, t.created_at, t.expires_at, t.last_used_at`
	liveToken = `(t.role = 'admin' OR EXISTS (SELECT 1 FROM workers w WHERE w.id = t.subject AND w.incarnation = t.incarnation))`
)

func scanToken(sc Row) (store.Token, error) {
	var t store.Token
	if err := sc.Scan(&t.ID, &t.Hash, &t.Role, &t.Subject, at(&t.CreatedAt), at(&t.ExpiresAt), at(&t.LastUsedAt)); err != nil {
		return t, notFound(err)
	}
	return t, nil
}

func (db *DB) LookupToken(ctx context.Context, hash string) (store.Token, error) {
	return scanToken(db.row(ctx, db.c.Reads, `SELECT `+tokenCols+` FROM api_tokens t WHERE t.hash = ? AND `+liveToken, hash))
}

func (db *DB) ListTokens(ctx context.Context) ([]store.Token, error) {
	// Through Reads: SQLite's prepared reads do not watch ctx, and the API
	// passes its request, which the server reuses once the handler returns.
	rows, err := db.query(ctx, db.c.Reads, `SELECT `+tokenCols+` FROM api_tokens t WHERE `+liveToken+` ORDER BY t.created_at, t.id`)
	return collect(rows, err, scanToken)
}

func (db *DB) DeleteToken(ctx context.Context, id string) error {
	return db.c.Write(ctx, func(x Querier) error {
		n, err := db.exec(ctx, x, `DELETE FROM api_tokens WHERE id = ?`, id)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return err
	})
}

// ---- programs ----

func (db *DB) SaveProgram(ctx context.Context, version string, source []byte, activate bool) error {
	if version == "" || source == nil {
		return fmt.Errorf("%w: SaveProgram needs a version and a source", store.ErrInvalid)
	}
	return db.c.Tx(ctx, func(x Querier) error {
		if _, err := db.exec(ctx, x, `INSERT INTO programs (version, source, active, created_at) VALUES (?, ?, `+db.d.False+`, ?)
			ON CONFLICT (version) DO NOTHING`, version, source, db.time(store.Now(time.Time{}))); err != nil {
			return err
		}
		if !activate {
			return nil
		}
		return db.activateProgram(ctx, x, version)
	})
}

func (db *DB) activateProgram(ctx context.Context, x Querier, version string) error {
	if db.d.LockTable != "" {
		// Serialize activations: two concurrent ones would both clear the
		// old active row, then collide on the one-active index.
		if _, err := x.Exec(ctx, fmt.Sprintf(db.d.LockTable, "programs")); err != nil {
			return err
		}
	}
	if _, err := db.exec(ctx, x, `UPDATE programs SET active = `+db.d.False+` WHERE active = `+db.d.True+` AND version <> ?`, version); err != nil {
		return err
	}
	n, err := db.exec(ctx, x, `UPDATE programs SET active = `+db.d.True+` WHERE version = ?`, version)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

func (db *DB) ActivateProgram(ctx context.Context, version string) error {
	return db.c.Tx(ctx, func(x Querier) error { return db.activateProgram(ctx, x, version) })
}

func scanProgram(sc Row) (store.Program, error) {
	var p store.Program
	if err := sc.Scan(&p.Version, &p.Source, &p.Active, at(&p.CreatedAt)); err != nil {
		return p, notFound(err)
	}
	return p, nil
}

func (db *DB) ActiveProgram(ctx context.Context) (store.Program, error) {
	return scanProgram(db.row(ctx, db.c.Scans, `SELECT version, source, active, created_at FROM programs WHERE active = `+db.d.True))
}

func (db *DB) GetProgram(ctx context.Context, version string) (store.Program, error) {
	return scanProgram(db.row(ctx, db.c.Reads, `SELECT version, source, active, created_at FROM programs WHERE version = ?`, version))
}

func (db *DB) ListPrograms(ctx context.Context) ([]store.Program, error) {
	rows, err := db.query(ctx, db.c.Scans, `SELECT version, NULL, active, created_at FROM programs ORDER BY seq DESC`)
	return collect(rows, err, scanProgram)
}
