package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// ---- workers ----

const workerCols = `id, name, attributes, activity, capacity, created_at, updated_at`

func scanWorker(sc interface{ Scan(...any) error }) (store.Worker, error) {
	var w store.Worker
	var attrs, capacity string
	var created, updated int64
	if err := sc.Scan(&w.ID, &w.Name, &attrs, &w.Activity, &capacity, &created, &updated); err != nil {
		return w, notFound(err)
	}
	w.Attributes = json.RawMessage(attrs)
	if err := json.Unmarshal([]byte(capacity), &w.Capacity); err != nil {
		return w, fmt.Errorf("sqlite: worker %s capacity: %w", w.ID, err)
	}
	w.CreatedAt, w.UpdatedAt = fromMicros(created), fromMicros(updated)
	return w, nil
}

func (s *Store) GetWorker(ctx context.Context, id string) (store.Worker, error) {
	return scanWorker(s.rs.QueryRowContext(ctx, `SELECT `+workerCols+` FROM workers WHERE id = ?`, id))
}

func (s *Store) ListWorkers(ctx context.Context) ([]store.Worker, error) {
	return queryAll(ctx, s.rs, scanWorker, `SELECT `+workerCols+` FROM workers ORDER BY seq`)
}

// ---- the leader's inbox ----

const commandCols = `seq, kind, args, status, result, error, created_at`

func scanCommand(sc interface{ Scan(...any) error }) (store.Command, error) {
	var c store.Command
	var args string
	var result sql.NullString
	var created int64
	if err := sc.Scan(&c.Seq, &c.Kind, &args, &c.Status, &result, &c.Error, &created); err != nil {
		return c, notFound(err)
	}
	c.Args = json.RawMessage(args)
	if result.Valid {
		c.Result = json.RawMessage(result.String)
	}
	c.CreatedAt = fromMicros(created)
	return c, nil
}

func (s *Store) SubmitCommand(ctx context.Context, c store.Command) (int64, error) {
	if c.Kind == "" {
		return 0, fmt.Errorf("%w: a command needs a kind", store.ErrInvalid)
	}
	args, err := store.Object(c.Args)
	if err != nil {
		return 0, err
	}
	var seq int64
	err = s.w.tx(ctx, func(x *wtx) error {
		res, err := x.ExecContext(ctx, `INSERT INTO router_commands (kind, args, created_at) VALUES (?, ?, ?)`,
			c.Kind, string(args), micros(store.Now(c.CreatedAt)))
		if err != nil {
			return err
		}
		seq, err = res.LastInsertId()
		return err
	})
	if err == nil {
		hubOf(s.path).Notify(store.TopicRouter, "")
	}
	return seq, err
}

func (s *Store) GetCommand(ctx context.Context, seq int64) (store.Command, error) {
	return scanCommand(s.rs.QueryRowContext(ctx, `SELECT `+commandCols+` FROM router_commands WHERE seq = ?`, seq))
}

// lastWorkerCol is the worker who last completed a task for the task's contact.
const lastWorkerCol = `coalesce((SELECT p.worker_id FROM tasks p WHERE p.contact_id = tasks.contact_id AND p.status = 'completed'
	AND p.worker_id <> '' ORDER BY p.seq DESC LIMIT 1), '')`

// scanNewTask reads taskReadCols then lastWorkerCol.
func scanNewTask(sc interface{ Scan(...any) error }) (store.NewTask, error) {
	var last string
	t, err := scanTask(appendScanner{sc, &last})
	return store.NewTask{Task: t, LastWorker: last}, err
}

// appendScanner scans one more column into extra.
type appendScanner struct {
	sc    interface{ Scan(...any) error }
	extra any
}

func (a appendScanner) Scan(dest ...any) error { return a.sc.Scan(append(dest, a.extra)...) }

func queryAll[T any](ctx context.Context, q querier, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
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

func (s *Store) RoutingInbox(ctx context.Context, limit int) (store.Inbox, error) {
	if limit <= 0 {
		limit = store.DefaultPageLimit
	}
	var in store.Inbox
	var err error
	if in.Commands, err = queryAll(ctx, s.rs, scanCommand,
		`SELECT `+commandCols+` FROM router_commands WHERE status = 'pending' ORDER BY seq LIMIT ?`, limit); err != nil {
		return in, err
	}
	if in.NewTasks, err = queryAll(ctx, s.rs, scanNewTask,
		`SELECT `+taskReadCols+`, `+lastWorkerCol+` FROM tasks WHERE routed = 0 ORDER BY seq LIMIT ?`, limit); err != nil {
		return in, err
	}
	in.Closed, err = queryAll(ctx, s.rs, scanTask,
		`SELECT `+taskReadCols+` FROM tasks WHERE routed = 1 AND status IN ('completed', 'canceled') ORDER BY seq LIMIT ?`, limit)
	return in, err
}

func (s *Store) ApplyRouting(ctx context.Context, rw *store.RoutingWrite) error {
	err := s.w.carry(ctx, func(ctx context.Context, x *wtx) error { return applyRouting(ctx, x, rw) })
	if err == nil && len(rw.Events)+len(rw.Commands) > 0 {
		hubOf(s.path).Notify(store.TopicEvents, store.About(rw.Events, rw.Commands))
	}
	return err
}

// applyRouting writes one RoutingWrite inside the writer's transaction.
func applyRouting(ctx context.Context, x *wtx, rw *store.RoutingWrite) error {
	if f := rw.Fence; f != nil {
		var epoch int64
		err := x.QueryRowContext(ctx, `SELECT epoch FROM leaders WHERE name = ?`, f.Name).Scan(&epoch)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if epoch != f.Epoch {
			return store.ErrFenced
		}
	}
	at := micros(store.Now(rw.At))
	for _, id := range rw.DeleteWorkers {
		if _, err := x.ExecContext(ctx, `DELETE FROM workers WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := x.ExecContext(ctx, `DELETE FROM api_tokens WHERE role = 'worker' AND subject = ?`, id); err != nil {
			return err
		}
	}
	for _, w := range rw.Workers {
		attrs, err := store.Object(w.Attributes)
		if err != nil {
			return err
		}
		capacity, err := json.Marshal(w.Capacity)
		if err != nil {
			return err
		}
		created := at
		if !w.CreatedAt.IsZero() {
			created = micros(store.Micro(w.CreatedAt))
		}
		if _, err := x.ExecContext(ctx, `INSERT INTO workers (`+workerCols+`, incarnation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, attributes = excluded.attributes,
					activity = excluded.activity, capacity = excluded.capacity, updated_at = excluded.updated_at`,
			w.ID, w.Name, string(attrs), w.Activity, string(store.CleanJSON(capacity)), created, at, store.NewID()); err != nil {
			return err
		}
	}
	// A round touches many tasks and reservations under load: one
	// statement each for all of them, as the group commit does for units.
	taskArgs := make([]any, 0, len(rw.Tasks)*updTasks.cols)
	for _, t := range rw.Tasks {
		taskArgs = append(taskArgs, t.ID, string(t.Status), t.Queue, t.WorkerID, t.Routed, at)
	}
	if _, err := x.insert(ctx, updTasks, taskArgs); err != nil {
		return err
	}
	resArgs := make([]any, 0, len(rw.Reservations)*upsReservations.cols)
	for _, r := range rw.Reservations {
		resArgs = append(resArgs, r.ID, r.TaskID, r.WorkerID, string(r.Status), at, at)
	}
	if _, err := x.insert(ctx, upsReservations, resArgs); err != nil {
		return err
	}
	if err := appendEvents(ctx, x, rw.Events, at); err != nil {
		return err
	}
	for _, tm := range rw.Timers {
		if _, err := x.ExecContext(ctx, `INSERT INTO timers (id, execution_id, fire_at, payload, created_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO NOTHING`,
			tm.ID, nullable(tm.ExecutionID), micros(store.Micro(tm.FireAt)), blob(tm.Payload), at); err != nil {
			return err
		}
	}
	for _, e := range rw.Effects {
		if _, err := x.ExecContext(ctx, `INSERT INTO effects (id, execution_id, kind, idempotency_key, payload, status, next_attempt_at, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING`,
			e.ID, nullable(e.ExecutionID), e.Kind, e.Key(), blob(e.Payload), at, at, at); err != nil {
			return err
		}
	}
	for _, c := range rw.Commands {
		var result any
		if c.Result != nil {
			result = string(store.CleanJSON(c.Result))
		}
		if _, err := x.ExecContext(ctx, `UPDATE router_commands SET status = ?, result = ?, error = ? WHERE seq = ?`,
			c.Status, result, c.Error, c.Seq); err != nil {
			return err
		}
	}
	return nil
}

// carriedWrite is a write waiting for a transaction to carry it.
type carriedWrite struct {
	apply func(context.Context, *wtx) error
	done  chan struct{} // closed once a transaction holding it committed
	err   error         // apply's error, set before done is closed
}

// carryWait is how long a carried write waits for the group commit's
// transaction under way to take it before it runs a transaction of its own.
const carryWait = 5 * time.Millisecond

// carry commits fn's writes in the next write transaction: when the writer
// is busy (the group commit's batches follow one another under load), the
// transaction under way or the next one carries them, sharing its fsync;
// when it is idle, or nothing took them in a moment, carry runs one itself.
func (w *writer) carry(ctx context.Context, fn func(context.Context, *wtx) error) error {
	c := &carriedWrite{apply: fn, done: make(chan struct{})}
	w.carriedMu.Lock()
	w.carried = append(w.carried, c)
	w.carriedMu.Unlock()
	if !w.mu.TryLock() { // busy: let the next transaction take it
		select {
		case <-c.done:
			return c.err
		case <-time.After(carryWait):
		case <-ctx.Done():
		}
	} else {
		w.mu.Unlock()
	}
	for {
		select {
		case <-c.done:
			return c.err
		default:
		}
		if err := w.tx(ctx, func(*wtx) error { return nil }); err != nil {
			w.drop(c)
			return err
		}
	}
}

// drop removes a carried write that could not be committed, so that later
// transactions do not try it again.
func (w *writer) drop(c *carriedWrite) {
	w.carriedMu.Lock()
	defer w.carriedMu.Unlock()
	for i, o := range w.carried {
		if o == c {
			w.carried = append(w.carried[:i:i], w.carried[i+1:]...)
			return
		}
	}
}

// The leader's multi-row statements (see insert in bulk.go). Rows apply in
// order, so the events' seqs follow the slice and a reservation written
// twice in a round keeps its last status.
var (
	insEvents = &insertSpec{head: `INSERT INTO router_events (type, at, task_id, reservation_id, worker_id, queue, data) VALUES `,
		row: `(?, ?, ?, ?, ?, ?, ?)`, cols: 7}
	upsReservations = &insertSpec{head: `INSERT INTO reservations (id, task_id, worker_id, status, created_at, updated_at) VALUES `,
		row: `(?, ?, ?, ?, ?, ?)`, tail: ` ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`, cols: 6}
	// A task completed or canceled keeps that status: a flow's cancel wins
	// over the router's view.
	updTasks = &insertSpec{head: `UPDATE tasks SET
			status = CASE WHEN tasks.status IN ('completed', 'canceled') THEN tasks.status ELSE v.column2 END,
			queue = v.column3, worker_id = v.column4, routed = v.column5, updated_at = v.column6
		FROM (VALUES `, row: `(?, ?, ?, ?, ?, ?)`, tail: `) AS v WHERE tasks.id = v.column1`, cols: 6}
)

func appendEvents(ctx context.Context, x *wtx, events []store.RouterEvent, at int64) error {
	args := make([]any, 0, len(events)*insEvents.cols)
	for _, e := range events {
		t := at
		if !e.Time.IsZero() {
			t = micros(store.Micro(e.Time))
		}
		var data any
		if e.Data != nil {
			data = string(store.CleanJSON(e.Data))
		}
		args = append(args, e.Type, t, e.TaskID, e.ReservationID, e.WorkerID, e.Queue, data)
	}
	_, err := x.insert(ctx, insEvents, args)
	return err
}

func (s *Store) AppendRouterEvents(ctx context.Context, events []store.RouterEvent) error {
	err := s.w.tx(ctx, func(x *wtx) error { return appendEvents(ctx, x, events, micros(store.Now(time.Time{}))) })
	if err == nil {
		hubOf(s.path).Notify(store.TopicEvents, store.About(events, nil))
	}
	return err
}

func (s *Store) LastWorker(ctx context.Context, contactID string) (string, error) {
	var w string
	err := s.rs.QueryRowContext(ctx, `SELECT worker_id FROM tasks WHERE contact_id = ? AND status = 'completed' AND worker_id <> ''
		ORDER BY seq DESC LIMIT 1`, contactID).Scan(&w)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return w, err
}

// ---- reservations and events ----

const reservationCols = `id, task_id, worker_id, status, created_at, updated_at`

func scanReservation(sc interface{ Scan(...any) error }) (store.Reservation, error) {
	var r store.Reservation
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.TaskID, &r.WorkerID, &r.Status, &created, &updated); err != nil {
		return r, notFound(err)
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, nil
}

func (s *Store) GetReservation(ctx context.Context, id string) (store.Reservation, error) {
	return scanReservation(s.rs.QueryRowContext(ctx, `SELECT `+reservationCols+` FROM reservations WHERE id = ?`, id))
}

// equal returns the conditions column = value for the pairs (column,
// value) whose value is not empty, and their arguments.
func equal(pairs ...string) (where []string, args []any) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			where, args = append(where, pairs[i]+" = ?"), append(args, pairs[i+1])
		}
	}
	return where, args
}

func (s *Store) ListReservations(ctx context.Context, f store.ReservationFilter) ([]store.Reservation, error) {
	where, args := equal("worker_id", f.WorkerID, "task_id", f.TaskID, "status", string(f.Status))
	q := `SELECT ` + reservationCols + ` FROM reservations`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return queryAll(ctx, s.rs, scanReservation, q+` ORDER BY seq LIMIT 10000`, args...)
}

const routerEventCols = `seq, type, at, task_id, reservation_id, worker_id, queue, data`

func scanRouterEvent(sc interface{ Scan(...any) error }) (store.RouterEvent, error) {
	var e store.RouterEvent
	var at int64
	var data sql.NullString
	if err := sc.Scan(&e.Seq, &e.Type, &at, &e.TaskID, &e.ReservationID, &e.WorkerID, &e.Queue, &data); err != nil {
		return e, notFound(err)
	}
	e.Time = fromMicros(at)
	if data.Valid {
		e.Data = json.RawMessage(data.String)
	}
	return e, nil
}

func (s *Store) ListRouterEvents(ctx context.Context, f store.RouterEventFilter, page store.Page) ([]store.RouterEvent, string, error) {
	where, args := equal("worker_id", f.WorkerID, "task_id", f.TaskID)
	// list selects cols then seq; the event's own seq is the first column.
	return list(ctx, s.r, "router_events", routerEventCols, where, args, page,
		func(sc interface{ Scan(...any) error }) (store.RouterEvent, error) {
			return scanRouterEvent(sc)
		})
}

// ---- leadership and wake-ups ----

// TryLead takes an exclusive lock on a file beside the database: one
// process at a time leads, and the kernel releases the lock when the
// process dies.
func (s *Store) TryLead(ctx context.Context, name string) (store.Lease, bool, error) {
	f, err := os.OpenFile(s.path+"."+name+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: leader lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("sqlite: leader lock: %w", err)
	}
	var epoch int64
	err = s.w.tx(ctx, func(x *wtx) error {
		return x.QueryRowContext(ctx, `INSERT INTO leaders (name, epoch) VALUES (?, 1)
			ON CONFLICT (name) DO UPDATE SET epoch = epoch + 1 RETURNING epoch`, name).Scan(&epoch)
	})
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("sqlite: leader epoch: %w", err)
	}
	return &fileLease{f: f, lost: make(chan struct{}), fence: store.Fence{Name: name, Epoch: epoch}}, true, nil
}

type fileLease struct {
	f     *os.File
	once  sync.Once
	lost  chan struct{}
	fence store.Fence
}

func (l *fileLease) Fence() store.Fence { return l.fence }

func (l *fileLease) Lost() <-chan struct{} { return l.lost }
func (l *fileLease) Release() {
	l.once.Do(func() {
		l.f.Close() // closing the descriptor drops the lock
		close(l.lost)
	})
}

// Notify wakes the subscribers of this database file in this process: the
// file has one writer process, so there is no one else to tell.
func (s *Store) Notify(_ context.Context, topic string) error {
	hubOf(s.path).Notify(topic, "")
	return nil
}

func (s *Store) Subscribe(topic, party string) (<-chan struct{}, func()) {
	return hubOf(s.path).Subscribe(topic, party)
}

var _ store.Leaser = (*Store)(nil)
var _ store.Notifier = (*Store)(nil)

var (
	hubsMu sync.Mutex
	hubs   = map[string]*store.Fanout{}
)

// hubOf returns the wake-up fanout of a database file, shared by every
// Store the process opened on it.
func hubOf(path string) *store.Fanout {
	hubsMu.Lock()
	defer hubsMu.Unlock()
	h := hubs[path]
	if h == nil {
		h = &store.Fanout{}
		hubs[path] = h
	}
	return h
}
