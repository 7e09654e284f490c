package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

func (s *Store) ApplyRouting(ctx context.Context, rw *store.RoutingWrite) error {
	err := s.w.carry(ctx, func(ctx context.Context, x *wtx) error { return s.applyRouting(ctx, x, rw) })
	if err == nil && len(rw.Events)+len(rw.Commands) > 0 {
		hubOf(s.path).Notify(store.TopicEvents, store.About(rw.Events, rw.Commands))
	}
	return err
}

// applyRouting writes one RoutingWrite inside the writer's transaction.
func (s *Store) applyRouting(ctx context.Context, x *wtx, rw *store.RoutingWrite) error {
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
	now := store.Now(rw.At)
	head, tail, err := s.RoutingStmts(rw, now)
	if err != nil {
		return err
	}
	if err := execAll(ctx, x, head); err != nil {
		return err
	}
	at := micros(now)
	// A round touches many tasks and reservations under load: one
	// statement each for all of them, as the group commit does for units.
	taskArgs := make([]any, 0, len(rw.Tasks)*updTasks.cols)
	for _, t := range rw.Tasks {
		attrs, err := taskAttributes(t)
		if err != nil {
			return err
		}
		taskArgs = append(taskArgs, t.ID, string(t.Status), t.Queue, t.WorkerID, t.Routed, at, attrs)
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
	if err := appendEvents(ctx, x, rw.Events, now); err != nil {
		return err
	}
	if err := execAll(ctx, x, tail); err != nil {
		return err
	}
	if rw.Answer != nil {
		rw.Answer()
	}
	return execAll(ctx, x, s.CommandStmts(rw.Commands))
}

func execAll(ctx context.Context, x *wtx, stmts []sqlstore.Stmt) error {
	for _, st := range stmts {
		if _, err := x.ExecContext(ctx, st.SQL, st.Args...); err != nil {
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
			queue = v.column3, worker_id = v.column4, routed = v.column5, updated_at = v.column6,
			attributes = COALESCE(v.column7, tasks.attributes)
		FROM (VALUES `, row: `(?, ?, ?, ?, ?, ?, ?)`, tail: `) AS v WHERE tasks.id = v.column1`, cols: 7}
)

// taskAttributes is a TaskRouting's new attributes as a column value: nil
// keeps the task's.
func taskAttributes(t store.TaskRouting) (any, error) {
	if t.Attributes == nil {
		return nil, nil
	}
	attrs, err := store.Object(t.Attributes)
	if err != nil {
		return nil, err
	}
	return string(attrs), nil
}

func appendEvents(ctx context.Context, x *wtx, events []store.RouterEvent, at time.Time) error {
	args := make([]any, 0, len(events)*insEvents.cols)
	for _, e := range events {
		args = append(args, e.Type, micros(sqlstore.EventTime(e, at)), e.TaskID, e.ReservationID, e.WorkerID, e.Queue, sqlstore.EventData(e))
	}
	if _, err := x.insert(ctx, insEvents, args); err != nil || len(events) == 0 {
		return err
	}
	// One writer appends, in slice order: the rows took the seqs up to the
	// last one inserted, one after another.
	var last int64
	if err := x.QueryRowContext(ctx, `SELECT last_insert_rowid()`).Scan(&last); err != nil {
		return err
	}
	for i := range events {
		events[i].Seq = last - int64(len(events)-1-i)
	}
	return nil
}

func (s *Store) AppendRouterEvents(ctx context.Context, events []store.RouterEvent) error {
	err := s.w.tx(ctx, func(x *wtx) error { return appendEvents(ctx, x, events, store.Now(time.Time{})) })
	if err == nil {
		hubOf(s.path).Notify(store.TopicEvents, store.About(events, nil))
	}
	return err
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
