// Package killtest runs a test's child process that reports its progress
// on standard output, and kills it with SIGKILL part-way: the tests that
// prove nothing acknowledged is lost when a process dies mid-work.
package killtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Run starts cmd and reads the numbers it prints on lines that start with
// prefix (other lines, the test framework's own, are skipped). After the
// killAfter-th it kills the child with SIGKILL, and goes on reading what
// was already in the pipe: those numbers count too. It returns every number
// read, in order, and fails t if the child ended on its own.
func Run(t testing.TB, cmd *exec.Cmd, prefix string, killAfter int) []int {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var printed []int
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		s, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("child printed %q", sc.Text())
		}
		printed = append(printed, n)
		if len(printed) == killAfter && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child ended after %d lines without being killed: %v\n%s", len(printed), err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed: %v\n%s", err, stderr.String())
	}
	return printed
}
