package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// ---- the agent desktop: notes, canned responses, served contacts ----

const noteCols = `id, task_id, conversation_id, contact_id, worker_id, kind, disposition, text, created_at`

func scanNote(sc Row) (store.TaskNote, error) {
	var n store.TaskNote
	if err := sc.Scan(&n.ID, &n.TaskID, &n.ConversationID, &n.ContactID, &n.WorkerID, &n.Kind, &n.Disposition, &n.Text, at(&n.CreatedAt)); err != nil {
		return n, notFound(err)
	}
	return n, nil
}

func (db *DB) AddTaskNote(ctx context.Context, n store.TaskNote) (store.TaskNote, error) {
	if n.TaskID == "" || (n.Kind != store.NoteInternal && n.Kind != store.NoteWrapUp) {
		return n, fmt.Errorf("%w: a note needs a task and the kind note or wrapup", store.ErrInvalid)
	}
	if n.ID == "" {
		n.ID = store.NewID()
	}
	n.CreatedAt = store.Now(n.CreatedAt)
	n.Text, n.Disposition, n.WorkerID = store.Text(n.Text), store.Text(n.Disposition), store.Text(n.WorkerID)
	err := db.c.Write(ctx, func(x Querier) error {
		// The task's conversation and contact are copied in the insert
		// itself: no task, no row.
		c, err := db.exec(ctx, x, `INSERT INTO task_notes (`+noteCols+`)
			SELECT ?, id, conversation_id, contact_id, ?, ?, ?, ?, ? FROM tasks WHERE id = ?`,
			n.ID, n.WorkerID, string(n.Kind), n.Disposition, n.Text, db.time(n.CreatedAt), n.TaskID)
		if err == nil && c == 0 {
			err = fmt.Errorf("%w: no task %q", store.ErrNotFound, n.TaskID)
		}
		return err
	})
	if err != nil {
		return n, err
	}
	return scanNote(db.row(ctx, db.c.Reads, `SELECT `+noteCols+` FROM task_notes WHERE id = ?`, n.ID))
}

func (db *DB) ListTaskNotes(ctx context.Context, f store.NoteFilter) ([]store.TaskNote, error) {
	var where []string
	var args []any
	if f.TaskID != "" {
		where, args = append(where, "task_id = ?"), append(args, f.TaskID)
	}
	if f.ContactID != "" {
		// Notes keep the contact of their day: a contact merged since
		// brings its notes along.
		where = append(where, "contact_id IN (SELECT id FROM contacts WHERE id = ? OR merged_into = ?)")
		args = append(args, f.ContactID, f.ContactID)
	}
	if len(where) == 0 {
		return nil, fmt.Errorf("%w: notes are listed by task or by contact", store.ErrInvalid)
	}
	rows, err := db.query(ctx, db.c.Scans, `SELECT `+noteCols+` FROM task_notes WHERE `+strings.Join(where, " AND ")+` ORDER BY seq LIMIT 1000`, args...)
	return collect(rows, err, scanNote)
}

const cannedCols = `id, title, text, created_at, updated_at`

func scanCanned(sc Row) (store.CannedResponse, error) {
	var c store.CannedResponse
	if err := sc.Scan(&c.ID, &c.Title, &c.Text, at(&c.CreatedAt), at(&c.UpdatedAt)); err != nil {
		return c, notFound(err)
	}
	return c, nil
}

func (db *DB) PutCannedResponse(ctx context.Context, c store.CannedResponse) (store.CannedResponse, error) {
	c.Title, c.Text = store.Text(strings.TrimSpace(c.Title)), store.Text(c.Text)
	if c.Title == "" || strings.TrimSpace(c.Text) == "" {
		return c, fmt.Errorf("%w: a canned response needs a title and a text", store.ErrInvalid)
	}
	if c.ID == "" {
		c.ID = "cr_" + store.NewID()
	}
	now := db.time(store.Now(c.UpdatedAt))
	err := db.c.Write(ctx, func(x Querier) error {
		n, err := db.exec(ctx, x, `UPDATE canned_responses SET title = ?, text = ?, updated_at = ? WHERE id = ?`, c.Title, c.Text, now, c.ID)
		if err != nil || n > 0 {
			return err
		}
		_, err = db.exec(ctx, x, `INSERT INTO canned_responses (`+cannedCols+`) VALUES (?, ?, ?, ?, ?)`, c.ID, c.Title, c.Text, now, now)
		return err
	})
	if err != nil {
		return c, err
	}
	return db.GetCannedResponse(ctx, c.ID)
}

func (db *DB) GetCannedResponse(ctx context.Context, id string) (store.CannedResponse, error) {
	return scanCanned(db.row(ctx, db.c.Reads, `SELECT `+cannedCols+` FROM canned_responses WHERE id = ?`, id))
}

func (db *DB) ListCannedResponses(ctx context.Context) ([]store.CannedResponse, error) {
	rows, err := db.query(ctx, db.c.Scans, `SELECT `+cannedCols+` FROM canned_responses ORDER BY title, id LIMIT 10000`)
	return collect(rows, err, scanCanned)
}

func (db *DB) DeleteCannedResponse(ctx context.Context, id string) error {
	return db.c.Write(ctx, func(x Querier) error {
		n, err := db.exec(ctx, x, `DELETE FROM canned_responses WHERE id = ?`, id)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return err
	})
}

// servedStatuses are the reservations of a worker that took the task.
const servedStatuses = `('accepted', 'wrapping', 'completed', 'transferred')`

func (db *DB) ServedContact(ctx context.Context, workerID, contactID string) (bool, error) {
	var n int
	err := db.row(ctx, db.c.Scans, `SELECT count(*) FROM reservations r JOIN tasks t ON t.id = r.task_id
		JOIN contacts k ON k.id = t.contact_id
		WHERE r.worker_id = ? AND r.status IN `+servedStatuses+` AND coalesce(k.merged_into, k.id) = (SELECT coalesce(merged_into, id) FROM contacts WHERE id = ?)`, workerID, contactID).Scan(&n)
	return n > 0, err
}

func (db *DB) WorkerTasks(ctx context.Context, workerID string, limit int) ([]store.Task, error) {
	limit = max(1, min(limit, 200))
	rows, err := db.query(ctx, db.c.Scans, `SELECT `+taskReadCols+` FROM tasks
		WHERE id IN (SELECT task_id FROM reservations WHERE worker_id = ? AND status IN `+servedStatuses+`)
		ORDER BY updated_at DESC, seq DESC LIMIT ?`, workerID, limit)
	return collect(rows, err, scanTask)
}
