package walvfs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	_ "modernc.org/sqlite"
)

// dsn is the store's DSN form: the path, then query parameters the driver
// reads, vfs among them.
func dsn(t testing.TB, path string, vfs bool, pragmas ...string) string {
	t.Helper()
	q := []string{"_pragma=busy_timeout(10000)", "_pragma=journal_mode(WAL)", "_pragma=synchronous(FULL)"}
	if vfs {
		name, err := Register()
		if err != nil {
			t.Fatal(err)
		}
		q = append([]string{"vfs=" + name}, q...)
	}
	for _, p := range pragmas {
		q = append(q, "_pragma="+p)
	}
	return path + "?" + strings.Join(q, "&")
}

func open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return db
}

func mustExec(t testing.TB, db interface {
	Exec(string, ...any) (sql.Result, error)
}, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func queryInt(t testing.TB, db interface {
	QueryRow(string, ...any) *sql.Row
}, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func integrityOK(t testing.TB, db *sql.DB) {
	t.Helper()
	var s string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&s); err != nil {
		t.Fatal(err)
	}
	if s != "ok" {
		t.Fatalf("integrity_check: %s", s)
	}
}

type counters struct{ writes, flushes, through, dropped int64 }

func snapshot() counters {
	return counters{stats.writes.Load(), stats.flushes.Load(), stats.through.Load(), stats.dropped.Load()}
}

func (c counters) since(d counters) counters {
	return counters{c.writes - d.writes, c.flushes - d.flushes, c.through - d.through, c.dropped - d.dropped}
}

// The VFS finds each WAL file's Wal where sqlite3WalOpen puts it; were it not
// there, every write would go straight through and the package would be a
// no-op.
func TestWalLayout(t *testing.T) {
	db := open(t, dsn(t, filepath.Join(t.TempDir(), "t.db"), true))
	mustExec(t, db, "CREATE TABLE t(x)")
	before := snapshot()
	for i := range 10 {
		mustExec(t, db, "INSERT INTO t VALUES (?)", i)
	}
	d := snapshot().since(before)
	if d.writes == 0 || d.through != 0 || d.flushes != 10 {
		t.Fatalf("10 commits: %+v, want one flush each and nothing written through", d)
	}
}

// Both DSN forms open the database through the VFS, and one without vfs= does
// not.
func TestDSN(t *testing.T) {
	name, err := Register()
	if err != nil {
		t.Fatal(err)
	}
	if name2, err2 := Register(); name2 != name || err2 != err {
		t.Fatalf("second Register: %q, %v", name2, err2)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		dsn     string
		walvfs  bool
		pragmas string
	}{
		{"path", filepath.Join(dir, "a.db") + "?vfs=" + name, true, ""},
		{"uri", "file:" + (&url.URL{Path: filepath.Join(dir, "b c.db")}).EscapedPath() + "?vfs=" + name, true, ""},
		{"plain", filepath.Join(dir, "c.db") + "?", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t, tc.dsn+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
			mustExec(t, db, "CREATE TABLE t(x)")
			before := snapshot()
			mustExec(t, db, "INSERT INTO t VALUES (1)")
			if got := snapshot().since(before).writes > 0; got != tc.walvfs {
				t.Fatalf("WAL written through walvfs: %v, want %v", got, tc.walvfs)
			}
			if n := queryInt(t, db, "SELECT count(*) FROM t"); n != 1 {
				t.Fatalf("count = %d", n)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "b c.db")); err != nil {
		t.Fatalf("the URI form opened another file: %v", err)
	}
}

// One connection commits; readers on other connections, each with its own
// WAL file handle, must always see a committed state: the counter and the
// rows agree. A small wal_autocheckpoint makes the writer checkpoint and
// restart the WAL under the readers.
func TestConcurrentReaders(t *testing.T) {
	for _, mode := range []string{"FULL", "EXTRA", "NORMAL"} {
		t.Run("synchronous="+mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.db")
			w := open(t, dsn(t, path, true, "synchronous("+mode+")", "wal_autocheckpoint(64)"))
			w.SetMaxOpenConns(1)
			mustExec(t, w, "CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, total INTEGER NOT NULL)")
			mustExec(t, w, "CREATE TABLE item(id INTEGER PRIMARY KEY, k BLOB NOT NULL, v INTEGER NOT NULL)")
			mustExec(t, w, "CREATE INDEX item_k ON item(k)")
			mustExec(t, w, "INSERT INTO counter VALUES (1, 0, 0)")

			r := open(t, dsn(t, path, true, "query_only(1)"))
			r.SetMaxOpenConns(4)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var reads atomic.Int64
			errc := make(chan error, 4)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						if err := checkConsistent(ctx, r); err != nil {
							if ctx.Err() == nil {
								errc <- err
							}
							return
						}
						reads.Add(1)
					}
				}()
			}

			rng := rand.New(rand.NewPCG(1, 2))
			commits := 150
			if mode != "FULL" {
				commits = 60
			}
			for i := range commits {
				tx, err := w.Begin()
				if err != nil {
					t.Fatal(err)
				}
				rows := 1 + rng.IntN(40)
				var sum int64
				for range rows {
					v := rng.Int64N(1000)
					sum += v
					k := make([]byte, 32)
					for j := range k {
						k[j] = byte(rng.Uint32())
					}
					mustExec(t, tx, "INSERT INTO item(k, v) VALUES (?, ?)", k, v)
				}
				mustExec(t, tx, "UPDATE counter SET n = n + ?, total = total + ? WHERE id = 1", rows, sum)
				if i%10 == 9 { // rows that move, so pages are rewritten, not only appended
					mustExec(t, tx, "UPDATE item SET k = randomblob(32) WHERE id % 7 = ?", i%7)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-errc:
					t.Fatal(err)
				default:
				}
			}
			cancel()
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			if reads.Load() == 0 {
				t.Fatal("no reads")
			}
			t.Logf("%d consistent reads", reads.Load())
			if err := checkConsistent(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			integrityOK(t, r)
		})
	}
}

func checkConsistent(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n, total, count, sum, idx int64
	if err := tx.QueryRowContext(ctx, "SELECT n, total FROM counter WHERE id = 1").Scan(&n, &total); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, "SELECT count(*), coalesce(sum(v), 0) FROM item").Scan(&count, &sum); err != nil {
		return err
	}
	// The index is read too: its pages are the randomly placed ones.
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM item INDEXED BY item_k WHERE k IS NOT NULL").Scan(&idx); err != nil {
		return err
	}
	if n != count || total != sum || idx != count {
		return fmt.Errorf("counter says %d rows summing to %d, table has %d rows summing to %d, index %d", n, total, count, sum, idx)
	}
	return nil
}

// A transaction larger than the page cache spills frames into the WAL before
// it commits (pagerStress, one frame per call) and reads them back; then it
// rewrites some of them, which makes walFrames overwrite spilled frames and
// rewrite checksums.
func TestSpill(t *testing.T) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		t.Run("synchronous="+mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.db")
			w := open(t, dsn(t, path, true, "synchronous("+mode+")", "cache_size(20)"))
			w.SetMaxOpenConns(1)
			mustExec(t, w, "CREATE TABLE t(id INTEGER PRIMARY KEY, k BLOB, v TEXT)")
			mustExec(t, w, "CREATE INDEX t_k ON t(k)")
			r := open(t, dsn(t, path, true))

			tx, err := w.Begin()
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot()
			const rows = 3000
			for i := range rows {
				mustExec(t, tx, "INSERT INTO t VALUES (?, randomblob(16), ?)", i, strings.Repeat("x", 100+i%50))
			}
			if d := snapshot().since(before); d.writes == 0 {
				t.Fatal("no spill: nothing written to the WAL before COMMIT")
			}
			if n := queryInt(t, tx, "SELECT count(*) FROM t INDEXED BY t_k WHERE k IS NOT NULL"); n != rows {
				t.Fatalf("own rows before commit: %d", n)
			}
			if n := queryInt(t, tx, "SELECT sum(length(v)) FROM t"); n != wantLen(rows) {
				t.Fatalf("own rows before commit: length %d", n)
			}
			if n := queryInt(t, r, "SELECT count(*) FROM t"); n != 0 {
				t.Fatalf("another connection sees %d uncommitted rows", n)
			}
			mustExec(t, tx, "UPDATE t SET v = v || 'y' WHERE id % 3 = 0")
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			want := wantLen(rows) + (rows+2)/3
			if n := queryInt(t, r, "SELECT sum(length(v)) FROM t"); n != want {
				t.Fatalf("other connection: length %d, want %d", n, want)
			}
			if n := queryInt(t, r, "SELECT count(*) FROM t INDEXED BY t_k WHERE k IS NOT NULL"); n != rows {
				t.Fatalf("other connection: %d rows", n)
			}
			integrityOK(t, r)

			// What the files hold now is what a crash would leave: a copy,
			// opened without the wal-index, is recovered from the WAL, whose
			// checksums must chain up to the commit frame.
			cp := filepath.Join(t.TempDir(), "copy.db")
			copyFile(t, path, cp)
			copyFile(t, path+"-wal", cp+"-wal")
			c := open(t, dsn(t, cp, false))
			if n := queryInt(t, c, "SELECT sum(length(v)) FROM t"); n != want {
				t.Fatalf("recovered copy: length %d, want %d", n, want)
			}
			integrityOK(t, c)
		})
	}
}

func copyFile(t testing.TB, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantLen(rows int) int64 {
	var n int64
	for i := range rows {
		n += int64(100 + i%50)
	}
	return n
}

// A transaction that spilled frames into the buffer and rolled back must not
// write them out later: by then another connection may have committed frames
// at the same offsets.
func TestRollbackAfterSpill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	w := open(t, dsn(t, path, true, "cache_size(20)"))
	w.SetMaxOpenConns(1)
	mustExec(t, w, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
	mustExec(t, w, "INSERT INTO t VALUES (1, 'a')")
	other := open(t, dsn(t, path, false))
	other.SetMaxOpenConns(1)
	// With the WAL empty, the rollback reads the pages it restores from the
	// database file, and the rolled-back frames stay in the buffer.
	mustExec(t, w, "PRAGMA wal_checkpoint(TRUNCATE)")

	before := snapshot()
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 600 {
		mustExec(t, tx, "INSERT INTO t VALUES (?, ?)", 100+i, strings.Repeat("z", 300))
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := snapshot().since(before); d.writes == 0 {
		t.Fatal("no spill")
	}
	// Another connection commits over the offsets the spilled frames had.
	for i := range 50 {
		mustExec(t, other, "INSERT INTO t VALUES (?, ?)", 10000+i, strings.Repeat("o", 300))
	}
	// The writer reads the WAL again, which is when a stale buffer would be
	// written out.
	if n := queryInt(t, w, "SELECT count(*) FROM t WHERE v = ?", strings.Repeat("o", 300)); n != 50 {
		t.Fatalf("writer sees %d of the other connection's rows", n)
	}
	mustExec(t, w, "INSERT INTO t VALUES (2, 'b')")
	if d := snapshot().since(before); d.dropped == 0 {
		t.Fatal("the rolled-back frames were not left in the buffer: the test tests nothing")
	}
	if n := queryInt(t, other, "SELECT count(*) FROM t"); n != 52 {
		t.Fatalf("%d rows, want 52", n)
	}
	if n := queryInt(t, other, "SELECT count(*) FROM t WHERE v = ?", strings.Repeat("o", 300)); n != 50 {
		t.Fatalf("other connection's rows: %d", n)
	}
	integrityOK(t, other)
	mustExec(t, other, "PRAGMA wal_checkpoint(TRUNCATE)")
	integrityOK(t, w)
}

// Checkpoints, automatic and explicit, from the writer and from another
// connection, and WAL restarts; then the database is closed and reopened with
// and without the VFS.
func TestCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	w := open(t, dsn(t, path, true, "wal_autocheckpoint(16)"))
	w.SetMaxOpenConns(1)
	other := open(t, dsn(t, path, true))
	other.SetMaxOpenConns(1)
	mustExec(t, w, "CREATE TABLE t(id INTEGER PRIMARY KEY, k BLOB, v INTEGER)")
	mustExec(t, w, "CREATE INDEX t_k ON t(k)")

	var maxWAL int64
	var sum int64
	for i := range 300 {
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for j := range 10 {
			mustExec(t, tx, "INSERT INTO t(k, v) VALUES (randomblob(64), ?)", i*10+j)
			sum += int64(i*10 + j)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		switch i % 50 {
		case 10:
			mustExec(t, w, "PRAGMA wal_checkpoint(TRUNCATE)")
			if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
				t.Fatalf("after TRUNCATE: %v, %v", fi, err)
			}
		case 20:
			mustExec(t, other, "PRAGMA wal_checkpoint(TRUNCATE)")
		case 30:
			mustExec(t, other, "PRAGMA wal_checkpoint(RESTART)")
		case 40:
			mustExec(t, other, "PRAGMA wal_checkpoint(PASSIVE)")
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			maxWAL = max(maxWAL, fi.Size())
		}
		if n := queryInt(t, other, "SELECT count(*) FROM t"); n != int64(i+1)*10 {
			t.Fatalf("commit %d: other connection sees %d rows", i, n)
		}
	}
	// With automatic checkpoints every 16 frames, a WAL that restarts from
	// its start stays small; one that never restarted would hold every frame.
	if maxWAL > 1<<20 {
		t.Fatalf("WAL grew to %d bytes: it did not restart", maxWAL)
	}
	integrityOK(t, w)
	w.Close()
	other.Close()

	for _, vfs := range []bool{true, false, true} {
		db := open(t, dsn(t, path, vfs))
		integrityOK(t, db)
		if n := queryInt(t, db, "SELECT count(*) FROM t INDEXED BY t_k WHERE k IS NOT NULL"); n != 3000 {
			t.Fatalf("reopened (vfs %v): %d rows", vfs, n)
		}
		if n := queryInt(t, db, "SELECT sum(v) FROM t"); n != sum {
			t.Fatalf("reopened (vfs %v): sum %d, want %d", vfs, n, sum)
		}
		mustExec(t, db, "INSERT INTO t(k, v) VALUES (NULL, 0)")
		mustExec(t, db, "DELETE FROM t WHERE k IS NULL")
		db.Close()
		if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the last connection's close left the WAL: %v", err)
		}
	}
}

// The same workload gives the same database with the VFS and without.
func TestSameResult(t *testing.T) {
	dir := t.TempDir()
	var dumps [2]string
	var files [2][]byte
	for i, vfs := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("%d.db", i))
		db := open(t, dsn(t, path, vfs, "cache_size(30)", "wal_autocheckpoint(100)"))
		db.SetMaxOpenConns(1)
		runWorkload(t, db, rand.New(rand.NewPCG(7, 8)))
		integrityOK(t, db)
		dumps[i] = dump(t, db)
		mustExec(t, db, "PRAGMA wal_checkpoint(TRUNCATE)")
		db.Close()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = b
	}
	if dumps[0] != dumps[1] {
		t.Fatal("the databases differ")
	}
	if string(files[0]) != string(files[1]) {
		t.Fatal("the database files differ")
	}
}

func runWorkload(t *testing.T, db *sql.DB, rng *rand.Rand) {
	mustExec(t, db, "CREATE TABLE a(id INTEGER PRIMARY KEY, k BLOB, v TEXT)")
	mustExec(t, db, "CREATE INDEX a_k ON a(k)")
	mustExec(t, db, "CREATE TABLE b(id INTEGER PRIMARY KEY, a INTEGER, n INTEGER)")
	mustExec(t, db, "CREATE INDEX b_a ON b(a, n)")
	blob := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := range 120 {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		rows := 1 + rng.IntN(30)
		if i%40 == 39 {
			rows = 2000 // spills
		}
		for range rows {
			mustExec(t, tx, "INSERT INTO a(k, v) VALUES (?, ?)", blob(24), strings.Repeat("v", rng.IntN(200)))
			mustExec(t, tx, "INSERT INTO b(a, n) VALUES (?, ?)", rng.IntN(1000), rng.IntN(1000))
		}
		if i%7 == 0 {
			mustExec(t, tx, "DELETE FROM b WHERE n < ?", rng.IntN(50))
		}
		if i%11 == 0 {
			mustExec(t, tx, "UPDATE a SET v = v || 'w' WHERE id % 13 = ?", rng.IntN(13))
		}
		if i%9 == 0 {
			err = tx.Rollback()
		} else {
			err = tx.Commit()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func dump(t *testing.T, db *sql.DB) string {
	var sb strings.Builder
	for _, q := range []string{
		"SELECT id, hex(k), v FROM a ORDER BY id",
		"SELECT id, a, n FROM b ORDER BY id",
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c any
			if err := rows.Scan(&a, &b, &c); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&sb, a, b, c)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return sb.String()
}
