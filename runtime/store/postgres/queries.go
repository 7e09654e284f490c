package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// ---- contacts ----

const contactCols = `id, name, attributes, created_at`

func scanContact(sc pgx.Row) (store.Contact, error) {
	var c store.Contact
	var attrs string
	var created pgtype.Timestamptz
	if err := sc.Scan(&c.ID, &c.Name, &attrs, &created); err != nil {
		return c, notFound(err)
	}
	c.Attributes, c.CreatedAt = json.RawMessage(attrs), fromTS(created)
	return c, nil
}

// canonical returns the id a contact id resolves to (following a merge).
// lock takes a share lock on the row, which LinkContacts's update waits for.
func canonical(ctx context.Context, q querier, id string, lock bool) (string, error) {
	query := `SELECT merged_into FROM contacts WHERE id = $1`
	if lock {
		query += ` FOR SHARE`
	}
	var merged pgtype.Text
	if err := q.QueryRow(ctx, query, id).Scan(&merged); err != nil {
		return "", notFound(err)
	}
	if merged.Valid {
		// LinkContacts re-points older merges, so one hop is enough.
		return merged.String, nil
	}
	return id, nil
}

func (s *Store) contact(ctx context.Context, q querier, id string) (store.Contact, error) {
	id, err := canonical(ctx, q, id, false)
	if err != nil {
		return store.Contact{}, err
	}
	c, err := scanContact(q.QueryRow(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = $1`, id))
	if err != nil {
		return c, err
	}
	rows, err := q.Query(ctx, `SELECT channel, address FROM contact_addresses WHERE contact_id = $1 ORDER BY created_at, channel, address`, id)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var a store.Address
		if err := rows.Scan(&a.Channel, &a.Address); err != nil {
			return c, err
		}
		c.Addresses = append(c.Addresses, a)
	}
	return c, rows.Err()
}

func (s *Store) GetContact(ctx context.Context, id string) (store.Contact, error) {
	return s.contact(ctx, s.pool, id)
}

func (s *Store) ResolveContact(ctx context.Context, channel, address, displayName string) (store.Contact, error) {
	if channel == "" || address == "" {
		return store.Contact{}, fmt.Errorf("%w: ResolveContact needs channel and address", store.ErrInvalid)
	}
	const byAddress = `SELECT contact_id FROM contact_addresses WHERE channel = $1 AND address = $2`
	var id string
	err := s.pool.QueryRow(ctx, byAddress, channel, address).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// Insert a contact and claim the address; if a concurrent caller
		// claimed it first, ON CONFLICT waits for its commit and the contact
		// is rolled back: the address's owner is the answer.
		created := ""
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			newID := store.NewID()
			now := store.Now(time.Time{})
			if _, err := tx.Exec(ctx, `INSERT INTO contacts (id, name, created_at) VALUES ($1, $2, $3)`, newID, displayName, now); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO contact_addresses (channel, address, contact_id, created_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, channel, address, newID, now)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return errLost
			}
			created = newID
			return nil
		})
		switch {
		case err == nil:
			id = created
		case errors.Is(err, errLost):
			err = s.pool.QueryRow(ctx, byAddress, channel, address).Scan(&id)
		}
	}
	if err != nil {
		return store.Contact{}, err
	}
	return s.contact(ctx, s.pool, id)
}

func (s *Store) LookupContact(ctx context.Context, channel, address string) (store.Contact, error) {
	if channel == "" || address == "" {
		return store.Contact{}, fmt.Errorf("%w: LookupContact needs channel and address", store.ErrInvalid)
	}
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT contact_id FROM contact_addresses WHERE channel = $1 AND address = $2`, channel, address).Scan(&id); err != nil {
		return store.Contact{}, notFound(err)
	}
	return s.contact(ctx, s.pool, id)
}

// errLost rolls back a find-or-create transaction that lost the race.
var errLost = errors.New("lost the race")

func (s *Store) SetContactAttributes(ctx context.Context, id string, attributes json.RawMessage) error {
	attrs, err := store.Object(attributes)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		id, err := canonical(ctx, tx, id, true)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE contacts SET attributes = $1 WHERE id = $2`, string(attrs), id)
		return err
	})
}

func (s *Store) LinkContacts(ctx context.Context, keepID, mergeID string) error {
	if keepID == "" || mergeID == "" {
		return fmt.Errorf("%w: LinkContacts needs two ids", store.ErrInvalid)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		keep, err := canonical(ctx, tx, keepID, false)
		if err != nil {
			return fmt.Errorf("contact %s: %w", keepID, err)
		}
		merge, err := canonical(ctx, tx, mergeID, false)
		if err != nil {
			return fmt.Errorf("contact %s: %w", mergeID, err)
		}
		if keep == merge {
			return nil
		}
		// Lock both, in id order (no deadlock with a concurrent link), and
		// check they are still unmerged: a concurrent link may have won.
		rows, err := tx.Query(ctx, `SELECT id, name, attributes::text, merged_into FROM contacts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, keep, merge)
		if err != nil {
			return err
		}
		type row struct {
			name, attrs string
			merged      pgtype.Text
		}
		got := map[string]row{}
		for rows.Next() {
			var id string
			var r row
			if err := rows.Scan(&id, &r.name, &r.attrs, &r.merged); err != nil {
				rows.Close()
				return err
			}
			got[id] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		k, m := got[keep], got[merge]
		if k.merged.Valid || m.merged.Valid {
			return fmt.Errorf("postgres: contacts %s and %s were linked concurrently; retry", keepID, mergeID)
		}
		name := k.name
		if name == "" {
			name = m.name
		}
		attrs := store.MergeAttributes(json.RawMessage(k.attrs), json.RawMessage(m.attrs))
		now := store.Now(time.Time{})
		batch := &pgx.Batch{}
		batch.Queue(`UPDATE contacts SET name = $1, attributes = $2 WHERE id = $3`, name, string(attrs), keep)
		batch.Queue(`UPDATE contact_addresses SET contact_id = $1 WHERE contact_id = $2`, keep, merge)
		batch.Queue(`UPDATE conversations SET contact_id = $1, updated_at = $2 WHERE contact_id = $3`, keep, now, merge)
		batch.Queue(`UPDATE tasks SET contact_id = $1, updated_at = $2 WHERE contact_id = $3`, keep, now, merge)
		// Re-point earlier merges into merge, so lookups take one hop.
		batch.Queue(`UPDATE contacts SET merged_into = $1, merged_at = $2 WHERE id = $3 OR merged_into = $3`, keep, now, merge)
		return tx.SendBatch(ctx, batch).Close()
	})
}

// ---- conversations ----

const conversationCols = `id, contact_id, channel, instance, status, attributes, created_at, updated_at`

func scanConversation(sc pgx.Row) (store.Conversation, error) {
	var c store.Conversation
	var attrs string
	var created, updated pgtype.Timestamptz
	if err := sc.Scan(&c.ID, &c.ContactID, &c.Channel, &c.Instance, &c.Status, &attrs, &created, &updated); err != nil {
		return c, notFound(err)
	}
	c.Attributes, c.CreatedAt, c.UpdatedAt = json.RawMessage(attrs), fromTS(created), fromTS(updated)
	return c, nil
}

const openConversation = `SELECT ` + conversationCols + ` FROM conversations
	WHERE contact_id = $1 AND channel = $2 AND instance = $3 AND status = 'open'
	ORDER BY updated_at DESC, seq DESC LIMIT 1`

func (s *Store) OpenConversation(ctx context.Context, contactID, channel, instance string) (store.Conversation, error) {
	if contactID == "" || channel == "" {
		return store.Conversation{}, fmt.Errorf("%w: OpenConversation needs contact and channel", store.ErrInvalid)
	}
	id, err := canonical(ctx, s.pool, contactID, false)
	if err != nil {
		return store.Conversation{}, err
	}
	c, err := scanConversation(s.pool.QueryRow(ctx, openConversation, id, channel, instance))
	if !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The share lock orders us with LinkContacts; the advisory lock
		// with other creators of this conversation (no unique index: see
		// the migration).
		id, err := canonical(ctx, tx, contactID, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			conversationLockKey(id, channel, instance)); err != nil {
			return err
		}
		c, err = scanConversation(tx.QueryRow(ctx, openConversation, id, channel, instance))
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := store.Now(time.Time{})
		c = store.Conversation{ID: store.NewID(), ContactID: id, Channel: channel, Instance: instance,
			Status: store.ConversationOpen, Attributes: json.RawMessage("{}"), CreatedAt: now, UpdatedAt: now}
		_, err = tx.Exec(ctx, `INSERT INTO conversations (`+conversationCols+`) VALUES ($1, $2, $3, $4, $5, '{}', $6, $6)`,
			c.ID, c.ContactID, c.Channel, c.Instance, string(c.Status), now)
		return err
	})
	return c, err
}

func (s *Store) LookupConversation(ctx context.Context, contactID, channel, instance string) (store.Conversation, error) {
	if contactID == "" || channel == "" {
		return store.Conversation{}, fmt.Errorf("%w: LookupConversation needs contact and channel", store.ErrInvalid)
	}
	id, err := canonical(ctx, s.pool, contactID, false)
	if err != nil {
		return store.Conversation{}, err
	}
	return scanConversation(s.pool.QueryRow(ctx, openConversation, id, channel, instance))
}

func (s *Store) GetConversation(ctx context.Context, id string) (store.Conversation, error) {
	return scanConversation(s.pool.QueryRow(ctx, `SELECT `+conversationCols+` FROM conversations WHERE id = $1`, id))
}

func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter, page store.Page) ([]store.Conversation, string, error) {
	var where []string
	var args []any
	if f.ContactID != "" {
		id, err := canonical(ctx, s.pool, f.ContactID, false)
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", nil
		} else if err != nil {
			return nil, "", err
		}
		args = append(args, id)
		where = append(where, "contact_id = $"+strconv.Itoa(len(args)))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	return list(ctx, s.pool, "conversations", conversationCols, where, args, page, scanConversation)
}

// list pages through a table by seq: the query selects cols then seq.
func list[T any](ctx context.Context, q querier, table, cols string, where []string, args []any, page store.Page,
	scan func(pgx.Row) (T, error)) ([]T, string, error) {
	op, order := ">", "ASC"
	if page.Newest {
		op, order = "<", "DESC"
	}
	after, ok, err := page.Cursor()
	if err != nil {
		return nil, "", err
	}
	if ok {
		args = append(args, after)
		where = append(where, "seq "+op+" $"+strconv.Itoa(len(args)))
	}
	query := `SELECT ` + cols + `, seq FROM ` + table
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := page.PageLimit()
	args = append(args, limit+1)
	query += ` ORDER BY seq ` + order + ` LIMIT $` + strconv.Itoa(len(args))
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []T
	var seqs []int64
	for rows.Next() {
		var seq int64
		item, err := scan(seqScanner{rows, &seq})
		if err != nil {
			return nil, "", err
		}
		out, seqs = append(out, item), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := store.PageOf(out, seqs, limit)
	return out, next, nil
}

// seqScanner appends the seq destination to a row scanner's.
type seqScanner struct {
	rows pgx.Rows
	seq  *int64
}

func (s seqScanner) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.seq)...) }

// ---- messages ----

const messageCols = `id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at`

func scanMessage(sc pgx.Row) (store.Message, error) {
	var m store.Message
	var pmid pgtype.Text
	var created pgtype.Timestamptz
	var payload []byte
	if err := sc.Scan(&m.ID, &m.ConversationID, &m.Direction, &m.Connector, &m.Instance, &pmid, &m.Text, &payload, &created); err != nil {
		return m, notFound(err)
	}
	m.PlatformMessageID, m.Payload, m.CreatedAt = fromText(pmid), payload, fromTS(created)
	return m, nil
}

func (s *Store) FindMessage(ctx context.Context, connector, instance, platformMessageID string) (store.Message, error) {
	if platformMessageID == "" {
		return store.Message{}, store.ErrNotFound
	}
	return scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE connector = $1 AND instance = $2 AND platform_message_id = $3 AND direction = 'in'`, connector, instance, platformMessageID))
}

func (s *Store) ListMessages(ctx context.Context, conversationID string, page store.Page) ([]store.Message, string, error) {
	return list(ctx, s.pool, "messages", messageCols, []string{"conversation_id = $1"}, []any{conversationID}, page, scanMessage)
}

// ---- executions ----

const executionCols = `id, conversation_id, flow, program_version, status, payload, version, created_at, updated_at`

func scanExecution(sc pgx.Row) (store.Execution, error) {
	var e store.Execution
	var created, updated pgtype.Timestamptz
	var payload []byte
	if err := sc.Scan(&e.ID, &e.ConversationID, &e.Flow, &e.ProgramVersion, &e.Status, &payload, &e.Version, &created, &updated); err != nil {
		return e, notFound(err)
	}
	e.Payload, e.CreatedAt, e.UpdatedAt = payload, fromTS(created), fromTS(updated)
	return e, nil
}

func (s *Store) GetExecution(ctx context.Context, id string) (store.Execution, error) {
	return scanExecution(s.pool.QueryRow(ctx, `SELECT `+executionCols+` FROM executions WHERE id = $1`, id))
}

func (s *Store) LiveExecution(ctx context.Context, conversationID string) (store.Execution, error) {
	return scanExecution(s.pool.QueryRow(ctx, `SELECT `+executionCols+` FROM executions
		WHERE conversation_id = $1 AND status IN ('running', 'waiting')`, conversationID))
}

func (s *Store) ListExecutions(ctx context.Context, f store.ExecutionFilter, page store.Page) ([]store.Execution, string, error) {
	var where []string
	var args []any
	if f.ConversationID != "" {
		args = append(args, f.ConversationID)
		where = append(where, "conversation_id = $"+strconv.Itoa(len(args)))
	}
	switch {
	case f.Status == "":
	case f.Status.Known() && f.ConversationID == "":
		// A literal, not a parameter: the planner matches a partial index
		// (executions_unfinished) only to a status it can see.
		where = append(where, "status = '"+string(f.Status)+"'")
	default:
		args = append(args, string(f.Status))
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	return list(ctx, s.pool, "executions", executionCols, where, args, page, scanExecution)
}

// ---- outbox ----

const effectCols = `id, execution_id, kind, idempotency_key, payload, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, result, created_at`

func scanEffect(sc pgx.Row) (store.Effect, error) {
	var e store.Effect
	var exec pgtype.Text
	var next, lease, created pgtype.Timestamptz
	var payload, result []byte
	var attempts int32
	if err := sc.Scan(&e.ID, &exec, &e.Kind, &e.IdempotencyKey, &payload, &e.Status, &attempts, &next,
		&e.LeaseOwner, &lease, &e.LastError, &result, &created); err != nil {
		return e, notFound(err)
	}
	e.ExecutionID, e.Payload, e.Result, e.Attempts = fromText(exec), payload, result, int(attempts)
	e.NextAttemptAt, e.LeaseUntil, e.CreatedAt = fromTS(next), fromTS(lease), fromTS(created)
	return e, nil
}

func (s *Store) ClaimEffects(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]store.Effect, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("%w: ClaimEffects needs an owner, a limit and a lease", store.ErrInvalid)
	}
	now = store.Now(now)
	// SKIP LOCKED: concurrent claimers (other nodes) pass over the rows
	// being claimed instead of waiting for them; a row claimed and
	// committed meanwhile is re-checked against the WHERE and left out.
	rows, err := s.pool.Query(ctx, `UPDATE effects e
		SET status = 'leased', lease_owner = $1, lease_until = $2, attempts = e.attempts + 1, updated_at = $3
		FROM (SELECT seq FROM effects
			WHERE (status = 'pending' AND next_attempt_at <= $3) OR (status = 'leased' AND lease_until <= $3)
			ORDER BY next_attempt_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED) due
		WHERE e.seq = due.seq
		RETURNING `+prefixed("e.", effectCols),
		owner, now.Add(lease), now, limit)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanEffect)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NextAttemptAt.Before(out[j].NextAttemptAt) })
	return out, nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// effectUpdate runs an update on one effect, telling a missing one apart.
func (s *Store) effectUpdate(ctx context.Context, id, q string, args ...any) error {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM effects WHERE id = $1)`, id).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return store.ErrNotFound
	}
	return nil
}

func (s *Store) CompleteEffect(ctx context.Context, id string, result json.RawMessage) error {
	return s.effectUpdate(ctx, id, `UPDATE effects SET status = 'done', result = $1, lease_owner = '', lease_until = NULL, updated_at = $2
		WHERE id = $3 AND status <> 'done'`, []byte(result), store.Now(time.Time{}), id)
}

func (s *Store) RetryEffect(ctx context.Context, id string, nextAttemptAt time.Time, errText string) error {
	return s.effectUpdate(ctx, id, `UPDATE effects SET status = 'pending', next_attempt_at = $1, last_error = $2, lease_owner = '', lease_until = NULL, updated_at = $3
		WHERE id = $4 AND status <> 'done'`, store.Now(nextAttemptAt), errText, store.Now(time.Time{}), id)
}

func (s *Store) DeadLetter(ctx context.Context, id string, errText string) error {
	return s.effectUpdate(ctx, id, `UPDATE effects SET status = 'dead', last_error = $1, lease_owner = '', lease_until = NULL, updated_at = $2
		WHERE id = $3 AND status <> 'done'`, errText, store.Now(time.Time{}), id)
}

func (s *Store) GetEffect(ctx context.Context, id string) (store.Effect, error) {
	return scanEffect(s.pool.QueryRow(ctx, `SELECT `+effectCols+` FROM effects WHERE id = $1`, id))
}

func (s *Store) ListDeadLetters(ctx context.Context, page store.Page) ([]store.Effect, string, error) {
	return list(ctx, s.pool, "effects", effectCols, []string{"status = 'dead'"}, nil, page, scanEffect)
}

func (s *Store) OutboxStats(ctx context.Context) (map[store.EffectStatus]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM effects GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[store.EffectStatus]int{store.EffectPending: 0, store.EffectLeased: 0, store.EffectDone: 0, store.EffectDead: 0}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[store.EffectStatus(st)] = int(n)
	}
	return out, rows.Err()
}

// ---- timers ----

const timerCols = `id, execution_id, fire_at, payload, lease_owner, lease_until`

func scanTimer(sc pgx.Row) (store.Timer, error) {
	var t store.Timer
	var exec pgtype.Text
	var fire, lease pgtype.Timestamptz
	var payload []byte
	if err := sc.Scan(&t.ID, &exec, &fire, &payload, &t.LeaseOwner, &lease); err != nil {
		return t, notFound(err)
	}
	t.ExecutionID, t.Payload, t.FireAt, t.LeaseUntil = fromText(exec), payload, fromTS(fire), fromTS(lease)
	return t, nil
}

func (s *Store) ClaimDueTimers(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]store.Timer, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("%w: ClaimDueTimers needs an owner, a limit and a lease", store.ErrInvalid)
	}
	now = store.Now(now)
	rows, err := s.pool.Query(ctx, `UPDATE timers t SET lease_owner = $1, lease_until = $2
		FROM (SELECT id FROM timers WHERE fire_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
			ORDER BY fire_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) due
		WHERE t.id = due.id
		RETURNING `+prefixed("t.", timerCols), owner, now.Add(lease), now, limit)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanTimer)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FireAt.Before(out[j].FireAt) })
	return out, nil
}

func (s *Store) DeleteTimer(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM timers WHERE id = $1`, id)
	return err
}

func (s *Store) NextTimerAt(ctx context.Context) (time.Time, bool, error) {
	var at pgtype.Timestamptz
	if err := s.pool.QueryRow(ctx, `SELECT min(fire_at) FROM timers`).Scan(&at); err != nil {
		return time.Time{}, false, err
	}
	return fromTS(at), at.Valid, nil
}

// ---- tasks ----

// taskCols are a task's columns as a unit inserts them; taskReadCols add
// what the router leader writes.
const (
	taskCols     = `id, conversation_id, contact_id, execution_id, workflow, attributes, priority, status, channel, created_at, updated_at`
	taskReadCols = taskCols + `, queue, worker_id`
)

func scanTask(sc pgx.Row) (store.Task, error) {
	var t store.Task
	var exec pgtype.Text
	var attrs string
	var priority int32
	var created, updated pgtype.Timestamptz
	if err := sc.Scan(&t.ID, &t.ConversationID, &t.ContactID, &exec, &t.Workflow, &attrs, &priority, &t.Status, &t.Channel,
		&created, &updated, &t.Queue, &t.WorkerID); err != nil {
		return t, notFound(err)
	}
	t.ExecutionID, t.Attributes, t.Priority = fromText(exec), json.RawMessage(attrs), int(priority)
	t.CreatedAt, t.UpdatedAt = fromTS(created), fromTS(updated)
	return t, nil
}

func (s *Store) GetTask(ctx context.Context, id string) (store.Task, error) {
	return scanTask(s.pool.QueryRow(ctx, `SELECT `+taskReadCols+` FROM tasks WHERE id = $1`, id))
}

func (s *Store) ListTasks(ctx context.Context, status store.TaskStatus, page store.Page) ([]store.Task, string, error) {
	var where []string
	var args []any
	if status != "" {
		where, args = append(where, "status = $1"), append(args, string(status))
	}
	return list(ctx, s.pool, "tasks", taskReadCols, where, args, page, scanTask)
}

// ---- tokens ----

func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.Hash == "" || (t.Role != store.RoleAdmin && t.Role != store.RoleWorker) {
		return fmt.Errorf("%w: token needs a hash and role admin or worker", store.ErrInvalid)
	}
	if t.ID == "" {
		t.ID = "tok_" + store.NewID()
	}
	exec := func(q string, args ...any) (int64, error) {
		tag, err := s.pool.Exec(ctx, q, args...)
		return tag.RowsAffected(), err
	}
	var n int64
	var err error
	if t.Role == store.RoleWorker {
		// Bound to the worker row of now. FOR SHARE: a delete of the worker
		// running meanwhile waits for this token, then deletes it too (see
		// ApplyRouting), or this finds no worker.
		n, err = exec(`INSERT INTO api_tokens (id, hash, role, subject, incarnation, created_at, expires_at)
			SELECT $1, $2, 'worker', id, incarnation, $3, $4 FROM workers WHERE id = $5 FOR SHARE`,
			t.ID, t.Hash, store.Now(t.CreatedAt), tsOrNull(t.ExpiresAt), t.Subject)
	} else {
		n, err = exec(`INSERT INTO api_tokens (id, hash, role, subject, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, t.Hash, string(t.Role), t.Subject, store.Now(t.CreatedAt), tsOrNull(t.ExpiresAt))
	}
	switch {
	case pgCode(err) == uniqueViolation:
		return store.ErrExists
	case err == nil && n == 0:
		return fmt.Errorf("%w: no worker %q", store.ErrNotFound, t.Subject)
	}
	return err
}

// tsOrNull stores a zero time as NULL.
func tsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.Micro(t)
}

// tokenCols and liveToken read the tokens that authenticate: admin ones,
// and worker ones whose worker is the one they were issued for.
const (
	tokenCols = `t.id, t.hash, t.role, t.subject, t.created_at, t.expires_at, t.last_used_at`
	liveToken = `(t.role = 'admin' OR EXISTS (SELECT 1 FROM workers w WHERE w.id = t.subject AND w.incarnation = t.incarnation))`
)

func scanToken(sc pgx.Row) (store.Token, error) {
	var t store.Token
	var created, expires, used pgtype.Timestamptz
	if err := sc.Scan(&t.ID, &t.Hash, &t.Role, &t.Subject, &created, &expires, &used); err != nil {
		return t, notFound(err)
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromTS(created), fromTS(expires), fromTS(used)
	return t, nil
}

func (s *Store) LookupToken(ctx context.Context, hash string) (store.Token, error) {
	return scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens t WHERE t.hash = $1 AND `+liveToken, hash))
}

func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens t WHERE `+liveToken+` ORDER BY t.created_at, t.id`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanToken)
}

func (s *Store) DeleteToken(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	return err
}

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

// ---- programs ----

func (s *Store) SaveProgram(ctx context.Context, version string, source []byte, activate bool) error {
	if version == "" || source == nil {
		return fmt.Errorf("%w: SaveProgram needs a version and a source", store.ErrInvalid)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO programs (version, source, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (version) DO NOTHING`, version, source, store.Now(time.Time{})); err != nil {
			return err
		}
		if !activate {
			return nil
		}
		return activateProgram(ctx, tx, version)
	})
}

func activateProgram(ctx context.Context, tx pgx.Tx, version string) error {
	// Serialize activations: two concurrent ones would both clear the old
	// active row, then collide on the one-active index.
	if _, err := tx.Exec(ctx, `LOCK TABLE programs IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM programs WHERE version = $1)`, version).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return store.ErrNotFound
	}
	if _, err := tx.Exec(ctx, `UPDATE programs SET active = false WHERE active AND version <> $1`, version); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE programs SET active = true WHERE version = $1`, version)
	return err
}

func (s *Store) ActivateProgram(ctx context.Context, version string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return activateProgram(ctx, tx, version) })
}

func scanProgram(sc pgx.Row) (store.Program, error) {
	var p store.Program
	var created pgtype.Timestamptz
	if err := sc.Scan(&p.Version, &p.Source, &p.Active, &created); err != nil {
		return p, notFound(err)
	}
	p.CreatedAt = fromTS(created)
	return p, nil
}

func (s *Store) ActiveProgram(ctx context.Context) (store.Program, error) {
	return scanProgram(s.pool.QueryRow(ctx, `SELECT version, source, active, created_at FROM programs WHERE active`))
}

func (s *Store) GetProgram(ctx context.Context, version string) (store.Program, error) {
	return scanProgram(s.pool.QueryRow(ctx, `SELECT version, source, active, created_at FROM programs WHERE version = $1`, version))
}

func (s *Store) ListPrograms(ctx context.Context) ([]store.Program, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, NULL::bytea, active, created_at FROM programs ORDER BY seq DESC`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanProgram)
}
