// Package sqlite is the embedded store: one SQLite file (modernc.org/sqlite,
// pure Go) in WAL mode with synchronous=FULL, so an acknowledged write
// survives a power loss, not only a crash of the process.
//
// SQLite runs one write transaction at a time, so the store owns exactly one
// writer connection, serialized by a mutex, and a pool of read-only
// connections that WAL lets read while the writer writes. Throughput comes
// from Commit's batches: one fsync per batch, however many units it holds,
// and, since that one writer is what bounds it, as little work per unit as
// the writer can do: a batch whose units all commit is written with one
// multi-row INSERT per table rather than statements and a savepoint per unit
// (bulk.go), and falls back to unit by unit when one of them would not. The
// read pool keeps its hot queries prepared.
//
// Importing the package registers the "sqlite" scheme with store.Open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlite/walvfs"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
	sqlite "modernc.org/sqlite"
)

func init() {
	store.Register("sqlite", func(ctx context.Context, url string) (store.Store, error) {
		return Open(ctx, PathFromURL(url))
	})
}

// PathFromURL returns the file path of "sqlite:PATH", "sqlite://PATH" or a bare path.
func PathFromURL(url string) string {
	if p, ok := strings.CutPrefix(url, "sqlite://"); ok {
		return p
	}
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		return p
	}
	return url
}

//go:embed migrations/*.sql
var migrations embed.FS

// readers is the size of the read pool: WAL readers do not block each
// other or the writer, and the machine has few cores.
const readers = 4

// Store is the SQLite implementation of store.Store.
type Store struct {
	*sqlstore.DB // the queries both stores share

	path string
	w    *writer
	r    *sql.DB    // read-only pool
	rs   *readStmts // the read pool's prepared statements
	wdb  *sql.DB    // owns the writer's connection

	addrs      *addressFilter
	stopLoad   context.CancelFunc // the filter's load of the stored addresses
	loadExited chan struct{}

	closeOnce sync.Once
	closeErr  error
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.AddressFilter = (*Store)(nil)
)

// Open opens the database file at path, creating it (and its directory's
// file, not the directory) on first start, and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%w: sqlite path %q", store.ErrInvalid, path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := createSmallPages(path); err != nil {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	// busy_timeout: other processes (a second runtime on the same file, a
	// backup, the sqlite3 shell) may hold the lock for a moment.
	// synchronous=FULL: WAL's default NORMAL may lose the last commits on
	// power loss, and an acknowledged webhook must not be lost.
	// The writer's cache_size is SQLite's default (2 MiB): SQLite truncates
	// the page cache at the end of every write transaction, and with the
	// 64 MiB cache this store had, that (pcache1TruncateUnsafe) took about
	// 5 % of the writer's CPU in BenchmarkCommitNewContacts, under 1 % with
	// 2 MiB; a batch mostly writes the right edges of the tables and
	// indexes, which fit.
	// fdatasync instead of fsync for every commit's sync, as SQLite's own
	// Linux builds do: the WAL's data and size are as durable, and the inode's
	// timestamps are not written through the file system's journal at every
	// commit (the driver keeps fsync unless asked; it is process-wide and
	// unavailable on macOS and Windows, where SQLite syncs its own way).
	_, _ = sqlite.Fdatasync(true)
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)"
	// The writer writes the WAL through walvfs, which hands a commit's frames
	// to the kernel in a few writes instead of two per page (about 280 per
	// commit under load, the largest part of a commit's time); it relies on
	// synchronous=FULL, set above. Readers never write the WAL.
	vfs, err := walvfs.Register()
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	wdb, err := sql.Open("sqlite", path+"?vfs="+vfs+"&_pragma=journal_mode(WAL)&"+common+"&_pragma=cache_size(-2000)&_pragma=wal_autocheckpoint("+strconv.Itoa(writerCheckpointFrames)+")&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	conn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w := &writer{conn: conn, stmts: map[string]*sql.Stmt{}, bulk: map[bulkKey]*sql.Stmt{}}
	s := &Store{path: path, w: w, wdb: wdb, addrs: newAddressFilter()}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// Readers open after the migration: the file and the WAL mode exist.
	rdb, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		s.Close()
		return nil, err
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	s.r, s.rs = rdb, &readStmts{db: rdb}
	s.DB = sqlstore.New(s.sqlConfig())
	if w.ckpt, err = startCheckpointer(path + "?" + common); err != nil {
		s.Close()
		return nil, err
	}
	loadCtx, stop := context.WithCancel(context.Background())
	s.stopLoad, s.loadExited = stop, make(chan struct{})
	go func() {
		defer close(s.loadExited)
		// On failure the filter never answers "no": every lookup queries.
		_ = s.addrs.load(loadCtx, s.r)
	}()
	return s, nil
}

// pageSize is the page size of the databases Open creates. A commit writes
// every page it changes to the WAL whole, and a new contact's first message
// changes a leaf in each of two indexes whose keys are the platform's (the
// address and the inbound dedupe key) plus the right-hand edges of about
// twenty others: with SQLite's default 4 KiB pages a batch of 28 such
// messages wrote 137 frames, 564 KiB, and its fdatasync took time in
// proportion. With 2 KiB pages the same batch writes 179 frames but 370 KiB,
// at the same CPU per message. Smaller pages would overflow execution
// states of a few KiB onto pages of their own.
const pageSize = 2048

// createSmallPages makes a new database file at path with pageSize pages
// (SQLite fixes the page size when it writes the first page, and in WAL
// mode for good), and leaves an existing one as it is.
func createSmallPages(path string) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	// A process creating the same file at once may win: then the file's
	// first page is written and these statements change nothing.
	_, err = db.Exec(`PRAGMA page_size = ` + strconv.Itoa(pageSize) + `; PRAGMA journal_mode = WAL`)
	return err
}

// MayHaveAddress reports whether a contact may have the address; false
// means LookupContact would find none, unless another process stored it
// meanwhile (store.AddressFilter).
func (s *Store) MayHaveAddress(channel, address string) bool {
	return s.addrs.mayHave(channel, address)
}

// Reopen opens a second Store on the same file (store.Reopener).
func (s *Store) Reopen(ctx context.Context) (store.Store, error) { return Open(ctx, s.path) }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Ping checks the read pool and that the store is open.
func (s *Store) Ping(ctx context.Context) error {
	s.w.mu.Lock()
	closed := s.w.closed
	s.w.mu.Unlock()
	if closed {
		return store.ErrClosed
	}
	return s.r.PingContext(ctx)
}

// Close closes the connections; it waits for a running write to finish.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var ckptErr error
		if s.w.ckpt != nil {
			ckptErr = s.w.ckpt.close()
		}
		if s.stopLoad != nil {
			s.stopLoad()
			<-s.loadExited
		}
		s.w.mu.Lock()
		s.w.closed = true
		for _, st := range s.w.stmts {
			st.Close()
		}
		for _, st := range s.w.bulk {
			st.Close()
		}
		err := s.w.conn.Close()
		s.w.mu.Unlock()
		if e := s.wdb.Close(); err == nil {
			err = e
		}
		if s.r != nil {
			s.rs.close()
			if e := s.r.Close(); err == nil {
				err = e
			}
		}
		if err == nil {
			err = ckptErr
		}
		s.closeErr = err
	})
	return s.closeErr
}

// migrate applies the embedded migrations not yet recorded.
func (s *Store) migrate(ctx context.Context) error {
	m := sqlstore.Migrator{
		Dialect: dialect,
		Scripts: migrations,
		Tx: func(ctx context.Context, fn func(sqlstore.Querier) error) error {
			return s.w.tx(ctx, func(x *wtx) error { return fn(writeQ{x}) })
		},
		Table: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		// On the writer's connection, in its transaction; not through the
		// statement cache: a script is many statements.
		Script: func(ctx context.Context, _ sqlstore.Querier, script string) error {
			_, err := s.w.conn.ExecContext(ctx, script)
			return err
		},
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("%w (%s)", err, s.path)
	}
	return nil
}

// writer is the one connection that writes. SQLite allows one write
// transaction at a time anyway; owning the connection lets Commit keep its
// prepared statements and skip database/sql's pool and Tx bookkeeping.
type writer struct {
	mu     sync.Mutex
	conn   *sql.Conn
	stmts  map[string]*sql.Stmt
	bulk   map[bulkKey]*sql.Stmt // Commit's multi-row INSERTs (bulk.go)
	closed bool

	// carried are writes that ride the next transaction (see carry).
	carriedMu sync.Mutex
	carried   []*carriedWrite

	ckpt *checkpointer // copies the WAL into the database file; told of every commit
}

// wtx runs statements inside the writer's current transaction.
type wtx struct{ w *writer }

func (w *writer) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	w.stmts[q] = st
	return st, nil
}

func (x *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := x.w.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, cleanArgs(args)...)
}

func (x *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := x.w.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, cleanArgs(args)...)
}

func (x *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := x.w.stmt(ctx, q)
	if err != nil {
		// sql.Row cannot be built with an error from outside; a failing
		// prepare fails again on the connection and reports there.
		return x.w.conn.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, cleanArgs(args)...)
}

// exec runs a statement and returns the number of rows it changed.
func (x *wtx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := x.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// tx runs fn in one write transaction (BEGIN IMMEDIATE: take the write
// lock up front, so a transaction never fails half-way on SQLITE_BUSY).
func (w *writer) tx(ctx context.Context, fn func(*wtx) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return store.ErrClosed
	}
	x := &wtx{w}
	if _, err := x.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(x); err != nil {
		w.rollback()
		return err
	}
	w.carriedMu.Lock()
	carried := w.carried[:len(w.carried):len(w.carried)]
	w.carriedMu.Unlock()
	for _, c := range carried {
		// In a savepoint: a carried write that fails fails alone, not the
		// transaction that carries it.
		if _, err := x.ExecContext(ctx, "SAVEPOINT carried"); err != nil {
			w.rollback()
			return err
		}
		if c.err = c.apply(ctx, x); c.err != nil {
			if _, err := x.ExecContext(ctx, "ROLLBACK TO carried"); err != nil {
				w.rollback()
				return err
			}
		}
		if _, err := x.ExecContext(ctx, "RELEASE carried"); err != nil {
			w.rollback()
			return err
		}
	}
	if _, err := x.ExecContext(ctx, "COMMIT"); err != nil {
		w.rollback()
		return err
	}
	if w.ckpt != nil {
		w.ckpt.committed()
	}
	if len(carried) > 0 {
		w.carriedMu.Lock()
		w.carried = w.carried[len(carried):]
		w.carriedMu.Unlock()
		for _, c := range carried {
			close(c.done)
		}
	}
	return nil
}

func (w *writer) rollback() {
	// Not the caller's ctx: a cancelled ctx must still end the transaction.
	// An error means there was no transaction left to roll back.
	_, _ = w.conn.ExecContext(context.Background(), "ROLLBACK")
}

// readStmts runs the store's constant read queries as prepared statements
// (database/sql's Stmt prepares one copy per read connection, once):
// parsing and planning a query again at every call cost about as much as
// running it, and LookupContact runs for every inbound message.
type readStmts struct {
	db     *sql.DB
	stmts  sync.Map // query -> *sql.Stmt
	mu     sync.Mutex
	closed bool
}

func (r *readStmts) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := r.stmts.Load(q); ok {
		return st.(*sql.Stmt)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.stmts.Load(q); ok {
		return st.(*sql.Stmt)
	}
	if r.closed {
		return nil
	}
	st, err := r.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the query reports it when run unprepared
	}
	r.stmts.Store(q, st)
	return st
}

// The queries are point lookups: they run without the caller's
// cancellation (checked first), which spares database/sql a goroutine per
// query watching the context.

func (r *readStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	args = cleanArgs(args) // lookups find what writes cleaned
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.db.QueryContext(ctx, q, args...)
}

func (r *readStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if ctx.Err() == nil {
		ctx = context.WithoutCancel(ctx)
	}
	args = cleanArgs(args)
	if st := r.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.db.QueryRowContext(ctx, q, args...)
}

func (r *readStmts) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
}

// querier is what read helpers need: the read pool or the writer's transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// isConstraint reports a constraint violation (unique, foreign key, check,
// not null): the fault of one unit's data, not of the database.
func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 19 // SQLITE_CONSTRAINT
}

func isUnique(err error) bool {
	var se *sqlite.Error
	// SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_CONSTRAINT_PRIMARYKEY (1555)
	return errors.As(err, &se) && (se.Code() == 2067 || se.Code() == 1555)
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}
