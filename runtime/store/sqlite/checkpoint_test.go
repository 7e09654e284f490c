package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Commits reach the database file without the writer checkpointing: the
// background checkpointer copies the WAL there while the WAL is far from the
// writer's own threshold.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sb.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for batch := range 20 {
		b := &store.Batch{}
		for i := range 50 {
			b.Add(&store.Unit{Contact: &store.NewContact{ID: store.NewID(), Channel: "sms", Address: fmt.Sprint("+1555", batch, "-", i)}})
		}
		if _, err := s.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// 1,000 contacts are a few hundred frames, far below writerCheckpointFrames:
	// only the background checkpointer copies them.
	for deadline := time.Now().Add(10 * time.Second); size() <= before; {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is still %d bytes: nothing was checkpointed", before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
