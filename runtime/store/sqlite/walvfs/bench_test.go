package walvfs

import (
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// benchUnits is how many units a benchmark transaction commits, like a batch
// of the store's writer.
const benchUnits = 30

const benchSchema = `
CREATE TABLE contact(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, name TEXT, created INTEGER);
CREATE TABLE message(id INTEGER PRIMARY KEY, contact BLOB NOT NULL, ts INTEGER, body TEXT);
CREATE INDEX message_contact ON message(contact, ts);
CREATE TABLE event(id INTEGER PRIMARY KEY, ref BLOB NOT NULL, kind INTEGER, payload TEXT);
CREATE INDEX event_ref ON event(ref);
`

type benchStmts struct{ contact, message, event *sql.Stmt }

func prepareBench(b *testing.B, db *sql.DB) benchStmts {
	var s benchStmts
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&s.contact, "INSERT INTO contact(key, name, created) VALUES (?, ?, ?)"},
		{&s.message, "INSERT INTO message(contact, ts, body) VALUES (?, ?, ?)"},
		{&s.event, "INSERT INTO event(ref, kind, payload) VALUES (?, ?, ?)"},
	} {
		st, err := db.Prepare(p.q)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		*p.dst = st
	}
	return s
}

// commitUnits commits one transaction of units units: per unit a contact, two
// messages and an event, each with a random key in an index, so a commit
// dirties a hundred or more pages spread over the indexes.
func commitUnits(b *testing.B, db *sql.DB, s benchStmts, rng *rand.Rand, units int) {
	key := func() []byte {
		k := make([]byte, 16)
		for i := range k {
			k[i] = byte(rng.Uint32())
		}
		return k
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	contact, message, event := tx.Stmt(s.contact), tx.Stmt(s.message), tx.Stmt(s.event)
	body := strings.Repeat("b", 100)
	for i := range units {
		k := key()
		if _, err := contact.Exec(k, "someone", i); err != nil {
			b.Fatal(err)
		}
		for j := range 2 {
			if _, err := message.Exec(key(), i*2+j, body); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := event.Exec(key(), i%5, body[:80]); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCommit measures one commit of benchUnits units on a database that
// already holds 40000, with the store's settings, through the unix VFS and
// through this one. One op is one commit.
func BenchmarkCommit(b *testing.B) {
	tmpl := filepath.Join(b.TempDir(), "template.db")
	{
		db, err := sql.Open("sqlite", dsn(b, tmpl, false, "synchronous(OFF)", "cache_size(-65536)"))
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		mustExec(b, db, benchSchema)
		s := prepareBench(b, db)
		commitUnits(b, db, s, rand.New(rand.NewPCG(3, 4)), 40000)
		mustExec(b, db, "PRAGMA wal_checkpoint(TRUNCATE)")
		db.Close()
	}
	for _, vfs := range []bool{false, true} {
		name := "vfs=unix"
		if vfs {
			name = "vfs=walvfs"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			copyFile(b, tmpl, path)
			db, err := sql.Open("sqlite", dsn(b, path, vfs, "foreign_keys(1)", "temp_store(MEMORY)", "cache_size(-2000)", "wal_autocheckpoint(8192)")+"&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			s := prepareBench(b, db)
			rng := rand.New(rand.NewPCG(5, 6))
			before := snapshot()
			for b.Loop() {
				commitUnits(b, db, s, rng, benchUnits)
			}
			if vfs {
				d := snapshot().since(before)
				b.ReportMetric(float64(d.writes)/2/float64(b.N), "frames/commit")
				b.ReportMetric(float64(d.flushes+d.through)/float64(b.N), "pwrites/commit")
			}
		})
	}
}
