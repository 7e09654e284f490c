package lsp

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestPublishOnce checks an analysis is published once: runs scheduled
// by several quick changes all get the newest analysis, and only the
// first may send it, or a copy arrives after the editor's next change
// and shows problems that change had fixed.
func TestPublishOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.flow")
	if err := os.WriteFile(path, []byte("flow f {\n  s: send \"x\" -> done\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Debounce: -1})
	var mu sync.Mutex
	var sent []string
	s.notify = func(method string, params any) {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, method)
	}
	s.dirs[dir] = &dirState{gen: 3}
	for range 3 {
		s.publishDir(dir) // as the runs of three changes do, late
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 1 {
		t.Errorf("%d publications of one analysis of one file, want 1: %v", len(sent), sent)
	}
}
