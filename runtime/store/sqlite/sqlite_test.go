package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlite"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

func open(tb testing.TB) store.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "switchboard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkGroupCommit(b *testing.B) {
	storetest.BenchGroupCommit(b, func(b *testing.B) store.Store { return open(b) })
}

func BenchmarkCommit(b *testing.B) {
	storetest.BenchCommit(b, func(b *testing.B) store.Store { return open(b) })
}

func BenchmarkWaitingSteps(b *testing.B) {
	storetest.BenchWaitingSteps(b, func(b *testing.B) store.Store { return open(b) })
}

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	for _, url := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		filepath.Join(dir, "c.db"),
	} {
		s, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if _, ok := s.(*sqlite.Store); !ok {
			t.Fatalf("Open(%q) = %T", url, s)
		}
		s.Close()
	}
	if _, err := store.Open(context.Background(), "mysql://x"); err == nil {
		t.Fatal("unknown scheme opened")
	}
	if _, err := store.Open(context.Background(), filepath.Join(dir, "missing-dir", "x.db")); err == nil {
		t.Fatal("a path in a missing directory opened")
	}
}

func BenchmarkCommitNewContacts(b *testing.B) {
	storetest.BenchCommitNewContacts(b, func(b *testing.B) store.Store { return open(b) })
}

func BenchmarkInboundReads(b *testing.B) {
	storetest.BenchInboundReads(b, func(b *testing.B) store.Store { return open(b) })
}
