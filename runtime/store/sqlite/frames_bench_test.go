package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlite"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// framesBatch and framesWarm shape BenchmarkCommitFrames like bench/run.sh's
// load: batches of about 28 units, into a store that already holds tens of
// thousands of contacts.
const (
	framesBatch   = 28
	framesWarm    = 1500 // batches committed before counting
	framesSenders = 64   // bench/loadgen's connections
)

// loadgenUnit is storetest.NewContactUnit with the address and platform
// message id bench/loadgen gives its seq'th message: its 64 senders number
// their messages apart, so these keys arrive in 64 interleaved runs and a
// batch touches a leaf per sender in the address and dedupe indexes.
func loadgenUnit(seq uint64) *store.Unit {
	u := storetest.NewContactUnit(seq)
	id := "lg-r0-w" + strconv.FormatUint(seq%framesSenders, 10) + "-" + strconv.FormatUint(seq/framesSenders+1, 10)
	u.Contact.Address, u.Inbound.PlatformMessageID = "u-"+id, id
	return u
}

// BenchmarkCommitFrames counts what a batch of new contacts' first messages
// writes: the WAL frames of each commit (frames/commit, KiB/commit) and,
// with -v, which table or index each frame's page belongs to (dbstat). Each
// counted commit starts on an empty WAL; its time is not the point (see
// BenchmarkCommitNewContacts).
func BenchmarkCommitFrames(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "frames.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	var seq uint64
	commit := func() {
		batch := &store.Batch{}
		for range framesBatch {
			seq++
			batch.Add(loadgenUnit(seq))
		}
		res, err := s.Commit(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Outcome != store.Committed {
				b.Fatalf("%v %s %v", r.Outcome, r.Reason, r.Err)
			}
		}
	}
	for range framesWarm {
		commit()
	}
	pages := map[uint32]int{} // page number: commits that wrote it
	frames, bytes := 0, 0
	b.ResetTimer()
	for range b.N {
		emptyWAL(b, raw)
		commit()
		n, size, written := walFrames(b, path+"-wal")
		frames, bytes = frames+n, bytes+n*size
		for p := range written {
			pages[p]++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(frames)/float64(b.N), "frames/commit")
	b.ReportMetric(float64(bytes)/1024/float64(b.N), "KiB/commit")
	logTrees(b, raw, pages)
}

// emptyWAL checkpoints the whole WAL and truncates it, waiting out the
// store's own checkpointer.
func emptyWAL(b *testing.B, raw *sql.DB) {
	for {
		var busy, log, done int
		if err := raw.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil {
			b.Fatal(err)
		}
		if busy == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// walFrames reads the WAL file: its frames, their size with their headers,
// and the distinct pages they hold.
func walFrames(b *testing.B, path string) (n, size int, pages map[uint32]bool) {
	wal, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	pageSize := int(binary.BigEndian.Uint32(wal[8:12]))
	size, pages = 24+pageSize, map[uint32]bool{}
	for off := 32; off+size <= len(wal); off += size {
		pages[binary.BigEndian.Uint32(wal[off:off+4])] = true
		n++
	}
	return n, size, pages
}

// logTrees logs the distinct pages written per commit by table or index.
func logTrees(b *testing.B, raw *sql.DB, pages map[uint32]int) {
	rows, err := raw.Query(`SELECT name, pageno FROM dbstat`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	perTree := map[string]int{}
	for rows.Next() {
		var name string
		var p uint32
		if err := rows.Scan(&name, &p); err != nil {
			b.Fatal(err)
		}
		perTree[name] += pages[p]
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	names := make([]string, 0, len(perTree))
	for name, n := range perTree {
		if n > 0 {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return perTree[names[i]] > perTree[names[j]] })
	for _, name := range names {
		b.Logf("%-34s %6.1f pages/commit", name, float64(perTree[name])/float64(b.N))
	}
}
