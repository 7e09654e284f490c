package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// checkpointCommits is how many commits the background checkpointer lets
// gather in the WAL before it copies them into the database file (about
// 3,000 frames at full load; a page those commits all rewrite, the right
// edge of a table, is copied once for all of them), and checkpointEvery
// how long at most it waits when fewer come. Passes of 64 or 128 commits
// copied less in all but made the slowest answers slower (bench/README.md).
const (
	checkpointCommits = 32
	checkpointEvery   = 250 * time.Millisecond
)

// writerCheckpointFrames is wal_autocheckpoint on the writer: the WAL size
// at which the writer checkpoints itself. The background checkpointer
// keeps the WAL far below it; it is the backstop should that fall behind,
// and then the writer copies only what the last pass left.
const writerCheckpointFrames = 32768

// checkpointer copies committed WAL frames into the database file from a
// connection of its own while the writer goes on committing (PASSIVE: it
// never waits for the writer or a reader). Checkpoints left to the writer
// (wal_autocheckpoint at 8,192 frames) held every commit behind them for
// 10–20 ms several times a second, and those stalls made the slowest
// answers. After a pass has copied everything, the writer's next
// transaction starts the WAL again from its beginning, so it stays small.
type checkpointer struct {
	db      *sql.DB
	commits chan struct{} // one per commit of the writer, dropped when full
	stop    chan struct{}
	stopped chan struct{}
}

func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, commits: make(chan struct{}, checkpointCommits), stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.run()
	return c, nil
}

// committed counts a commit of the writer; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.commits <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.stopped)
	for {
		deadline := time.After(checkpointEvery)
	gather:
		for n := 0; n < checkpointCommits; n++ {
			select {
			case <-c.stop:
				return
			case <-c.commits:
			case <-deadline:
				break gather
			}
		}
		// A failed pass (SQLITE_BUSY while another checkpoint runs, in this
		// process or another) leaves its frames to the next one, or to the
		// writer's own checkpoint.
		var busy, frames, copied int
		_ = c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	}
}

func (c *checkpointer) close() error {
	close(c.stop)
	<-c.stopped
	return c.db.Close()
}
