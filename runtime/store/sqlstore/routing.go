package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// ---- workers ----

// WorkerCols are a worker's columns.
const WorkerCols = `id, name, attributes, activity, capacity, created_at, updated_at`

func (db *DB) scanWorker(sc Row) (store.Worker, error) {
	var w store.Worker
	var attrs, capacity string
	if err := sc.Scan(&w.ID, &w.Name, &attrs, &w.Activity, &capacity, at(&w.CreatedAt), at(&w.UpdatedAt)); err != nil {
		return w, notFound(err)
	}
	w.Attributes = json.RawMessage(attrs)
	if err := json.Unmarshal([]byte(capacity), &w.Capacity); err != nil {
		return w, fmt.Errorf("%s: worker %s capacity: %w", db.d.Name, w.ID, err)
	}
	return w, nil
}

func (db *DB) GetWorker(ctx context.Context, id string) (store.Worker, error) {
	return db.scanWorker(db.row(ctx, db.c.Reads, `SELECT `+WorkerCols+` FROM workers WHERE id = ?`, id))
}

func (db *DB) ListWorkers(ctx context.Context) ([]store.Worker, error) {
	rows, err := db.query(ctx, db.c.Reads, `SELECT `+WorkerCols+` FROM workers ORDER BY seq`)
	return collect(rows, err, db.scanWorker)
}

// ---- the leader's inbox ----

const commandCols = `seq, kind, args, status, result, error, created_at`

func scanCommand(sc Row) (store.Command, error) {
	var c store.Command
	var args string
	var result sql.NullString
	if err := sc.Scan(&c.Seq, &c.Kind, &args, &c.Status, &result, &c.Error, at(&c.CreatedAt)); err != nil {
		return c, notFound(err)
	}
	c.Args = json.RawMessage(args)
	if result.Valid {
		c.Result = json.RawMessage(result.String)
	}
	return c, nil
}

func (db *DB) SubmitCommand(ctx context.Context, c store.Command) (int64, error) {
	if c.Kind == "" {
		return 0, fmt.Errorf("%w: a command needs a kind", store.ErrInvalid)
	}
	args, err := store.Object(c.Args)
	if err != nil {
		return 0, err
	}
	var seq int64
	err = db.txNotify(ctx, store.TopicRouter, "", func(x Querier) error {
		return db.row(ctx, x, `INSERT INTO router_commands (kind, args, created_at) VALUES (?, ?, ?) RETURNING seq`,
			c.Kind, string(args), db.time(store.Now(c.CreatedAt))).Scan(&seq)
	})
	return seq, err
}

func (db *DB) GetCommand(ctx context.Context, seq int64) (store.Command, error) {
	return scanCommand(db.row(ctx, db.c.Reads, `SELECT `+commandCols+` FROM router_commands WHERE seq = ?`, seq))
}

// lastWorkerCol is the worker who last completed a task for the task's contact.
const lastWorkerCol = `coalesce((SELECT p.worker_id FROM tasks p WHERE p.contact_id = tasks.contact_id AND p.status = 'completed'
	AND p.worker_id <> '' ORDER BY p.seq DESC LIMIT 1), '')`

// scanNewTask reads taskReadCols then lastWorkerCol.
func scanNewTask(sc Row) (store.NewTask, error) {
	var last string
	t, err := scanTask(appendScanner{sc, &last})
	return store.NewTask{Task: t, LastWorker: last}, err
}

func (db *DB) RoutingInbox(ctx context.Context, limit int) (store.Inbox, error) {
	if limit <= 0 {
		limit = store.DefaultPageLimit
	}
	var in store.Inbox
	var err error
	rows, err := db.query(ctx, db.c.Reads, `SELECT `+commandCols+` FROM router_commands WHERE status = 'pending' ORDER BY seq LIMIT ?`, limit)
	if in.Commands, err = collect(rows, err, scanCommand); err != nil {
		return in, err
	}
	rows, err = db.query(ctx, db.c.Reads, `SELECT `+taskReadCols+`, `+lastWorkerCol+` FROM tasks WHERE routed = 0 ORDER BY seq LIMIT ?`, limit)
	if in.NewTasks, err = collect(rows, err, scanNewTask); err != nil {
		return in, err
	}
	// The partial index names them all; without stats SQLite would take
	// tasks_status instead and read every task ever completed, each round.
	rows, err = db.query(ctx, db.c.Reads, `SELECT `+taskReadCols+` FROM `+db.d.IndexedBy("tasks", "tasks_closed_outside")+`
		WHERE routed = 1 AND status IN ('completed', 'canceled') ORDER BY seq LIMIT ?`, limit)
	in.Closed, err = collect(rows, err, scanTask)
	return in, err
}

func (db *DB) LastWorker(ctx context.Context, contactID string) (string, error) {
	var w string
	err := db.row(ctx, db.c.Reads, `SELECT worker_id FROM tasks WHERE contact_id = ? AND status = 'completed' AND worker_id <> ''
		ORDER BY seq DESC LIMIT 1`, contactID).Scan(&w)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return w, err
}

// ---- reservations and events ----

const reservationCols = `id, task_id, worker_id, status, created_at, updated_at`

func scanReservation(sc Row) (store.Reservation, error) {
	var r store.Reservation
	if err := sc.Scan(&r.ID, &r.TaskID, &r.WorkerID, &r.Status, at(&r.CreatedAt), at(&r.UpdatedAt)); err != nil {
		return r, notFound(err)
	}
	return r, nil
}

func (db *DB) GetReservation(ctx context.Context, id string) (store.Reservation, error) {
	return scanReservation(db.row(ctx, db.c.Reads, `SELECT `+reservationCols+` FROM reservations WHERE id = ?`, id))
}

func (db *DB) ListReservations(ctx context.Context, f store.ReservationFilter) ([]store.Reservation, error) {
	where, args := equal("worker_id", f.WorkerID, "task_id", f.TaskID, "status", string(f.Status))
	q := `SELECT ` + reservationCols + ` FROM reservations`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := db.query(ctx, db.c.Reads, q+` ORDER BY seq LIMIT 10000`, args...)
	return collect(rows, err, scanReservation)
}

const routerEventCols = `seq, type, at, task_id, reservation_id, worker_id, queue, data`

func scanRouterEvent(sc Row) (store.RouterEvent, error) {
	var e store.RouterEvent
	var data sql.NullString
	if err := sc.Scan(&e.Seq, &e.Type, at(&e.Time), &e.TaskID, &e.ReservationID, &e.WorkerID, &e.Queue, &data); err != nil {
		return e, notFound(err)
	}
	if data.Valid {
		e.Data = json.RawMessage(data.String)
	}
	return e, nil
}

func (db *DB) ListRouterEvents(ctx context.Context, f store.RouterEventFilter, page store.Page) ([]store.RouterEvent, string, error) {
	where, args := equal("worker_id", f.WorkerID, "task_id", f.TaskID)
	// list selects cols then seq; the event's own seq is the first column.
	return list(ctx, db, "router_events", routerEventCols, where, args, page, scanRouterEvent)
}
