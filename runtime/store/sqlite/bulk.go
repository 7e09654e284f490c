package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

// The bulk path of Commit: the rows of every unit of a batch written with
// one multi-row INSERT per table instead of one statement per row, and no
// savepoint per unit. A new contact's first message is about eight rows in
// six tables; statements, savepoints and their bookkeeping were most of the
// writer's time, and the writer is what bounds the store's throughput.
//
// It is only taken when its outcome is the outcome of applying the units one
// by one (applyUnit, in batch order) and every unit commits:
//
//   - sqlstore.Tabular refuses a batch whose units depend on each other in a
//     way that writing table by table would reorder (the same id in two
//     units, a row naming what a later unit creates, …). Such a batch goes
//     unit by unit at once.
//   - apply checks what its statements cannot: that the contact of each new
//     conversation exists, is not merged and has no open conversation on
//     that channel instance. Every other rule is one the statements enforce
//     themselves. Where applyUnit's ON CONFLICT DO NOTHING makes a unit a
//     Duplicate or a Conflict (inbound messages, new executions, tasks), the
//     bulk INSERT has no such clause, so the unique violation is an error, as
//     is any foreign key violation; an UPDATE that must change one row (an
//     execution's version, a task, a conversation to close) and changes none
//     shows in its rows changed. Any of those, and apply returns errFallback
//     (or the constraint error): Commit rolls the transaction back and
//     applies the batch unit by unit, which finds the same thing and reports
//     it for that unit alone. Other messages, effects and timers keep
//     applyUnit's ON CONFLICT clauses: a row already there is skipped or
//     replaced, as unit by unit.
//
// The tables are written in the order applyUnit writes a unit (contacts,
// addresses, conversations, inbound messages, executions, messages,
// effects, completed effects, deleted timers, timers, tasks, task updates,
// closed conversations), and within a table in batch order, so where two
// units may touch the same row (an effect's idempotency key, say: the first
// one stays) they meet in the same order.

// errFallback says that the bulk path cannot show that every unit commits.
var errFallback = errors.New("sqlite: batch needs the unit-by-unit path")

// insertSpec is a multi-row INSERT: head, then row repeated with ", ", then tail.
type insertSpec struct {
	head, row, tail string
	cols            int // parameters per row
}

// maxBulkRows caps the rows of one statement, so that its parameters stay
// far below SQLite's limit (32766). Below it a batch's rows go in at most two
// statements, a multiple of eight rows and the rest (37 rows: 32 and 5), so
// each table needs at most 23 prepared statements whatever the batch sizes.
const maxBulkRows = 128

// chunkRows is how many of rows the next statement inserts.
func chunkRows(rows int) int {
	switch {
	case rows >= maxBulkRows:
		return maxBulkRows
	case rows > 8:
		return rows &^ 7
	}
	return rows
}

var (
	insContacts = &insertSpec{head: `INSERT INTO contacts (id, name, attributes, created_at) VALUES `,
		row: `(?, ?, '{}', ?)`, cols: 3}
	insAddresses = &insertSpec{head: `INSERT INTO contact_addresses (channel, address, contact_id, created_at) VALUES `,
		row: `(?, ?, ?, ?)`, cols: 4}
	insConversations = &insertSpec{head: `INSERT INTO conversations (` + sqlstore.ConversationCols + `) VALUES `,
		row: `(?, ?, ?, ?, 'open', '{}', ?, ?)`, cols: 6}
	insInbound = &insertSpec{head: `INSERT INTO messages (id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at) VALUES `,
		row: `(?, ?, 'in', ?, ?, ?, ?, ?, ?)`, cols: 8}
	insExecutions = &insertSpec{head: `INSERT INTO executions (` + sqlstore.ExecutionCols + `) VALUES `,
		row: `(?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`, cols: 9}
	insMessages = &insertSpec{head: `INSERT INTO messages (id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at) VALUES `,
		row: `(?, ?, ?, ?, ?, ?, ?, ?, ?)`, tail: ` ON CONFLICT (id) DO NOTHING`, cols: 9}
	insEffects = &insertSpec{head: `INSERT INTO effects (id, execution_id, kind, idempotency_key, payload, status, next_attempt_at, created_at, updated_at) VALUES `,
		row: `(?, ?, ?, ?, ?, 'pending', ?, ?, ?)`, tail: ` ON CONFLICT DO NOTHING`, cols: 8}
	insTimers = &insertSpec{head: `INSERT INTO timers (id, execution_id, fire_at, payload, created_at) VALUES `,
		row: `(?, ?, ?, ?, ?)`, tail: ` ON CONFLICT (id) DO UPDATE SET execution_id = excluded.execution_id, fire_at = excluded.fire_at,
				payload = excluded.payload, lease_owner = '', lease_until = 0`, cols: 5}
	insTasks = &insertSpec{head: `INSERT INTO tasks (` + sqlstore.TaskCols + `) VALUES `,
		row: placeholders(strings.Count(sqlstore.TaskCols, ",") + 1), cols: strings.Count(sqlstore.TaskCols, ",") + 1}
)

func placeholders(n int) string {
	return "(" + strings.Repeat("?, ", n-1) + "?)"
}

type bulkKey struct {
	spec *insertSpec
	rows int
}

// bulkStmt returns the prepared statement inserting rows rows of spec.
func (w *writer) bulkStmt(ctx context.Context, spec *insertSpec, rows int) (*sql.Stmt, error) {
	k := bulkKey{spec, rows}
	if st, ok := w.bulk[k]; ok {
		return st, nil
	}
	var q strings.Builder
	q.WriteString(spec.head)
	for i := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(spec.row)
	}
	q.WriteString(spec.tail)
	st, err := w.conn.PrepareContext(ctx, q.String())
	if err != nil {
		return nil, err
	}
	w.bulk[k] = st
	return st, nil
}

// insert runs spec for every row of args (spec.cols values a row) and
// returns the number of rows inserted.
func (x *wtx) insert(ctx context.Context, spec *insertSpec, args []any) (int64, error) {
	var total int64
	for len(args) > 0 {
		rows := len(args) / spec.cols
		chunk := chunkRows(rows)
		st, err := x.w.bulkStmt(ctx, spec, chunk)
		if err != nil {
			return 0, err
		}
		res, err := st.ExecContext(ctx, cleanArgs(args[:chunk*spec.cols])...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		total += n
		args = args[chunk*spec.cols:]
	}
	return total, nil
}

// bulkPlan is a batch laid out table by table.
type bulkPlan struct {
	contacts, addresses, conversations, inbound, executions, messages, effects, timers, tasks []any

	nInbound, nExecutions, nTasks int

	// New conversations of contacts the batch does not create: checked.
	convChecks []convKey

	updates []update // in applyUnit's order: executions first, then completions, ... (see kind)
}

type convKey struct{ contact, channel, instance string }

// update is a single-row statement of the plan; must says it has to change
// exactly one row (else the unit would be a Conflict or Failed).
type update struct {
	kind int // the order of the group it belongs to
	q    string
	args []any
	must bool
}

const (
	updExecution = iota
	updCompleteEffect
	updDeleteTimer
	updTask
	updCloseConversation
)

const (
	qUpdateExecution = `UPDATE executions SET flow = ?, program_version = ?, status = ?, payload = ?, version = version + 1, updated_at = ?, step = ?
				WHERE id = ? AND version = ?`
	qCompleteEffect = `UPDATE effects SET status = 'done', result = ?, lease_owner = '', lease_until = 0, updated_at = ?
			WHERE id = ? AND status <> 'done'`
	qDeleteTimer        = `DELETE FROM timers WHERE id = ?`
	qUpdateTask         = `UPDATE tasks SET status = ?, attributes = coalesce(?, attributes), updated_at = ? WHERE id = ?`
	qCloseConversation  = `UPDATE conversations SET status = 'closed', updated_at = ? WHERE id = ?`
	qContactForConv     = `SELECT merged_into FROM contacts WHERE id = ?`
	qOpenConversationOf = `SELECT 1 FROM conversations WHERE contact_id = ? AND channel = ? AND instance = ? AND status = 'open' LIMIT 1`
)

// planBulk lays the batch out for apply, or returns nil when its units
// depend on each other in a way apply cannot keep (sqlstore.Tabular). Units
// with a result already (Failed by Validate) are left out.
func planBulk(units []*store.Unit, res []store.UnitResult, now time.Time) *bulkPlan {
	if !sqlstore.Tabular(units, func(i int) bool { return res[i].Outcome != 0 }) {
		return nil
	}
	n := len(units)
	p := &bulkPlan{
		contacts: make([]any, 0, 3*n), addresses: make([]any, 0, 4*n), conversations: make([]any, 0, 6*n),
		inbound: make([]any, 0, 8*n), executions: make([]any, 0, 8*n), messages: make([]any, 0, 9*n),
	}
	created := make(map[string]bool, n) // contacts the batch creates
	for i, u := range units {
		if res[i].Outcome != 0 {
			continue
		}
		t := micros(now)
		if !u.At.IsZero() {
			t = micros(store.Micro(u.At))
		}
		p.identity(u, t, created)
		p.rows(u, t)
		if !p.taskRows(u, t) {
			return nil
		}
	}
	return p
}

// identity plans the unit's contact, conversation, inbound message and execution.
func (p *bulkPlan) identity(u *store.Unit, t int64, created map[string]bool) {
	if c := u.Contact; c != nil {
		created[c.ID] = true
		p.contacts = append(p.contacts, c.ID, c.Name, t)
		p.addresses = append(p.addresses, c.Channel, c.Address, c.ID, t)
	}
	if c := u.Conversation; c != nil {
		if !created[c.ContactID] {
			p.convChecks = append(p.convChecks, convKey{c.ContactID, c.Channel, c.Instance})
		}
		p.conversations = append(p.conversations, c.ID, c.ContactID, c.Channel, c.Instance, t, t)
	}
	if m := u.Inbound; m != nil {
		p.inbound = append(p.inbound, m.ID, m.ConversationID, m.Connector, m.Instance, sqlstore.Nullable(m.PlatformMessageID),
			m.Text, sqlstore.Payload(m.Payload), createdAt(m.CreatedAt, t))
		p.nInbound++
	}
	if w := u.Execution; w != nil {
		e := w.Execution
		if w.Expected == 0 {
			p.executions = append(p.executions, e.ID, e.ConversationID, e.Flow, e.ProgramVersion, e.Status, sqlstore.Payload(e.Payload), t, t, e.Step)
			p.nExecutions++
		} else {
			p.updates = append(p.updates, update{kind: updExecution, q: qUpdateExecution, must: true,
				args: []any{e.Flow, e.ProgramVersion, e.Status, sqlstore.Payload(e.Payload), t, e.Step, e.ID, w.Expected}})
		}
	}
}

// rows plans the unit's replies, effects and timers.
func (p *bulkPlan) rows(u *store.Unit, t int64) {
	for _, m := range u.Messages {
		p.messages = append(p.messages, m.ID, m.ConversationID, m.Direction, m.Connector, m.Instance,
			sqlstore.Nullable(m.PlatformMessageID), m.Text, sqlstore.Payload(m.Payload), createdAt(m.CreatedAt, t))
	}
	for _, e := range u.Effects {
		key, due := effectDefaults(e, t)
		p.effects = append(p.effects, e.ID, sqlstore.Nullable(e.ExecutionID), e.Kind, key, sqlstore.Payload(e.Payload), due, t, t)
	}
	for _, r := range u.CompleteEffects {
		p.updates = append(p.updates, update{kind: updCompleteEffect, q: qCompleteEffect, args: []any{sqlstore.Payload(r.Result), t, r.ID}})
	}
	for _, id := range u.DeleteTimers {
		p.updates = append(p.updates, update{kind: updDeleteTimer, q: qDeleteTimer, args: []any{id}})
	}
	for _, tm := range u.Timers {
		p.timers = append(p.timers, tm.ID, sqlstore.Nullable(tm.ExecutionID), micros(store.Micro(tm.FireAt)), sqlstore.Payload(tm.Payload), t)
	}
}

// taskRows plans the unit's tasks, task updates and closed conversations;
// false: a task's attributes are not an object (the unit-by-unit path
// reports that unit Failed).
func (p *bulkPlan) taskRows(u *store.Unit, t int64) bool {
	for _, tk := range u.Tasks {
		args, err := sqlstore.TaskArgs(tk, t)
		if err != nil {
			return false
		}
		p.tasks = append(p.tasks, args...)
		p.nTasks++
	}
	for _, tu := range u.TaskUpdates {
		attrs, err := sqlstore.OptionalObject(tu.Attributes)
		if err != nil {
			return false
		}
		p.updates = append(p.updates, update{kind: updTask, q: qUpdateTask, must: true, args: []any{tu.Status, attrs, t, tu.ID}})
	}
	for _, id := range u.CloseConversations {
		p.updates = append(p.updates, update{kind: updCloseConversation, q: qCloseConversation, must: true, args: []any{t, id}})
	}
	return true
}

// apply writes the plan in the current transaction; errFallback (or a
// constraint error) means some unit would not commit.
func (p *bulkPlan) apply(ctx context.Context, x *wtx) error {
	// What no statement checks: a new conversation's contact exists, is not
	// merged, and has no open conversation on that channel instance.
	for _, k := range p.convChecks {
		var merged sql.NullString
		if err := x.QueryRowContext(ctx, qContactForConv, k.contact).Scan(&merged); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errFallback
			}
			return err
		}
		if merged.Valid {
			return errFallback
		}
		var one int
		switch err := x.QueryRowContext(ctx, qOpenConversationOf, k.contact, k.channel, k.instance).Scan(&one); {
		case err == nil:
			return errFallback
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
	}
	inserts := func(spec *insertSpec, args []any, want int) error {
		if len(args) == 0 {
			return nil
		}
		n, err := x.insert(ctx, spec, args)
		if err != nil {
			return err
		}
		if want >= 0 && n != int64(want) {
			return errFallback
		}
		return nil
	}
	updates := func(kind int) error {
		for _, u := range p.updates {
			if u.kind != kind {
				continue
			}
			n, err := x.exec(ctx, u.q, u.args...)
			if err != nil {
				return err
			}
			if u.must && n != 1 {
				return errFallback
			}
		}
		return nil
	}
	for _, step := range []func() error{
		func() error { return inserts(insContacts, p.contacts, -1) },
		func() error { return inserts(insAddresses, p.addresses, -1) },
		func() error { return inserts(insConversations, p.conversations, -1) },
		func() error { return inserts(insInbound, p.inbound, p.nInbound) },
		func() error { return inserts(insExecutions, p.executions, p.nExecutions) },
		func() error { return updates(updExecution) },
		func() error { return inserts(insMessages, p.messages, -1) },
		func() error { return inserts(insEffects, p.effects, -1) },
		func() error { return updates(updCompleteEffect) },
		func() error { return updates(updDeleteTimer) },
		func() error { return inserts(insTimers, p.timers, -1) },
		func() error { return inserts(insTasks, p.tasks, p.nTasks) },
		func() error { return updates(updTask) },
		func() error { return updates(updCloseConversation) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
