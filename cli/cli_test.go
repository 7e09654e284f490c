package cli

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// The scripts in testdata/script run the switchboard command as a
// subprocess (testscript re-executes this test binary). Besides the usual
// testscript commands they have
//
//	status N CMD [ARGS...]
//
// which runs CMD like exec and fails unless it exits with status N, so
// the scripts can tell diagnostics (1) from usage errors (2).
//
// Run with UPDATE_SCRIPTS=1 to rewrite the expected output in the scripts
// after an intended change of the diagnostics, and review the diff.

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"switchboard": func() { os.Exit(Main()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		RequireExplicitExec: true,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"status": cmdStatus},
	})
}

func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N CMD [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: bad exit status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("status: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// TestDiffLines checks on random inputs that the edit script turns a into
// b and is as short as possible (it keeps a longest common subsequence).
func TestDiffLines(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	randLines := func() []string {
		lines := make([]string, r.IntN(12))
		for i := range lines {
			lines[i] = string(rune('a' + r.IntN(4)))
		}
		return lines
	}
	for range 3000 {
		a, b := randLines(), randLines()
		ai, bi, kept := 0, 0, 0
		for _, e := range diffLines(a, b) {
			if e.ai != ai || e.bi != bi {
				t.Fatalf("diff(%q, %q): edit %c at %d,%d, want %d,%d", a, b, e.kind, e.ai, e.bi, ai, bi)
			}
			switch e.kind {
			case ' ':
				if a[ai] != b[bi] {
					t.Fatalf("diff(%q, %q): keeps %q as %q", a, b, a[ai], b[bi])
				}
				ai, bi, kept = ai+1, bi+1, kept+1
			case '-':
				ai++
			case '+':
				bi++
			}
		}
		if ai != len(a) || bi != len(b) {
			t.Fatalf("diff(%q, %q): stops at %d,%d", a, b, ai, bi)
		}
		if want := lcs(a, b); kept != want {
			t.Fatalf("diff(%q, %q): keeps %d lines, want %d", a, b, kept, want)
		}
	}
}

func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	for i := range a {
		cur := make([]int, len(b)+1)
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev = cur
	}
	return prev[len(b)]
}

func TestUnifiedDiff(t *testing.T) {
	var old, new strings.Builder
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&old, "line %d\n", i)
		switch i {
		case 2:
			new.WriteString("line two\n")
		case 18:
		default:
			fmt.Fprintf(&new, "line %d\n", i)
		}
	}
	old.WriteString("last")
	new.WriteString("last\n")
	got := unifiedDiff("a.flow.orig", "a.flow", []byte(old.String()), []byte(new.String()))
	want := `--- a.flow.orig
+++ a.flow
@@ -1,5 +1,5 @@
 line 1
-line 2
+line two
 line 3
 line 4
 line 5
@@ -15,7 +15,6 @@
 line 15
 line 16
 line 17
-line 18
 line 19
 line 20
-last
\ No newline at end of file
+last
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := unifiedDiff("x", "y", []byte("same\n"), []byte("same\n")); got != "" {
		t.Errorf("equal inputs: got %q", got)
	}
	if got, want := unifiedDiff("x", "y", nil, []byte("new\n")), "--- x\n+++ y\n@@ -0,0 +1 @@\n+new\n"; got != want {
		t.Errorf("from empty: got %q, want %q", got, want)
	}
}

func TestMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name  string
		paths []string
		want  int64
	}{
		{"v2 limit", []string{write("v2", "1073741824\n")}, 966367638},
		{"v2 max", []string{write("v2max", "max\n"), write("v1", "536870912\n")}, 0},
		{"v1 limit after a missing v2", []string{missing, write("v1b", "536870912\n")}, 483183819},
		{"v1 none", []string{missing, write("v1none", "9223372036854771712\n")}, 0},
		{"no cgroup", []string{missing}, 0},
	} {
		if got := memoryLimit(tc.paths); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
