package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

// Commit applies a batch in one transaction.
//
// Round trips, not the server, bound a batch on PostgreSQL, so Commit first
// tries a fast path: one pipelined read of the dedupe keys and execution
// versions the batch names, a plan in Go of which units are Duplicate or
// Conflict (as sequential application would decide), then one pipeline with
// every write of the other units, in order, without savepoints. If any write
// does not do exactly what the plan expected (a concurrent node won a race, a
// unit breaks a constraint) the transaction is rolled back and the batch is
// redone on the slow path: a savepoint per unit, whose outcome is read from
// its own statements. The fast path is only a shortcut to the slow path's
// result: it commits only when every statement behaved as planned.
func (s *Store) Commit(ctx context.Context, b *store.Batch) ([]store.UnitResult, error) {
	res := make([]store.UnitResult, len(b.Units))
	if len(b.Units) == 0 {
		return res, nil
	}
	now := store.Now(time.Time{})
	ops := make([][]op, len(b.Units))
	for i, u := range b.Units {
		if err := u.Validate(); err != nil {
			res[i] = store.UnitResult{Outcome: store.Failed, Err: err}
			continue
		}
		o, err := unitOps(u, now)
		if err != nil {
			res[i] = store.UnitResult{Outcome: store.Failed, Err: err}
			continue
		}
		ops[i] = o
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	defer conn.Release()

	ok, err := s.fastCommit(ctx, conn.Conn(), b, ops, res, now)
	if err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	if ok {
		return res, nil
	}
	if err := s.slowCommit(ctx, conn.Conn(), b, ops, res); err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	return res, nil
}

// opKind says how to read a statement's result.
type opKind uint8

const (
	opPlain      opKind = iota // any row count
	opInbound                  // 0 rows: Duplicate
	opExecInsert               // 0 rows: Conflict (the id exists, or a live execution does)
	opExecUpdate               // 0 rows: Conflict (version); unique violation: Conflict (live)
	opTaskInsert               // 0 rows: Conflict (open task)
	opTaskUpdate               // 0 rows: Failed (no such task); unique violation: Conflict (open task)
	opConvClose                // 0 rows: Failed (no such conversation)
	opAddress                  // 0 rows: Conflict (address taken)
	opConvInsert               // 0 rows: Conflict (open conversation exists, contact merged) or Failed (no contact)
	opBulk                     // a table's rows (bulk.go): want rows, unless want is -1
	opRefs                     // any row (a missing conversation, or a task's missing row): Failed
)

// missingRows is a query's part that returns the ids of the text array
// $param that name no row of table (the store checks these references:
// see migrations 0012 and 0015). The LATERAL probe keeps the planner to
// one index lookup per id.
func missingRows(table string, param int) string {
	return fmt.Sprintf(`SELECT k.id FROM unnest($%d::text[]) AS k (id)
		LEFT JOIN LATERAL (SELECT 1 AS found FROM %s r WHERE r.id = k.id LIMIT 1) AS r ON true WHERE r.found IS NULL`, param, table)
}

var (
	// qMissingConversations: the conversations $1 names that do not exist.
	qMissingConversations = missingRows("conversations", 1)
	// qMissingTaskRefs: the conversation, contact and execution ids ($1,
	// $2, $3) that new tasks name and no row has. It runs after the
	// batch's other inserts, so the rows the batch creates are found.
	qMissingTaskRefs = missingRows("conversations", 1) + "\n\tUNION ALL " + missingRows("contacts", 2) +
		"\n\tUNION ALL " + missingRows("executions", 3)
)

// appendNew appends id to ids unless it is there already.
func appendNew(ids []string, id string) []string {
	if slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}

// taskRefs are what tasks name, by table: conversations, contacts and
// executions, once each.
type taskRefs struct{ conversations, contacts, executions []string }

func (r *taskRefs) add(tasks []store.Task) {
	add := func(ids *[]string, id string) {
		if id != "" { // a task may have no execution
			*ids = appendNew(*ids, id)
		}
	}
	for _, t := range tasks {
		add(&r.conversations, t.ConversationID)
		add(&r.contacts, t.ContactID)
		add(&r.executions, t.ExecutionID)
	}
}

func (r *taskRefs) args() []any {
	return []any{r.conversations, r.contacts, r.executions}
}

// conversationRefs are the conversations a unit's messages and execution
// name, once each, leaving out those created (per created) in the batch.
func conversationRefs(u *store.Unit, created map[string]bool) []string {
	var refs []string
	add := func(id string) {
		if !created[id] {
			refs = appendNew(refs, id)
		}
	}
	if m := u.Inbound; m != nil {
		add(m.ConversationID)
	}
	if w := u.Execution; w != nil {
		add(w.Execution.ConversationID)
	}
	for _, m := range u.Messages {
		add(m.ConversationID)
	}
	return refs
}

type op struct {
	kind opKind
	sql  string
	args []any
	ref  string  // the row's id, for messages
	sec  section // the table's place in a unit's order
	want int     // opBulk: the rows it must write (-1: any)
	copy []byte  // opBulk: the rows in COPY's binary format, for sql's COPY (copy.go)
}

// unitOps lists a unit's statements, in the order Unit documents.
func unitOps(u *store.Unit, now time.Time) ([]op, error) {
	at := now
	if !u.At.IsZero() {
		at = store.Micro(u.At)
	}
	var ops []op
	var sec section
	add := func(k opKind, ref, sql string, args ...any) {
		ops = append(ops, op{kind: k, sql: sql, args: args, ref: ref, sec: sec})
	}
	if c := u.Contact; c != nil {
		sec = secContacts
		// The address's primary key settles a race: ON CONFLICT waits for a
		// concurrent claimer's commit and then inserts nothing.
		add(opPlain, c.ID, `INSERT INTO contacts (id, name, created_at) VALUES ($1, $2, $3)`, c.ID, c.Name, at)
		add(opAddress, c.ID, `INSERT INTO contact_addresses (channel, address, contact_id, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, c.Channel, c.Address, c.ID, at)
	}
	if c := u.Conversation; c != nil {
		sec = secConversations
		// The same lock as OpenConversation's serializes the creators of
		// this conversation (no unique index: see the migration); the share
		// lock on the contact orders us with LinkContacts.
		add(opPlain, c.ID, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, conversationLockKey(c.ContactID, c.Channel, c.Instance))
		add(opConvInsert, c.ContactID, `INSERT INTO conversations (`+sqlstore.ConversationCols+`)
			SELECT $1, k.id, $3, $4, 'open', '{}', $5, $5 FROM contacts k
			WHERE k.id = $2 AND k.merged_into IS NULL AND ($6 OR NOT EXISTS (SELECT 1 FROM conversations o
				WHERE o.contact_id = $2 AND o.channel = $3 AND o.instance = $4 AND o.status = 'open'))
			FOR SHARE OF k`, c.ID, c.ContactID, c.Channel, c.Instance, at, c.Beside)
	}
	if refs := conversationRefs(u, nil); len(refs) > 0 {
		add(opRefs, "conversation "+strings.Join(refs, ", "), qMissingConversations, refs)
	}
	if m := u.Inbound; m != nil {
		sec = secInbound
		add(opInbound, m.ID, `INSERT INTO messages (id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at)
			VALUES ($1, $2, 'in', $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			m.ID, m.ConversationID, m.Connector, m.Instance, sqlstore.Nullable(m.PlatformMessageID), m.Text, []byte(m.Payload), createdAt(m.CreatedAt, at))
	}
	if w := u.Execution; w != nil {
		sec = secExecutions
		e := w.Execution
		if w.Expected == 0 {
			add(opExecInsert, e.ID, `INSERT INTO executions (`+sqlstore.ExecutionCols+`) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8) ON CONFLICT DO NOTHING`,
				e.ID, e.ConversationID, e.Flow, e.ProgramVersion, string(e.Status), []byte(e.Payload), at, e.Step)
		} else {
			add(opExecUpdate, e.ID, `UPDATE executions SET flow = $1, program_version = $2, status = $3, payload = $4, version = version + 1, updated_at = $5, step = $8
				WHERE id = $6 AND version = $7`,
				e.Flow, e.ProgramVersion, string(e.Status), []byte(e.Payload), at, e.ID, w.Expected, e.Step)
		}
	}
	sec = secMessages
	for _, m := range u.Messages {
		add(opPlain, m.ID, `INSERT INTO messages (id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
			m.ID, m.ConversationID, string(m.Direction), m.Connector, m.Instance, sqlstore.Nullable(m.PlatformMessageID), m.Text, []byte(m.Payload), createdAt(m.CreatedAt, at))
	}
	sec = secEffects
	for _, e := range u.Effects {
		due := at
		if !e.NextAttemptAt.IsZero() {
			due = store.Micro(e.NextAttemptAt)
		}
		add(opPlain, e.ID, `INSERT INTO effects (id, execution_id, kind, idempotency_key, payload, status, next_attempt_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7) ON CONFLICT DO NOTHING`,
			e.ID, sqlstore.Nullable(e.ExecutionID), e.Kind, e.Key(), []byte(e.Payload), due, at)
	}
	sec = secCompleteEffects
	for _, r := range u.CompleteEffects {
		add(opPlain, r.ID, `UPDATE effects SET status = 'done', result = $1, lease_owner = '', lease_until = NULL, updated_at = $2
			WHERE id = $3 AND status <> 'done'`, []byte(r.Result), at, r.ID)
	}
	sec = secDeleteTimers
	for _, id := range u.DeleteTimers {
		add(opPlain, id, `DELETE FROM timers WHERE id = $1`, id)
	}
	sec = secTimers
	for _, t := range u.Timers {
		add(opPlain, t.ID, `INSERT INTO timers (id, execution_id, fire_at, payload, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET execution_id = excluded.execution_id, fire_at = excluded.fire_at,
				payload = excluded.payload, lease_owner = '', lease_until = NULL`,
			t.ID, sqlstore.Nullable(t.ExecutionID), store.Micro(t.FireAt), []byte(t.Payload), at)
	}
	sec = secTasks
	if len(u.Tasks) > 0 {
		var refs taskRefs
		refs.add(u.Tasks)
		add(opRefs, "a conversation, contact or execution the task names", qMissingTaskRefs, refs.args()...)
	}
	for _, t := range u.Tasks {
		args, err := sqlstore.TaskArgs(t, at)
		if err != nil {
			return nil, err
		}
		add(opTaskInsert, t.ID, `INSERT INTO tasks (`+sqlstore.TaskCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
			args...)
	}
	sec = secTaskUpdates
	for _, t := range u.TaskUpdates {
		attrs, err := sqlstore.OptionalObject(t.Attributes)
		if err != nil {
			return nil, err
		}
		add(opTaskUpdate, t.ID, `UPDATE tasks SET status = $1, attributes = coalesce($2::jsonb, attributes), updated_at = $3 WHERE id = $4`,
			string(t.Status), attrs, at, t.ID)
	}
	sec = secCloseConversations
	for _, id := range u.CloseConversations {
		add(opConvClose, id, `UPDATE conversations SET status = 'closed', updated_at = $1 WHERE id = $2`, at, id)
	}
	return ops, nil
}

func createdAt(t, unit time.Time) time.Time {
	if t.IsZero() {
		return unit
	}
	return store.Micro(t)
}

// judge reads one statement's result: nil when it did what a committed unit
// needs, else the unit's outcome (Duplicate, Conflict, Failed). A non-nil
// error is the database's fault: the batch fails.
func judge(o op, tag pgconn.CommandTag, err error) (*store.UnitResult, error) {
	if err != nil {
		code := pgCode(err)
		switch {
		case o.kind == opExecUpdate && code == uniqueViolation:
			return &store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonLiveExecution}, nil
		case o.kind == opTaskUpdate && code == uniqueViolation:
			return &store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonOpenTask}, nil
		case unitFault(err):
			return &store.UnitResult{Outcome: store.Failed, Err: err}, nil
		}
		return nil, err
	}
	if o.kind == opRefs && tag.RowsAffected() > 0 {
		return &store.UnitResult{Outcome: store.Failed, Err: fmt.Errorf("%s: %w", o.ref, store.ErrNotFound)}, nil
	}
	if o.kind == opBulk {
		if o.want >= 0 && tag.RowsAffected() != int64(o.want) {
			return &store.UnitResult{Outcome: store.Conflict}, nil // not as planned: the slow path finds out which unit
		}
		return nil, nil
	}
	if tag.RowsAffected() > 0 {
		return nil, nil
	}
	switch o.kind {
	case opInbound:
		return &store.UnitResult{Outcome: store.Duplicate, Reason: store.ReasonDuplicate}, nil
	case opExecInsert:
		return &store.UnitResult{Outcome: store.Conflict}, nil // reason filled in by the caller
	case opExecUpdate:
		return &store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonVersion}, nil
	case opTaskInsert:
		return &store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonOpenTask}, nil
	case opAddress:
		return &store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonAddressTaken}, nil
	case opConvInsert:
		return &store.UnitResult{Outcome: store.Conflict}, nil // reason filled in by the caller
	case opTaskUpdate:
		return &store.UnitResult{Outcome: store.Failed, Err: fmt.Errorf("task %s: %w", o.ref, store.ErrNotFound)}, nil
	case opConvClose:
		return &store.UnitResult{Outcome: store.Failed, Err: fmt.Errorf("%s: %w", o.ref, store.ErrNotFound)}, nil
	}
	return nil, nil
}

type dedupeKey struct{ connector, instance, id string }

type convKey struct{ contact, channel, instance string }

// conversationLockKey names the advisory lock that serializes the creators
// of one open conversation (OpenConversation and units alike).
func conversationLockKey(contactID, channel, instance string) string {
	return "switchboard conversation " + contactID + "\x1f" + channel + "\x1f" + instance
}

type execState struct {
	conv    string
	version int64
	live    bool
}

// fastCommit plans the batch from one read and writes it in one pipeline;
// false means "use the slow path" (nothing was committed).
func (s *Store) fastCommit(ctx context.Context, conn *pgx.Conn, b *store.Batch, ops [][]op, res []store.UnitResult, now time.Time) (bool, error) {
	// BEGIN travels in the read's pipeline: one round trip fewer than
	// conn.Begin, which matters most when batches are small.
	open := true
	defer func() {
		if open {
			// Not ctx: a cancelled ctx must still end the transaction. A
			// failing ROLLBACK leaves the connection broken, and pgx then
			// closes it instead of reusing it.
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()

	// Read what the plan needs, in one round trip.
	st := newFastState()
	read := &pgx.Batch{}
	read.Queue("BEGIN")
	st.queueReads(read, batchKeys(b, ops))
	if err := conn.SendBatch(ctx, read).Close(); err != nil {
		return false, err
	}

	// Plan: decide Duplicate and Conflict as sequential application would.
	planned := make([]store.UnitResult, len(b.Units))
	commits := make([]bool, len(b.Units))
	var queued []op
	for i, u := range b.Units {
		if ops[i] == nil {
			planned[i] = res[i] // Failed validation
			continue
		}
		if planned[i], commits[i] = st.plan(u); commits[i] {
			queued = append(queued, ops[i]...)
		}
	}
	if sqlstore.Tabular(b.Units, func(i int) bool { return !commits[i] }) {
		if t, ok := tableOps(b.Units, commits, ops, now); ok {
			queued = t
		}
	}
	if ok, err := sendWrites(ctx, conn, queued); !ok || err != nil {
		return false, err
	}
	open = false // after COMMIT is sent, even if it fails: the server ends the transaction
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return false, err
	}
	if tag.String() != "COMMIT" { // an aborted transaction "commits" as ROLLBACK
		return false, fmt.Errorf("COMMIT answered %s", tag)
	}
	copy(res, planned)
	return true, nil
}

// fastKeys are what the fast path looks up for a batch, as arrays.
type fastKeys struct {
	conns, insts, pmids, execIDs, execConvs              []string
	addrChans, addrs, convContacts, convChans, convInsts []string
}

func batchKeys(b *store.Batch, ops [][]op) *fastKeys {
	k := &fastKeys{}
	for i, u := range b.Units {
		if ops[i] == nil {
			continue
		}
		if c := u.Contact; c != nil {
			k.addrChans, k.addrs = append(k.addrChans, c.Channel), append(k.addrs, c.Address)
		}
		if c := u.Conversation; c != nil {
			k.convContacts, k.convChans, k.convInsts = append(k.convContacts, c.ContactID), append(k.convChans, c.Channel), append(k.convInsts, c.Instance)
		}
		if m := u.Inbound; m != nil && m.PlatformMessageID != "" {
			k.conns, k.insts, k.pmids = append(k.conns, m.Connector), append(k.insts, m.Instance), append(k.pmids, m.PlatformMessageID)
		}
		if w := u.Execution; w != nil {
			k.execIDs, k.execConvs = append(k.execIDs, w.Execution.ID), append(k.execConvs, w.Execution.ConversationID)
		}
	}
	return k
}

// fastState is what the database holds of the rows a batch touches, as
// read before the plan and then updated by each unit the plan commits.
type fastState struct {
	seen     map[dedupeKey]bool
	execs    map[string]*execState
	liveBy   map[string]string // conversation → live execution id
	taken    map[store.Address]bool
	contacts map[string]bool // contact id → merged (present: the contact exists)
	openConv map[convKey]bool
}

func newFastState() *fastState {
	return &fastState{seen: map[dedupeKey]bool{}, execs: map[string]*execState{}, liveBy: map[string]string{},
		taken: map[store.Address]bool{}, contacts: map[string]bool{}, openConv: map[convKey]bool{}}
}

// queueReads queues the lookups that fill st.
func (st *fastState) queueReads(read *pgx.Batch, keys *fastKeys) {
	// Every lookup is a LATERAL probe of a unique index, one per key (the
	// LIMIT keeps the planner from flattening it into a join). A join or an
	// OR is planned from statistics, which a young, fast-growing table does
	// not have yet: it then believes the table tiny and scans a whole index
	// on every commit, which grows with the table.
	read.Queue(`SELECT k.connector, k.instance, k.pmid
		FROM unnest($1::text[], $2::text[], $3::text[]) AS k (connector, instance, pmid)
		CROSS JOIN LATERAL (SELECT 1 FROM messages m
			WHERE m.connector = k.connector AND m.instance = k.instance AND m.platform_message_id = k.pmid
			AND m.direction = 'in' LIMIT 1) AS hit`, keys.conns, keys.insts, keys.pmids).Query(func(rows pgx.Rows) error {
		var k dedupeKey
		_, err := pgx.ForEachRow(rows, []any{&k.connector, &k.instance, &k.id}, func() error {
			st.seen[k] = true
			return nil
		})
		return err
	})
	read.Queue(`SELECT e.id, e.conversation_id, e.version, e.status IN ('running', 'waiting')
		FROM unnest($1::text[]) AS k (id) CROSS JOIN LATERAL (SELECT * FROM executions WHERE id = k.id LIMIT 1) AS e
		UNION
		SELECT e.id, e.conversation_id, e.version, true
		FROM unnest($2::text[]) AS k (conv) CROSS JOIN LATERAL (SELECT * FROM executions
			WHERE conversation_id = k.conv AND status IN ('running', 'waiting') LIMIT 1) AS e`, keys.execIDs, keys.execConvs).Query(func(rows pgx.Rows) error {
		var id string
		var e execState
		_, err := pgx.ForEachRow(rows, []any{&id, &e.conv, &e.version, &e.live}, func() error {
			cp := e
			st.execs[id] = &cp
			if e.live {
				st.liveBy[e.conv] = id
			}
			return nil
		})
		return err
	})
	if len(keys.addrs) > 0 {
		read.Queue(`SELECT k.channel, k.address
			FROM unnest($1::text[], $2::text[]) AS k (channel, address)
			CROSS JOIN LATERAL (SELECT 1 FROM contact_addresses a
				WHERE a.channel = k.channel AND a.address = k.address LIMIT 1) AS hit`, keys.addrChans, keys.addrs).Query(func(rows pgx.Rows) error {
			var a store.Address
			_, err := pgx.ForEachRow(rows, []any{&a.Channel, &a.Address}, func() error {
				st.taken[a] = true
				return nil
			})
			return err
		})
	}
	if len(keys.convContacts) > 0 {
		read.Queue(`SELECT c.id, c.merged_into IS NOT NULL, k.channel, k.instance, EXISTS (SELECT 1 FROM conversations o
				WHERE o.contact_id = k.contact AND o.channel = k.channel AND o.instance = k.instance AND o.status = 'open')
			FROM unnest($1::text[], $2::text[], $3::text[]) AS k (contact, channel, instance)
			CROSS JOIN LATERAL (SELECT id, merged_into FROM contacts WHERE id = k.contact LIMIT 1) AS c`,
			keys.convContacts, keys.convChans, keys.convInsts).Query(func(rows pgx.Rows) error {
			var k convKey
			var merged, open bool
			_, err := pgx.ForEachRow(rows, []any{&k.contact, &merged, &k.channel, &k.instance, &open}, func() error {
				st.contacts[k.contact] = merged
				if open {
					st.openConv[k] = true
				}
				return nil
			})
			return err
		})
	}
}

// plan decides a unit's outcome as sequential application would, and
// records what a unit that commits changes.
func (st *fastState) plan(u *store.Unit) (store.UnitResult, bool) {
	if c := u.Contact; c != nil && st.taken[store.Address{Channel: c.Channel, Address: c.Address}] {
		return store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonAddressTaken}, false
	}
	if c := u.Conversation; c != nil {
		merged, known := st.contacts[c.ContactID]
		switch {
		case known && merged:
			return store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonContactMerged}, false
		case st.openConv[convKey{c.ContactID, c.Channel, c.Instance}] && !c.Beside:
			return store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonConversationExists}, false
		}
		// An unknown contact (not created earlier in the batch) fails
		// its insert, and the slow path reports the unit Failed.
	}
	if m := u.Inbound; m != nil && m.PlatformMessageID != "" {
		k := dedupeKey{m.Connector, m.Instance, m.PlatformMessageID}
		if st.seen[k] {
			return store.UnitResult{Outcome: store.Duplicate, Reason: store.ReasonDuplicate}, false
		}
	}
	if w := u.Execution; w != nil {
		e := w.Execution
		cur := st.execs[e.ID]
		live := e.Status.Live()
		switch {
		case w.Expected == 0 && cur != nil, w.Expected > 0 && (cur == nil || cur.version != w.Expected):
			return store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonVersion}, false
		case live && st.liveBy[e.ConversationID] != "" && st.liveBy[e.ConversationID] != e.ID:
			return store.UnitResult{Outcome: store.Conflict, Reason: store.ReasonLiveExecution}, false
		}
		if cur == nil {
			cur = &execState{conv: e.ConversationID}
			st.execs[e.ID] = cur
		}
		if cur.live && !live {
			delete(st.liveBy, cur.conv)
		}
		cur.version, cur.live = w.Expected+1, live
		if live {
			st.liveBy[cur.conv] = e.ID
		}
	}
	if m := u.Inbound; m != nil && m.PlatformMessageID != "" {
		st.seen[dedupeKey{m.Connector, m.Instance, m.PlatformMessageID}] = true
	}
	if c := u.Contact; c != nil {
		st.taken[store.Address{Channel: c.Channel, Address: c.Address}] = true
		st.contacts[c.ID] = false
	}
	if c := u.Conversation; c != nil {
		st.openConv[convKey{c.ContactID, c.Channel, c.Instance}] = true
	}
	return u.CommittedResult(), true
}

// sendWrites sends the planned writes, each run of consecutive COPYs in one
// round trip and each run of other statements in one pipeline; false: a
// statement did not do what the plan expected (the slow path decides).
func sendWrites(ctx context.Context, conn *pgx.Conn, queued []op) (bool, error) {
	for len(queued) > 0 {
		n := 1
		for n < len(queued) && (queued[n].copy != nil) == (queued[0].copy != nil) {
			n++
		}
		run := queued[:n]
		queued = queued[n:]
		send := sendPipeline
		if run[0].copy != nil {
			send = sendCopies
		}
		if ok, err := send(ctx, conn, run); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// sendPipeline sends statements in one pipeline.
func sendPipeline(ctx context.Context, conn *pgx.Conn, queued []op) (bool, error) {
	write := &pgx.Batch{}
	for _, o := range queued {
		write.Queue(o.sql, o.args...)
	}
	br := conn.SendBatch(ctx, write)
	for _, o := range queued {
		tag, err := br.Exec()
		r, ferr := judge(o, tag, err)
		if ferr != nil || r != nil || err != nil {
			br.Close()
			if ferr != nil {
				return false, ferr
			}
			return false, nil // not as planned: slow path
		}
	}
	if err := br.Close(); err != nil {
		if unitFault(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// slowCommit applies each unit inside a savepoint, one pipelined round trip
// per unit (its savepoint, its statements, and the previous unit's release).
func (s *Store) slowCommit(ctx context.Context, conn *pgx.Conn, b *store.Batch, ops [][]op, res []store.UnitResult) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var finish []string // statements that end the previous unit's savepoint
	for i, u := range b.Units {
		if ops[i] == nil {
			continue // Failed validation, already in res
		}
		batch := &pgx.Batch{}
		for _, f := range finish {
			batch.Queue(f)
		}
		batch.Queue(`SAVEPOINT unit`)
		for _, o := range ops[i] {
			batch.Queue(o.sql, o.args...)
		}
		br := tx.SendBatch(ctx, batch)
		for range len(finish) + 1 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		var outcome *store.UnitResult
		var reasonOf string // execution id whose conflict reason is still unknown
		var convOf string   // contact id of a conversation insert that did nothing
		for _, o := range ops[i] {
			tag, err := br.Exec()
			if outcome != nil {
				continue // the rest is rolled back with the savepoint
			}
			r, ferr := judge(o, tag, err)
			if ferr != nil {
				br.Close()
				return ferr
			}
			if r != nil && r.Outcome == store.Conflict && r.Reason == "" {
				if o.kind == opConvInsert {
					convOf = o.ref
				} else {
					reasonOf = o.ref
				}
			}
			outcome = r
		}
		if err := br.Close(); err != nil && outcome == nil {
			if !unitFault(err) {
				return err
			}
			outcome = &store.UnitResult{Outcome: store.Failed, Err: err}
		}
		if outcome == nil {
			res[i] = u.CommittedResult()
			finish = []string{`RELEASE SAVEPOINT unit`}
			continue
		}
		// Now, not piggybacked: the transaction may be aborted, and pgx
		// prepares the next batch's new statements before sending it.
		finish = nil
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT unit`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT unit`); err != nil {
			return err
		}
		if reasonOf != "" {
			// The new execution's insert did nothing: because the id exists
			// (a version conflict) or the conversation has a live one.
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM executions WHERE id = $1)`, reasonOf).Scan(&exists); err != nil {
				return err
			}
			outcome.Reason = store.ReasonLiveExecution
			if exists {
				outcome.Reason = store.ReasonVersion
			}
		}
		if convOf != "" {
			// The conversation's insert did nothing: the contact is missing,
			// merged, or has that open conversation already.
			var merged pgtype.Text
			err := tx.QueryRow(ctx, `SELECT merged_into FROM contacts WHERE id = $1`, convOf).Scan(&merged)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				*outcome = store.UnitResult{Outcome: store.Failed, Err: fmt.Errorf("contact %s: %w", convOf, store.ErrNotFound)}
			case err != nil:
				return err
			case merged.Valid:
				outcome.Reason = store.ReasonContactMerged
			default:
				outcome.Reason = store.ReasonConversationExists
			}
		}
		res[i] = *outcome
	}
	for _, f := range finish {
		if _, err := tx.Exec(ctx, f); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}
