package postgres

import (
	"slices"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

// The table-by-table writes of the fast path. The server spends most of a
// batch's time starting and finishing statements, not inserting rows: a new
// contact's first message is eight statements of a few rows' work each. So
// when sqlstore.Tabular says the order allows it, the rows of every unit the
// plan commits go in one statement per table: a COPY for the rows inserted
// as they are (contacts, addresses, the new contacts' conversations, inbound
// and other messages, new executions, tasks; see copy.go), else their
// columns passed as arrays and turned back into rows by unnest. Each
// statement's row count is checked where the plan knows it (every new
// contact, address, conversation, inbound message, execution and version
// bump must be written); a count that differs sends the batch to the slow
// path, as a surprising row count of a single statement does. The rows the
// plan has read are not there (an address, a dedupe key, an execution id)
// are inserted without ON CONFLICT, whose speculative insertion costs a
// third more per row: should one be there after all (a concurrent node's),
// its unique violation sends the batch to the slow path too. Tables that a
// message rarely writes (completed effects, deleted timers, task updates,
// closed conversations) keep one statement per row, in the same pipeline
// and in table order.

// section is a table's place in the order store.Unit documents.
type section uint8

const (
	secContacts section = iota
	secAddresses
	secConvLocks
	secConversations
	secInbound
	secExecutions
	secMessages
	secEffects
	secCompleteEffects
	secDeleteTimers
	secTimers
	secTasks
	secTaskUpdates
	secCloseConversations
	sections
)

const (
	// The keys come sorted, so that nodes locking overlapping sets take
	// them in one order; count() makes the locks one row.
	bulkConvLocks = `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($1::text[]) AS k`
	// As unitOps' insert: the contact must exist, not be merged and have no
	// open conversation on the channel instance, checked under the locks.
	bulkConversations = `INSERT INTO conversations (` + sqlstore.ConversationCols + `)
		SELECT k.id, c.id, k.channel, k.instance, 'open', '{}', k.at, k.at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS k (id, contact, channel, instance, at)
		JOIN contacts c ON c.id = k.contact AND c.merged_into IS NULL
		WHERE NOT EXISTS (SELECT 1 FROM conversations o
			WHERE o.contact_id = k.contact AND o.channel = k.channel AND o.instance = k.instance AND o.status = 'open')
		FOR SHARE OF c`
	bulkExecUpdates = `UPDATE executions e SET flow = k.flow, program_version = k.pv, status = k.status, payload = k.payload,
			version = e.version + 1, updated_at = k.at, step = k.step
		FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::timestamptz[], $8::text[])
			AS k (id, expected, flow, pv, status, payload, at, step)
		WHERE e.id = k.id AND e.version = k.expected`
	bulkEffects = `INSERT INTO effects (id, execution_id, kind, idempotency_key, payload, status, next_attempt_at, created_at, updated_at)
		SELECT k.id, nullif(k.exec, ''), k.kind, k.key, k.payload, 'pending', k.due, k.at, k.at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[], $7::timestamptz[])
			AS k (id, exec, kind, key, payload, due, at)
		ON CONFLICT DO NOTHING`
	bulkTimers = `INSERT INTO timers (id, execution_id, fire_at, payload, created_at)
		SELECT k.id, nullif(k.exec, ''), k.fire_at, k.payload, k.at
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bytea[], $5::timestamptz[]) AS k (id, exec, fire_at, payload, at)
		ON CONFLICT (id) DO UPDATE SET execution_id = excluded.execution_id, fire_at = excluded.fire_at,
			payload = excluded.payload, lease_owner = '', lease_until = NULL`
)

const messageCols = `id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at`

// columns are one bulk statement's arguments: a slice per column.
type columns struct {
	n    int // rows
	cols []any
}

func newColumns(kinds string) *columns { // one letter a column: s text, b bytea, t time, i bigint
	c := &columns{cols: make([]any, len(kinds))}
	for i, k := range kinds {
		switch k {
		case 's':
			c.cols[i] = []string(nil)
		case 'b':
			c.cols[i] = [][]byte(nil)
		case 't':
			c.cols[i] = []time.Time(nil)
		case 'i':
			c.cols[i] = []int64(nil)
		}
	}
	return c
}

// tableOps lays out the writes of the units the plan commits (commits[i])
// table by table; ops are their statements row by row, of which it keeps
// those of the tables written one row a statement. False: a value COPY
// cannot carry (the row by row statements will report it).
func tableOps(units []*store.Unit, commits []bool, ops [][]op, now time.Time) ([]op, bool) {
	r := newTableRows()
	for i, u := range units {
		if !commits[i] {
			continue
		}
		at := now
		if !u.At.IsZero() {
			at = store.Micro(u.At)
		}
		r.add(u, ops[i], at)
	}
	return r.ops()
}

// tableRows are a batch's rows gathered by table, in COPY's format for the
// plain inserts and as column arrays for the statements that join or check.
type tableRows struct {
	contacts, addresses *copyRows
	convs               *columns        // of contacts stored before
	newConvs            *copyRows       // of contacts the batch creates
	created             map[string]bool // contacts and conversations the batch creates
	refs                []string
	inbound, execNew    *copyRows
	execUpd             *columns
	messages            *copyRows
	effects, timers     *columns
	locks               []string
	tasks               *copyRows
	taskRefs            taskRefs
	perRow              [sections][]op
}

func newTableRows() *tableRows {
	return &tableRows{
		contacts:  newCopy("contacts", "id, name, created_at"),
		addresses: newCopy("contact_addresses", "channel, address, contact_id, created_at"),
		convs:     newColumns("sssst"),
		newConvs:  newCopy("conversations", sqlstore.ConversationCols),
		created:   map[string]bool{},
		inbound:   newCopy("messages", messageCols),
		execNew:   newCopy("executions", sqlstore.ExecutionCols),
		execUpd:   newColumns("sisssbts"),
		messages:  newCopy("messages", messageCols),
		effects:   newColumns("ssssbtt"),
		timers:    newColumns("sstbt"),
		tasks:     newCopy("tasks", sqlstore.TaskCols),
	}
}

// add gathers one unit's rows; ops are its row by row statements.
func (r *tableRows) add(u *store.Unit, ops []op, at time.Time) {
	if c := u.Contact; c != nil {
		r.created[c.ID] = true
		r.contacts.row(c.ID, c.Name, at)
		r.addresses.row(c.Channel, c.Address, c.ID, at)
	}
	if c := u.Conversation; c != nil {
		if r.created[c.ContactID] {
			// Nobody else sees the contact before the batch commits.
			r.newConvs.row(c.ID, c.ContactID, c.Channel, c.Instance, "open", jsonb("{}"), at, at)
		} else {
			r.locks = append(r.locks, conversationLockKey(c.ContactID, c.Channel, c.Instance))
			r.convs.row(c.ID, c.ContactID, c.Channel, c.Instance, at)
		}
		r.created[c.ID] = true
	}
	r.refs = append(r.refs, conversationRefs(u, r.created)...)
	if m := u.Inbound; m != nil {
		r.inbound.row(m.ID, m.ConversationID, string(store.Inbound), m.Connector, m.Instance, nullText(m.PlatformMessageID), m.Text,
			[]byte(m.Payload), createdAt(m.CreatedAt, at))
	}
	if w := u.Execution; w != nil {
		e := w.Execution
		if w.Expected == 0 {
			r.execNew.row(e.ID, e.ConversationID, e.Flow, e.ProgramVersion, string(e.Status), []byte(e.Payload), int64(1), at, at, e.Step)
		} else {
			r.execUpd.row(e.ID, w.Expected, e.Flow, e.ProgramVersion, string(e.Status), []byte(e.Payload), at, e.Step)
		}
	}
	for _, m := range u.Messages {
		r.messages.row(m.ID, m.ConversationID, string(m.Direction), m.Connector, m.Instance, nullText(m.PlatformMessageID), m.Text,
			[]byte(m.Payload), createdAt(m.CreatedAt, at))
	}
	for _, e := range u.Effects {
		due := at
		if !e.NextAttemptAt.IsZero() {
			due = store.Micro(e.NextAttemptAt)
		}
		r.effects.row(e.ID, e.ExecutionID, e.Kind, e.Key(), []byte(e.Payload), due, at)
	}
	for _, t := range u.Timers {
		r.timers.row(t.ID, t.ExecutionID, store.Micro(t.FireAt), []byte(t.Payload), at)
	}
	r.taskRefs.add(u.Tasks)
	for _, t := range u.Tasks {
		args, _ := sqlstore.TaskArgs(t, at) // unitOps has checked them
		args[5] = jsonb(args[5].(string))
		r.tasks.row(args...)
	}
	for _, o := range ops {
		if o.sec >= secCompleteEffects && o.sec != secTimers && o.sec != secTasks {
			r.perRow[o.sec] = append(r.perRow[o.sec], o)
		}
	}
}

// ops are the batch's statements, in the table order store.Unit documents.
func (r *tableRows) ops() ([]op, bool) {
	if r.tasks.bad {
		return nil, false
	}
	slices.Sort(r.locks)
	var out []op
	bulk := func(c *columns, sql string, want int) {
		if c.n > 0 {
			out = append(out, op{kind: opBulk, sql: sql, args: c.cols, want: want})
		}
	}
	copyIn := func(c *copyRows) {
		if c.n > 0 {
			out = append(out, op{kind: opBulk, sql: c.sql, copy: c.data(), want: c.n})
		}
	}
	copyIn(r.contacts)
	copyIn(r.addresses)
	if len(r.locks) > 0 {
		out = append(out, op{kind: opBulk, sql: bulkConvLocks, args: []any{r.locks}, want: 1})
	}
	copyIn(r.newConvs)
	bulk(r.convs, bulkConversations, r.convs.n)
	if len(r.refs) > 0 {
		out = append(out, op{kind: opBulk, sql: qMissingConversations, args: []any{r.refs}, want: 0})
	}
	copyIn(r.inbound)
	copyIn(r.execNew)
	bulk(r.execUpd, bulkExecUpdates, r.execUpd.n)
	copyIn(r.messages)
	bulk(r.effects, bulkEffects, -1)
	out = append(out, r.perRow[secCompleteEffects]...)
	out = append(out, r.perRow[secDeleteTimers]...)
	bulk(r.timers, bulkTimers, -1)
	if r.tasks.n > 0 {
		out = append(out, op{kind: opBulk, sql: qMissingTaskRefs, args: r.taskRefs.args(), want: 0})
	}
	copyIn(r.tasks)
	for s := secTaskUpdates; s < sections; s++ {
		out = append(out, r.perRow[s]...)
	}
	return out, true
}

// row appends one row; values come in the column order newColumns was given.
func (c *columns) row(values ...any) {
	for i, v := range values {
		switch v := v.(type) {
		case string:
			c.cols[i] = append(c.cols[i].([]string), v)
		case []byte:
			c.cols[i] = append(c.cols[i].([][]byte), v)
		case time.Time:
			c.cols[i] = append(c.cols[i].([]time.Time), v)
		case int64:
			c.cols[i] = append(c.cols[i].([]int64), v)
		}
	}
	c.n++
}
