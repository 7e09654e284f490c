package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
)

func (s *Store) ApplyRouting(ctx context.Context, rw *store.RoutingWrite) error {
	at := store.Now(rw.At)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if f := rw.Fence; f != nil {
			// FOR SHARE: a takeover's epoch raise waits for this write to
			// commit, and the new leader, which rebuilds after it, sees it.
			var epoch int64
			err := tx.QueryRow(ctx, `SELECT epoch FROM leaders WHERE name = $1 FOR SHARE`, f.Name).Scan(&epoch)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if epoch != f.Epoch {
				return store.ErrFenced
			}
		}
		head, tail, err := s.RoutingStmts(rw, at)
		if err != nil {
			return err
		}
		var b pgx.Batch
		queueAll(&b, head)
		for _, t := range rw.Tasks {
			var attrs any // nil keeps the task's
			if t.Attributes != nil {
				a, err := store.Object(t.Attributes)
				if err != nil {
					return err
				}
				attrs = string(a)
			}
			b.Queue(`UPDATE tasks SET
					status = CASE WHEN status IN ('completed', 'canceled') THEN status ELSE $1 END,
					queue = $2, worker_id = $3, routed = $4, updated_at = $5,
					attributes = COALESCE($7::jsonb, attributes) WHERE id = $6`,
				string(t.Status), t.Queue, t.WorkerID, t.Routed, at, t.ID, attrs)
		}
		for _, r := range rw.Reservations {
			b.Queue(`INSERT INTO reservations (id, task_id, worker_id, status, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
				r.ID, r.TaskID, r.WorkerID, string(r.Status), at)
		}
		queueEvents(&b, rw.Events, at)
		queueAll(&b, tail)
		// The events' seqs come back in order, after the head, task and
		// reservation statements.
		first := b.Len() - len(tail) - len(rw.Events)
		finish := func(b *pgx.Batch) {
			queueAll(b, s.CommandStmts(rw.Commands))
			if len(rw.Events)+len(rw.Commands) > 0 {
				// Delivered at commit, to the streams of the workers it names.
				b.Queue(`SELECT pg_notify($1, $2)`, store.TopicEvents, store.About(rw.Events, rw.Commands))
			}
		}
		if rw.Answer == nil {
			finish(&b) // no answer waits for the seqs: one round trip
		}
		if b.Len() > 0 {
			br := tx.SendBatch(ctx, &b)
			for i := range b.Len() {
				var err error
				if e := i - first; e >= 0 && e < len(rw.Events) {
					err = br.QueryRow().Scan(&rw.Events[e].Seq)
				} else {
					_, err = br.Exec()
				}
				if err != nil {
					br.Close()
					return err
				}
			}
			if err := br.Close(); err != nil {
				return err
			}
		}
		if rw.Answer == nil {
			return nil
		}
		rw.Answer()
		var c pgx.Batch
		finish(&c)
		if c.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, &c).Close()
	})
}

func queueEvents(b *pgx.Batch, events []store.RouterEvent, at time.Time) {
	for _, e := range events {
		b.Queue(`INSERT INTO router_events (type, at, task_id, reservation_id, worker_id, queue, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`, e.Type, sqlstore.EventTime(e, at), e.TaskID, e.ReservationID, e.WorkerID, e.Queue, sqlstore.EventData(e))
	}
}

func queueAll(b *pgx.Batch, stmts []sqlstore.Stmt) {
	for _, st := range stmts {
		b.Queue(st.SQL, st.Args...)
	}
}

func (s *Store) AppendRouterEvents(ctx context.Context, events []store.RouterEvent) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		queueEvents(&b, events, store.Now(time.Time{}))
		b.Queue(`SELECT pg_notify($1, $2)`, store.TopicEvents, store.About(events, nil))
		return tx.SendBatch(ctx, &b).Close()
	})
}

// ---- leadership ----

// TryLead takes a session advisory lock on a connection held for the
// lease: PostgreSQL releases it when that connection dies, so a dead
// leader's lease ends within the server's connection timeout, and a
// network partition is seen by the lease's own health check.
func (s *Store) TryLead(ctx context.Context, name string) (store.Lease, bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	const lock = `SELECT pg_try_advisory_lock(hashtextextended('switchboard leader ' || current_schema() || ' ' || $1, 0))`
	var ok bool
	if err := conn.QueryRow(ctx, lock, name).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, err
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	// Raised while holding the lock, so epochs follow the leaderships.
	var epoch int64
	if err := conn.QueryRow(ctx, `INSERT INTO leaders (name, epoch) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET epoch = leaders.epoch + 1 RETURNING epoch`, name).Scan(&epoch); err != nil {
		_ = conn.Conn().Close(ctx) // drops the lock with the session
		conn.Release()
		return nil, false, err
	}
	l := &advisoryLease{conn: conn, name: name, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
		fence: store.Fence{Name: name, Epoch: epoch}}
	go l.watch()
	return l, true, nil
}

type advisoryLease struct {
	conn  *pgxpool.Conn
	name  string
	fence store.Fence
	once  sync.Once
	lost  chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

// leaseCheck is how often a leader verifies that its lock's connection is alive.
const leaseCheck = time.Second

func (l *advisoryLease) watch() {
	defer close(l.done)
	t := time.NewTicker(leaseCheck)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 2*leaseCheck)
			err := l.conn.Ping(ctx)
			cancel()
			if err != nil {
				l.once.Do(func() { close(l.lost) })
				return
			}
		}
	}
}

func (l *advisoryLease) Lost() <-chan struct{} { return l.lost }

func (l *advisoryLease) Fence() store.Fence { return l.fence }

func (l *advisoryLease) Release() {
	select {
	case <-l.stop:
		return
	default:
	}
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('switchboard leader ' || current_schema() || ' ' || $1, 0))`, l.name); err != nil {
		// Not unlocked: the connection must not go back to the pool holding it.
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
	l.once.Do(func() { close(l.lost) })
}

// ---- wake-ups (LISTEN/NOTIFY) ----

func (s *Store) Notify(ctx context.Context, topic string) error {
	_, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, topic)
	return err
}

// Subscribe starts (once) a listener on its own connection that LISTENs to
// every topic and fans notifications out to the subscribers in this process.
func (s *Store) Subscribe(topic, party string) (<-chan struct{}, func()) {
	s.listenOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopListen = cancel
		s.listenDone = make(chan struct{})
		go s.listen(ctx)
	})
	return s.subs.Subscribe(topic, party)
}

func (s *Store) listen(ctx context.Context) {
	defer close(s.listenDone)
	for ctx.Err() == nil {
		err := s.listenOnceConn(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err
		// The connection broke: notifications may have been missed, so wake
		// everyone (they re-read the tables), then reconnect.
		s.subs.NotifyAll()
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *Store) listenOnceConn(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A listening connection must never serve queries again.
	defer func() {
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	for _, t := range []string{store.TopicRouter, store.TopicEvents, store.TopicRelay} {
		if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{t}.Sanitize()); err != nil {
			return err
		}
	}
	s.subs.NotifyAll() // anything before LISTEN
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		s.subs.Notify(n.Channel, n.Payload)
	}
}

var _ store.Leaser = (*Store)(nil)
var _ store.Notifier = (*Store)(nil)
