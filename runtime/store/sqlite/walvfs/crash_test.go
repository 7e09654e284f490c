package walvfs

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/killtest"
)

// crashEnv names the database a child process of TestCrash writes to.
const crashEnv = "WALVFS_CRASH_DB"

// Rows a crash child commits with transaction n: a log row and a few random
// index keys, and every 25th transaction enough rows to spill the cache.
func crashRows(n int) int {
	if n%25 == 0 {
		return 600
	}
	return 30
}

// A child process commits numbered transactions through the VFS and prints
// each number once COMMIT has returned; it is killed with SIGKILL at some
// point. Every number it printed must be in the database, which must be
// intact, read with the VFS and without, and writable again afterwards.
func TestCrash(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	last := 0
	for round, killAfter := range []int{300, 450} {
		printed := runCrashChild(t, path, killAfter)
		if len(printed) < killAfter {
			t.Fatalf("round %d: the child printed only %d commits", round, len(printed))
		}
		for i, n := range printed {
			if n != last+1+i {
				t.Fatalf("round %d: printed %d after %d", round, n, last+i)
			}
		}
		for _, vfs := range []bool{false, true} {
			db, err := sql.Open("sqlite", dsn(t, path, vfs))
			if err != nil {
				t.Fatal(err)
			}
			integrityOK(t, db)
			var count, max int64
			if err := db.QueryRow("SELECT count(*), coalesce(max(n), 0) FROM log").Scan(&count, &max); err != nil {
				t.Fatal(err)
			}
			lastPrinted := int64(printed[len(printed)-1])
			// The child may have committed one more than it printed.
			if max < lastPrinted || max > lastPrinted+1 || count != max {
				t.Fatalf("round %d (vfs %v): %d log rows up to %d, the child printed up to %d", round, vfs, count, max, lastPrinted)
			}
			var want int64
			for n := 1; n <= int(max); n++ {
				want += int64(crashRows(n))
			}
			if n := queryInt(t, db, "SELECT count(*) FROM extra INDEXED BY extra_k WHERE k IS NOT NULL"); n != want {
				t.Fatalf("round %d (vfs %v): %d extra rows, want %d", round, vfs, n, want)
			}
			db.Close()
			last = int(max)
		}
	}
}

func runCrashChild(t *testing.T, path string, killAfter int) []int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	return killtest.Run(t, cmd, "committed ", killAfter)
}

func crashChild(t *testing.T, path string) {
	db, err := sql.Open("sqlite", dsn(t, path, true, "cache_size(20)", "wal_autocheckpoint(200)"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS log(n INTEGER PRIMARY KEY, at INTEGER)")
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS extra(id INTEGER PRIMARY KEY, n INTEGER, k BLOB)")
	mustExec(t, db, "CREATE INDEX IF NOT EXISTS extra_k ON extra(k)")
	n := int(queryInt(t, db, "SELECT coalesce(max(n), 0) FROM log"))
	// The parent kills the child long before this; the bound only keeps an
	// orphan from writing forever.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		n++
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, tx, "INSERT INTO log VALUES (?, ?)", n, time.Now().UnixNano())
		mustExec(t, tx, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) INSERT INTO extra(n, k) SELECT ?, randomblob(32) FROM s", crashRows(n), n)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", n)
	}
	t.Fatal("not killed")
}
