package sqlstore

import (
	"encoding/json"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Stmt is one statement, in the dialect's placeholders, and its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// RoutingStmts returns the statements of a leader's round that both stores
// run one by one, in order: head before the tasks, reservations and events
// (which each store writes its own way: SQLite in multi-row statements,
// PostgreSQL in its pipeline), tail after them. The caller checks the fence.
func (db *DB) RoutingStmts(rw *store.RoutingWrite, at time.Time) (head, tail []Stmt, err error) {
	now := db.time(at)
	for _, id := range rw.DeleteWorkers {
		// The worker first: a token being created for it (CreateToken
		// locks the row) is then either refused or seen by the next
		// statement, which runs on a newer snapshot.
		head = append(head, db.stmt(`DELETE FROM workers WHERE id = ?`, id),
			db.stmt(`DELETE FROM api_tokens WHERE role = 'worker' AND subject = ?`, id))
	}
	for _, w := range rw.Workers {
		attrs, err := store.Object(w.Attributes)
		if err != nil {
			return nil, nil, err
		}
		capacity, err := json.Marshal(w.Capacity)
		if err != nil {
			return nil, nil, err
		}
		created := now
		if !w.CreatedAt.IsZero() {
			created = db.time(store.Micro(w.CreatedAt))
		}
		// A new incarnation only for a new worker: its tokens stay bound.
		head = append(head, db.stmt(`INSERT INTO workers (`+WorkerCols+`, incarnation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, attributes = excluded.attributes,
				activity = excluded.activity, capacity = excluded.capacity, updated_at = excluded.updated_at`,
			w.ID, w.Name, string(attrs), w.Activity, string(store.CleanJSON(capacity)), created, now, store.NewID()))
	}
	for _, tm := range rw.Timers {
		tail = append(tail, db.stmt(`INSERT INTO timers (id, execution_id, fire_at, payload, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, tm.ID, Nullable(tm.ExecutionID), db.time(store.Micro(tm.FireAt)), Payload(tm.Payload), now))
	}
	for _, e := range rw.Effects {
		tail = append(tail, db.stmt(`INSERT INTO effects (id, execution_id, kind, idempotency_key, payload, status, next_attempt_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING`,
			e.ID, Nullable(e.ExecutionID), e.Kind, e.Key(), Payload(e.Payload), now, now, now))
	}
	return head, tail, nil
}

// CommandStmts write the applied commands of a RoutingWrite: last, after
// its events are written and its Answer has put their seqs in the results.
func (db *DB) CommandStmts(cmds []store.Command) []Stmt {
	out := make([]Stmt, 0, len(cmds))
	for _, c := range cmds {
		var result any
		if c.Result != nil {
			result = string(store.CleanJSON(c.Result))
		}
		out = append(out, db.stmt(`UPDATE router_commands SET status = ?, result = ?, error = ? WHERE seq = ?`,
			string(c.Status), result, c.Error, c.Seq))
	}
	return out
}

func (db *DB) stmt(query string, args ...any) Stmt { return Stmt{db.sql(query), args} }

// EventTime is when a router event happened: its own time, else the round's.
func EventTime(e store.RouterEvent, at time.Time) time.Time {
	if e.Time.IsZero() {
		return at
	}
	return store.Micro(e.Time)
}

// EventData is an event's data as the data column stores it.
func EventData(e store.RouterEvent) any {
	if e.Data == nil {
		return nil
	}
	return string(store.CleanJSON(e.Data))
}

// TaskArgs are the values of a new task's row, in TaskCols order: the one
// place that lays a task out, for every way of committing one.
func TaskArgs(tk store.Task, at any) ([]any, error) {
	attrs, err := store.Object(tk.Attributes)
	if err != nil {
		return nil, err
	}
	status := tk.Status
	if status == "" {
		status = store.TaskWaiting
	}
	quiet := 0
	if tk.Quiet {
		quiet = 1
	}
	return []any{tk.ID, tk.ConversationID, tk.ContactID, Nullable(tk.ExecutionID), tk.Workflow, string(attrs), tk.Priority,
		string(status), tk.Channel, at, at, quiet}, nil
}

// OptionalObject is a JSON object argument that may be absent: nil (SQL
// NULL, which the statement's coalesce keeps the column for) when raw is.
func OptionalObject(raw json.RawMessage) (any, error) {
	if raw == nil {
		return nil, nil
	}
	a, err := store.Object(raw)
	if err != nil {
		return nil, err
	}
	return string(a), nil
}
