package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// ---- contacts ----

const contactCols = `id, name, attributes, created_at`

func scanContact(sc interface{ Scan(...any) error }) (store.Contact, error) {
	var c store.Contact
	var attrs string
	var created int64
	if err := sc.Scan(&c.ID, &c.Name, &attrs, &created); err != nil {
		return c, notFound(err)
	}
	c.Attributes = json.RawMessage(attrs)
	c.CreatedAt = fromMicros(created)
	return c, nil
}

// canonical returns the id a contact id resolves to (following a merge).
func canonical(ctx context.Context, q querier, id string) (string, error) {
	var merged sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT merged_into FROM contacts WHERE id = ?`, id).Scan(&merged); err != nil {
		return "", notFound(err)
	}
	if merged.Valid {
		// LinkContacts re-points older merges, so one hop is enough.
		return merged.String, nil
	}
	return id, nil
}

// canonicalContact selects the contact (contactCols) that the contact k
// resolves to, following a merge as canonical does, in the query that finds
// k: the caller adds the WHERE on k.
const canonicalContact = `SELECT c.id, c.name, c.attributes, c.created_at
	FROM contacts k JOIN contacts c ON c.id = coalesce(k.merged_into, k.id)`

func (s *Store) contact(ctx context.Context, q querier, id string) (store.Contact, error) {
	c, err := scanContact(q.QueryRowContext(ctx, canonicalContact+` WHERE k.id = ?`, id))
	return s.contactWithAddresses(ctx, q, c, err)
}

// contactWithAddresses completes a contact just read with its addresses.
func (s *Store) contactWithAddresses(ctx context.Context, q querier, c store.Contact, err error) (store.Contact, error) {
	if err != nil {
		return c, err
	}
	rows, err := q.QueryContext(ctx, `SELECT channel, address FROM contact_addresses WHERE contact_id = ? ORDER BY created_at, channel, address`, c.ID)
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
	return s.contact(ctx, s.rs, id)
}

func (s *Store) ResolveContact(ctx context.Context, channel, address, displayName string) (store.Contact, error) {
	if channel == "" || address == "" {
		return store.Contact{}, fmt.Errorf("%w: ResolveContact needs channel and address", store.ErrInvalid)
	}
	const byAddress = `SELECT contact_id FROM contact_addresses WHERE channel = ? AND address = ?`
	var id string
	err := s.rs.QueryRowContext(ctx, byAddress, channel, address).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Check again under the write lock: the one writer makes find-or-create atomic.
		err = s.w.tx(ctx, func(x *wtx) error {
			err := x.QueryRowContext(ctx, byAddress, channel, address).Scan(&id)
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			id = store.NewID()
			now := micros(store.Now(time.Time{}))
			s.addrs.add(channel, address)
			if _, err := x.ExecContext(ctx, `INSERT INTO contacts (id, name, attributes, created_at) VALUES (?, ?, '{}', ?)`, id, displayName, now); err != nil {
				return err
			}
			_, err = x.ExecContext(ctx, `INSERT INTO contact_addresses (channel, address, contact_id, created_at) VALUES (?, ?, ?, ?)`, channel, address, id, now)
			return err
		})
	}
	if err != nil {
		return store.Contact{}, err
	}
	return s.contact(ctx, s.rs, id)
}

func (s *Store) LookupContact(ctx context.Context, channel, address string) (store.Contact, error) {
	if channel == "" || address == "" {
		return store.Contact{}, fmt.Errorf("%w: LookupContact needs channel and address", store.ErrInvalid)
	}
	// One query finds the address's contact and follows a merge; a missing
	// address makes k.id = NULL: no row.
	c, err := scanContact(s.rs.QueryRowContext(ctx, canonicalContact+`
		WHERE k.id = (SELECT contact_id FROM contact_addresses WHERE channel = ? AND address = ?)`, channel, address))
	return s.contactWithAddresses(ctx, s.rs, c, err)
}

func (s *Store) SetContactAttributes(ctx context.Context, id string, attributes json.RawMessage) error {
	attrs, err := store.Object(attributes)
	if err != nil {
		return err
	}
	return s.w.tx(ctx, func(x *wtx) error {
		id, err := canonical(ctx, x, id)
		if err != nil {
			return err
		}
		_, err = x.ExecContext(ctx, `UPDATE contacts SET attributes = ? WHERE id = ?`, string(attrs), id)
		return err
	})
}

func (s *Store) LinkContacts(ctx context.Context, keepID, mergeID string) error {
	if keepID == "" || mergeID == "" {
		return fmt.Errorf("%w: LinkContacts needs two ids", store.ErrInvalid)
	}
	return s.w.tx(ctx, func(x *wtx) error {
		keep, err := canonical(ctx, x, keepID)
		if err != nil {
			return fmt.Errorf("contact %s: %w", keepID, err)
		}
		merge, err := canonical(ctx, x, mergeID)
		if err != nil {
			return fmt.Errorf("contact %s: %w", mergeID, err)
		}
		if keep == merge {
			return nil
		}
		now := micros(store.Now(time.Time{}))
		var kName, kAttrs, mName, mAttrs string
		if err := x.QueryRowContext(ctx, `SELECT name, attributes FROM contacts WHERE id = ?`, keep).Scan(&kName, &kAttrs); err != nil {
			return err
		}
		if err := x.QueryRowContext(ctx, `SELECT name, attributes FROM contacts WHERE id = ?`, merge).Scan(&mName, &mAttrs); err != nil {
			return err
		}
		if kName == "" {
			kName = mName
		}
		attrs := store.MergeAttributes(json.RawMessage(kAttrs), json.RawMessage(mAttrs))
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`UPDATE contacts SET name = ?, attributes = ? WHERE id = ?`, []any{kName, string(attrs), keep}},
			{`UPDATE contact_addresses SET contact_id = ? WHERE contact_id = ?`, []any{keep, merge}},
			{`UPDATE conversations SET contact_id = ?, updated_at = ? WHERE contact_id = ?`, []any{keep, now, merge}},
			{`UPDATE tasks SET contact_id = ?, updated_at = ? WHERE contact_id = ?`, []any{keep, now, merge}},
			// Re-point earlier merges into merge, so lookups take one hop.
			{`UPDATE contacts SET merged_into = ?, merged_at = ? WHERE id = ? OR merged_into = ?`, []any{keep, now, merge, merge}},
		} {
			if _, err := x.ExecContext(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- conversations ----

const conversationCols = `id, contact_id, channel, instance, status, attributes, created_at, updated_at`

func scanConversation(sc interface{ Scan(...any) error }) (store.Conversation, error) {
	var c store.Conversation
	var attrs string
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.ContactID, &c.Channel, &c.Instance, &c.Status, &attrs, &created, &updated); err != nil {
		return c, notFound(err)
	}
	c.Attributes = json.RawMessage(attrs)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

const openConversation = `SELECT ` + conversationCols + ` FROM conversations
	WHERE contact_id = ? AND channel = ? AND instance = ? AND status = 'open'
	ORDER BY updated_at DESC, seq DESC LIMIT 1`

func (s *Store) OpenConversation(ctx context.Context, contactID, channel, instance string) (store.Conversation, error) {
	if contactID == "" || channel == "" {
		return store.Conversation{}, fmt.Errorf("%w: OpenConversation needs contact and channel", store.ErrInvalid)
	}
	id, err := canonical(ctx, s.rs, contactID)
	if err != nil {
		return store.Conversation{}, err
	}
	c, err := scanConversation(s.rs.QueryRowContext(ctx, openConversation, id, channel, instance))
	if !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	err = s.w.tx(ctx, func(x *wtx) error {
		id, err := canonical(ctx, x, contactID) // a merge may have happened meanwhile
		if err != nil {
			return err
		}
		c, err = scanConversation(x.QueryRowContext(ctx, openConversation, id, channel, instance))
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := store.Now(time.Time{})
		c = store.Conversation{ID: store.NewID(), ContactID: id, Channel: channel, Instance: instance,
			Status: store.ConversationOpen, Attributes: json.RawMessage("{}"), CreatedAt: now, UpdatedAt: now}
		_, err = x.ExecContext(ctx, `INSERT INTO conversations (`+conversationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.ContactID, c.Channel, c.Instance, c.Status, "{}", micros(now), micros(now))
		return err
	})
	return c, err
}

func (s *Store) LookupConversation(ctx context.Context, contactID, channel, instance string) (store.Conversation, error) {
	if contactID == "" || channel == "" {
		return store.Conversation{}, fmt.Errorf("%w: LookupConversation needs contact and channel", store.ErrInvalid)
	}
	// openConversation of the contact contactID resolves to, in one query.
	return scanConversation(s.rs.QueryRowContext(ctx, `SELECT v.id, v.contact_id, v.channel, v.instance, v.status, v.attributes, v.created_at, v.updated_at
		FROM contacts k JOIN conversations v ON v.contact_id = coalesce(k.merged_into, k.id)
		WHERE k.id = ? AND v.channel = ? AND v.instance = ? AND v.status = 'open'
		ORDER BY v.updated_at DESC, v.seq DESC LIMIT 1`, contactID, channel, instance))
}

func (s *Store) GetConversation(ctx context.Context, id string) (store.Conversation, error) {
	return scanConversation(s.rs.QueryRowContext(ctx, `SELECT `+conversationCols+` FROM conversations WHERE id = ?`, id))
}

func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter, page store.Page) ([]store.Conversation, string, error) {
	var where []string
	var args []any
	if f.ContactID != "" {
		id, err := canonical(ctx, s.r, f.ContactID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", nil
		} else if err != nil {
			return nil, "", err
		}
		where, args = append(where, "contact_id = ?"), append(args, id)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	return list(ctx, s.r, "conversations", conversationCols, where, args, page, scanConversation)
}

// list pages through a table by seq: the query selects cols then seq.
func list[T any](ctx context.Context, q querier, table, cols string, where []string, args []any, page store.Page,
	scan func(interface{ Scan(...any) error }) (T, error)) ([]T, string, error) {
	op, order := ">", "ASC"
	if page.Newest {
		op, order = "<", "DESC"
	}
	after, ok, err := page.Cursor()
	if err != nil {
		return nil, "", err
	}
	if ok {
		where, args = append(where, "seq "+op+" ?"), append(args, after)
	}
	query := `SELECT ` + cols + `, seq FROM ` + table
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := page.PageLimit()
	query += ` ORDER BY seq ` + order + ` LIMIT ?`
	args = append(args, limit+1)
	rows, err := q.QueryContext(ctx, query, args...)
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
	rows *sql.Rows
	seq  *int64
}

func (s seqScanner) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.seq)...) }

// ---- messages ----

const messageCols = `id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at`

func scanMessage(sc interface{ Scan(...any) error }) (store.Message, error) {
	var m store.Message
	var pmid sql.NullString
	var created int64
	var payload []byte
	if err := sc.Scan(&m.ID, &m.ConversationID, &m.Direction, &m.Connector, &m.Instance, &pmid, &m.Text, &payload, &created); err != nil {
		return m, notFound(err)
	}
	m.PlatformMessageID, m.Payload, m.CreatedAt = pmid.String, payload, fromMicros(created)
	return m, nil
}

func (s *Store) FindMessage(ctx context.Context, connector, instance, platformMessageID string) (store.Message, error) {
	if platformMessageID == "" {
		return store.Message{}, store.ErrNotFound
	}
	return scanMessage(s.rs.QueryRowContext(ctx, `SELECT `+messageCols+` FROM messages
		WHERE connector = ? AND instance = ? AND platform_message_id = ? AND direction = 'in'`, connector, instance, platformMessageID))
}

func (s *Store) ListMessages(ctx context.Context, conversationID string, page store.Page) ([]store.Message, string, error) {
	return list(ctx, s.r, "messages", messageCols, []string{"conversation_id = ?"}, []any{conversationID}, page, scanMessage)
}

// ---- executions ----

const executionCols = `id, conversation_id, flow, program_version, status, payload, version, created_at, updated_at`

func scanExecution(sc interface{ Scan(...any) error }) (store.Execution, error) {
	var e store.Execution
	var created, updated int64
	var payload []byte
	if err := sc.Scan(&e.ID, &e.ConversationID, &e.Flow, &e.ProgramVersion, &e.Status, &payload, &e.Version, &created, &updated); err != nil {
		return e, notFound(err)
	}
	e.Payload, e.CreatedAt, e.UpdatedAt = payload, fromMicros(created), fromMicros(updated)
	return e, nil
}

func (s *Store) GetExecution(ctx context.Context, id string) (store.Execution, error) {
	return scanExecution(s.rs.QueryRowContext(ctx, `SELECT `+executionCols+` FROM executions WHERE id = ?`, id))
}

func (s *Store) LiveExecution(ctx context.Context, conversationID string) (store.Execution, error) {
	return scanExecution(s.rs.QueryRowContext(ctx, `SELECT `+executionCols+` FROM executions
		WHERE conversation_id = ? AND status IN ('running', 'waiting')`, conversationID))
}

func (s *Store) ListExecutions(ctx context.Context, f store.ExecutionFilter, page store.Page) ([]store.Execution, string, error) {
	var where []string
	var args []any
	if f.ConversationID != "" {
		where, args = append(where, "conversation_id = ?"), append(args, f.ConversationID)
	}
	switch {
	case f.Status == "":
	case f.ConversationID != "":
		// "+status": not a term SQLite may answer with an index, so that a
		// conversation's few executions come from executions_conversation.
		where, args = append(where, "+status = ?"), append(args, f.Status)
	case f.Status.Known():
		// A literal, not a parameter: SQLite uses the partial index
		// executions_unfinished only for a status it can see.
		where = append(where, "status = '"+string(f.Status)+"'")
	default:
		return nil, "", nil
	}
	return list(ctx, s.r, "executions", executionCols, where, args, page, scanExecution)
}

// ---- outbox ----

const effectCols = `id, execution_id, kind, idempotency_key, payload, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, result, created_at`

func scanEffect(sc interface{ Scan(...any) error }) (store.Effect, error) {
	var e store.Effect
	var exec sql.NullString
	var next, lease, created int64
	var payload, result []byte
	if err := sc.Scan(&e.ID, &exec, &e.Kind, &e.IdempotencyKey, &payload, &e.Status, &e.Attempts, &next,
		&e.LeaseOwner, &lease, &e.LastError, &result, &created); err != nil {
		return e, notFound(err)
	}
	e.ExecutionID, e.Payload, e.Result = exec.String, payload, result
	e.NextAttemptAt, e.LeaseUntil, e.CreatedAt = fromMicros(next), fromMicros(lease), fromMicros(created)
	return e, nil
}

func (s *Store) ClaimEffects(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]store.Effect, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("%w: ClaimEffects needs an owner, a limit and a lease", store.ErrInvalid)
	}
	now = store.Now(now)
	n := micros(now)
	var out []store.Effect
	err := s.w.tx(ctx, func(x *wtx) error {
		out = out[:0]
		// One writer: no other claim runs between the choice and the update.
		rows, err := x.QueryContext(ctx, `UPDATE effects
			SET status = 'leased', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE seq IN (SELECT seq FROM (
				SELECT seq, next_attempt_at AS due FROM effects WHERE status = 'pending' AND next_attempt_at <= ?
				UNION ALL
				SELECT seq, lease_until AS due FROM effects WHERE status = 'leased' AND lease_until <= ?)
				ORDER BY due, seq LIMIT ?)
			RETURNING `+effectCols,
			owner, micros(now.Add(lease)), n, n, n, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEffect(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sortEffects(out)
	return out, nil
}

func sortEffects(es []store.Effect) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].NextAttemptAt.Before(es[j].NextAttemptAt) })
}

// effectUpdate runs an update on one effect, telling a missing one apart.
func (s *Store) effectUpdate(ctx context.Context, id, q string, args ...any) error {
	return s.w.tx(ctx, func(x *wtx) error {
		n, err := x.exec(ctx, q, args...)
		if err != nil || n > 0 {
			return err
		}
		var one int
		return notFound(x.QueryRowContext(ctx, `SELECT 1 FROM effects WHERE id = ?`, id).Scan(&one))
	})
}

func (s *Store) CompleteEffect(ctx context.Context, id string, result json.RawMessage) error {
	return s.effectUpdate(ctx, id, `UPDATE effects SET status = 'done', result = ?, lease_owner = '', lease_until = 0, updated_at = ?
		WHERE id = ? AND status <> 'done'`, blob(result), micros(store.Now(time.Time{})), id)
}

func (s *Store) RetryEffect(ctx context.Context, id string, nextAttemptAt time.Time, errText string) error {
	return s.effectUpdate(ctx, id, `UPDATE effects SET status = 'pending', next_attempt_at = ?, last_error = ?, lease_owner = '', lease_until = 0, updated_at = ?
		WHERE id = ? AND status <> 'done'`, micros(store.Now(nextAttemptAt)), errText, micros(store.Now(time.Time{})), id)
}

func (s *Store) DeadLetter(ctx context.Context, id string, errText string) error {
	return s.effectUpdate(ctx, id, `UPDATE effects SET status = 'dead', last_error = ?, lease_owner = '', lease_until = 0, updated_at = ?
		WHERE id = ? AND status <> 'done'`, errText, micros(store.Now(time.Time{})), id)
}

func (s *Store) GetEffect(ctx context.Context, id string) (store.Effect, error) {
	return scanEffect(s.rs.QueryRowContext(ctx, `SELECT `+effectCols+` FROM effects WHERE id = ?`, id))
}

func (s *Store) ListDeadLetters(ctx context.Context, page store.Page) ([]store.Effect, string, error) {
	return list(ctx, s.r, "effects", effectCols, []string{"status = 'dead'"}, nil, page, scanEffect)
}

func (s *Store) OutboxStats(ctx context.Context) (map[store.EffectStatus]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM effects GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[store.EffectStatus]int{store.EffectPending: 0, store.EffectLeased: 0, store.EffectDone: 0, store.EffectDead: 0}
	for rows.Next() {
		var st store.EffectStatus
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// ---- timers ----

const timerCols = `id, execution_id, fire_at, payload, lease_owner, lease_until`

func scanTimer(sc interface{ Scan(...any) error }) (store.Timer, error) {
	var t store.Timer
	var exec sql.NullString
	var fire, lease int64
	var payload []byte
	if err := sc.Scan(&t.ID, &exec, &fire, &payload, &t.LeaseOwner, &lease); err != nil {
		return t, notFound(err)
	}
	t.ExecutionID, t.Payload, t.FireAt, t.LeaseUntil = exec.String, payload, fromMicros(fire), fromMicros(lease)
	return t, nil
}

func (s *Store) ClaimDueTimers(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]store.Timer, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("%w: ClaimDueTimers needs an owner, a limit and a lease", store.ErrInvalid)
	}
	now = store.Now(now)
	n := micros(now)
	var out []store.Timer
	err := s.w.tx(ctx, func(x *wtx) error {
		out = out[:0]
		rows, err := x.QueryContext(ctx, `UPDATE timers SET lease_owner = ?, lease_until = ?
			WHERE id IN (SELECT id FROM timers WHERE fire_at <= ? AND lease_until <= ? ORDER BY fire_at, id LIMIT ?)
			RETURNING `+timerCols, owner, micros(now.Add(lease)), n, n, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTimer(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FireAt.Before(out[j].FireAt) })
	return out, nil
}

func (s *Store) DeleteTimer(ctx context.Context, id string) error {
	return s.w.tx(ctx, func(x *wtx) error {
		_, err := x.ExecContext(ctx, `DELETE FROM timers WHERE id = ?`, id)
		return err
	})
}

func (s *Store) NextTimerAt(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	if err := s.rs.QueryRowContext(ctx, `SELECT min(fire_at) FROM timers`).Scan(&at); err != nil {
		return time.Time{}, false, err
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(at.Int64), true, nil
}

// ---- tasks ----

// taskCols are a task's columns as a unit inserts them; taskReadCols add
// what the router leader writes.
const (
	taskCols     = `id, conversation_id, contact_id, execution_id, workflow, attributes, priority, status, channel, created_at, updated_at`
	taskReadCols = taskCols + `, queue, worker_id`
)

func scanTask(sc interface{ Scan(...any) error }) (store.Task, error) {
	var t store.Task
	var exec sql.NullString
	var attrs string
	var created, updated int64
	if err := sc.Scan(&t.ID, &t.ConversationID, &t.ContactID, &exec, &t.Workflow, &attrs, &t.Priority, &t.Status, &t.Channel,
		&created, &updated, &t.Queue, &t.WorkerID); err != nil {
		return t, notFound(err)
	}
	t.ExecutionID, t.Attributes = exec.String, json.RawMessage(attrs)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, nil
}

func (s *Store) GetTask(ctx context.Context, id string) (store.Task, error) {
	return scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskReadCols+` FROM tasks WHERE id = ?`, id))
}

func (s *Store) ListTasks(ctx context.Context, status store.TaskStatus, page store.Page) ([]store.Task, string, error) {
	var where []string
	var args []any
	if status != "" {
		where, args = append(where, "status = ?"), append(args, status)
	}
	return list(ctx, s.r, "tasks", taskReadCols, where, args, page, scanTask)
}

// ---- tokens ----

func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.Hash == "" || (t.Role != store.RoleAdmin && t.Role != store.RoleWorker) {
		return fmt.Errorf("%w: token needs a hash and role admin or worker", store.ErrInvalid)
	}
	if t.ID == "" {
		t.ID = "tok_" + store.NewID()
	}
	return s.w.tx(ctx, func(x *wtx) error {
		var n int64
		var err error
		if t.Role == store.RoleWorker {
			// Bound to the worker row of now, in the transaction that checks
			// it exists.
			n, err = x.exec(ctx, `INSERT INTO api_tokens (id, hash, role, subject, incarnation, created_at, expires_at)
				SELECT ?, ?, 'worker', id, incarnation, ?, ? FROM workers WHERE id = ?`,
				t.ID, t.Hash, micros(store.Now(t.CreatedAt)), micros(store.Micro(t.ExpiresAt)), t.Subject)
		} else {
			n, err = x.exec(ctx, `INSERT INTO api_tokens (id, hash, role, subject, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
				t.ID, t.Hash, t.Role, t.Subject, micros(store.Now(t.CreatedAt)), micros(store.Micro(t.ExpiresAt)))
		}
		switch {
		case isUnique(err):
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

func scanToken(sc interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var created, expires, used int64
	if err := sc.Scan(&t.ID, &t.Hash, &t.Role, &t.Subject, &created, &expires, &used); err != nil {
		return t, notFound(err)
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
	return t, nil
}

func (s *Store) LookupToken(ctx context.Context, hash string) (store.Token, error) {
	return scanToken(s.rs.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens t WHERE t.hash = ? AND `+liveToken, hash))
}

func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	// Through the prepared reads, which do not watch ctx: the API passes its
	// request, which the server reuses once the handler returns.
	return queryAll(ctx, s.rs, scanToken, `SELECT `+tokenCols+` FROM api_tokens t WHERE `+liveToken+` ORDER BY t.created_at, t.id`)
}

func (s *Store) DeleteToken(ctx context.Context, id string) error {
	return s.w.tx(ctx, func(x *wtx) error {
		n, err := x.exec(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return err
	})
}

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

// ---- programs ----

func (s *Store) SaveProgram(ctx context.Context, version string, source []byte, activate bool) error {
	if version == "" || source == nil {
		return fmt.Errorf("%w: SaveProgram needs a version and a source", store.ErrInvalid)
	}
	return s.w.tx(ctx, func(x *wtx) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO programs (version, source, active, created_at) VALUES (?, ?, 0, ?)
			ON CONFLICT (version) DO NOTHING`, version, []byte(source), micros(store.Now(time.Time{}))); err != nil {
			return err
		}
		if !activate {
			return nil
		}
		return activateProgram(ctx, x, version)
	})
}

func activateProgram(ctx context.Context, x *wtx, version string) error {
	if _, err := x.ExecContext(ctx, `UPDATE programs SET active = 0 WHERE active = 1 AND version <> ?`, version); err != nil {
		return err
	}
	n, err := x.exec(ctx, `UPDATE programs SET active = 1 WHERE version = ?`, version)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

func (s *Store) ActivateProgram(ctx context.Context, version string) error {
	return s.w.tx(ctx, func(x *wtx) error { return activateProgram(ctx, x, version) })
}

func scanProgram(sc interface{ Scan(...any) error }) (store.Program, error) {
	var p store.Program
	var created int64
	if err := sc.Scan(&p.Version, &p.Source, &p.Active, &created); err != nil {
		return p, notFound(err)
	}
	p.CreatedAt = fromMicros(created)
	return p, nil
}

func (s *Store) ActiveProgram(ctx context.Context) (store.Program, error) {
	return scanProgram(s.r.QueryRowContext(ctx, `SELECT version, source, active, created_at FROM programs WHERE active = 1`))
}

func (s *Store) GetProgram(ctx context.Context, version string) (store.Program, error) {
	return scanProgram(s.rs.QueryRowContext(ctx, `SELECT version, source, active, created_at FROM programs WHERE version = ?`, version))
}

func (s *Store) ListPrograms(ctx context.Context) ([]store.Program, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT version, NULL, active, created_at FROM programs ORDER BY seq DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Program
	for rows.Next() {
		p, err := scanProgram(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
