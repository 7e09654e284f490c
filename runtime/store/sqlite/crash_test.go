package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/internal/killtest"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlite"
)

// The crash test's child process is this test binary again, told by these
// variables to run TestCrashChild against the parent's database.
const (
	envCrashDB    = "SWITCHBOARD_CRASH_CHILD_DB"
	envCrashConvs = "SWITCHBOARD_CRASH_CHILD_CONVERSATIONS"
)

// crashUnit is unit i of the crash test: the inbound message crash-i, a new
// (ended) execution x-i and its effect, all or nothing.
func crashUnit(conv string, i int) *store.Unit {
	key := "crash-" + strconv.Itoa(i)
	return &store.Unit{
		Inbound: &store.Message{ID: "m-" + strconv.Itoa(i), ConversationID: conv, Connector: "custom", Instance: "default",
			PlatformMessageID: key, Text: "message " + strconv.Itoa(i)},
		Execution: &store.ExecutionWrite{Execution: store.Execution{ID: "x-" + strconv.Itoa(i), ConversationID: conv,
			Flow: "support", ProgramVersion: "v1", Status: store.ExecutionEnded, Payload: json.RawMessage(`{"i":` + strconv.Itoa(i) + `}`)}},
		Effects: []store.Effect{{ID: "e-" + strconv.Itoa(i), ExecutionID: "x-" + strconv.Itoa(i), Kind: "send", IdempotencyKey: key}},
	}
}

// TestCrashChild is the child half of TestCrashSafety: it submits units
// through a GroupCommitter from many goroutines and prints "ack N" for each
// unit whose Submit returned Committed, until the parent kills it (or, to
// stop by itself, after a bounded number of units or a minute).
func TestCrashChild(t *testing.T) {
	path := os.Getenv(envCrashDB)
	if path == "" {
		t.Skip("the child of TestCrashSafety")
	}
	convs := strings.Split(os.Getenv(envCrashConvs), ",")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	g := store.NewGroupCommitter(s, store.GroupOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var next atomic.Int64
	var out sync.Mutex
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1))
				if i > 500_000 {
					return
				}
				r, err := g.Submit(ctx, crashUnit(convs[i%len(convs)], i))
				if err != nil || r.Outcome != store.Committed {
					fmt.Fprintf(os.Stderr, "unit %d: %v %v\n", i, r.Outcome, err)
					return
				}
				out.Lock()
				// Unbuffered: the line is in the pipe before the next Submit.
				fmt.Fprintf(os.Stdout, "ack %d\n", i)
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashSafety kills (SIGKILL) a process in the middle of group commits
// and checks that every unit it acknowledged is stored exactly once after a
// reopen, and that every stored unit is whole.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var convs []string
	for i := range 16 {
		c, err := s.ResolveContact(ctx, "custom", "crash-"+strconv.Itoa(i), "")
		if err != nil {
			t.Fatal(err)
		}
		cv, err := s.OpenConversation(ctx, c.ID, "custom", "default")
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, cv.ID)
	}
	s.Close()

	const killAfter = 1500 // acknowledged units before the kill
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDB+"="+path, envCrashConvs+"="+strings.Join(convs, ","))
	acked := map[int]bool{}
	for _, i := range killtest.Run(t, cmd, "ack ", killAfter) {
		acked[i] = true
	}
	t.Logf("killed the child after %d acknowledged units", len(acked))

	// Reopen: the WAL is recovered; nothing acknowledged may be missing.
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range acked {
		key := "crash-" + strconv.Itoa(i)
		m, err := s.FindMessage(ctx, "custom", "default", key)
		if err != nil {
			t.Fatalf("acknowledged unit %d: message: %v", i, err)
		}
		if m.ID != "m-"+strconv.Itoa(i) {
			t.Fatalf("acknowledged unit %d: message %s", i, m.ID)
		}
		if _, err := s.GetExecution(ctx, "x-"+strconv.Itoa(i)); err != nil {
			t.Fatalf("acknowledged unit %d: execution: %v", i, err)
		}
		if _, err := s.GetEffect(ctx, "e-"+strconv.Itoa(i)); err != nil {
			t.Fatalf("acknowledged unit %d: effect: %v", i, err)
		}
	}
	// Every stored unit is whole and stored once (units committed but not
	// yet acknowledged when the kill came are stored too: that is fine).
	stored := 0
	for _, cv := range convs {
		cursor := ""
		for {
			ms, next, err := s.ListMessages(ctx, cv, store.Page{After: cursor, Limit: store.MaxPageLimit})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				stored++
				i := strings.TrimPrefix(m.ID, "m-")
				if _, err := s.GetExecution(ctx, "x-"+i); err != nil {
					t.Fatalf("stored message %s without its execution: %v", m.ID, err)
				}
				if _, err := s.GetEffect(ctx, "e-"+i); err != nil {
					t.Fatalf("stored message %s without its effect: %v", m.ID, err)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	execs, _, err := s.ListExecutions(ctx, store.ExecutionFilter{}, store.Page{Limit: 1})
	if err != nil || len(execs) == 0 {
		t.Fatalf("executions: %v", err)
	}
	stats, err := s.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats[store.EffectPending] != stored {
		t.Fatalf("%d messages but %d effects stored", stored, stats[store.EffectPending])
	}
	if stored < len(acked) {
		t.Fatalf("%d units stored, fewer than the %d acknowledged", stored, len(acked))
	}
	t.Logf("%d units stored (%d committed after their last ack line)", stored, stored-len(acked))

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
}
