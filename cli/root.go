// Package cli is the switchboard command: lint, fmt, graph and version. It
// sits on top of the pipeline (lang parses, compiler checks and lowers,
// diag renders problems) and only adds what a terminal needs: finding the
// files named on the command line, choosing an output format and mapping
// the outcome to an exit status.
//
// Exit status, for every command:
//
//	0  success (lint: no errors, warnings allowed)
//	1  the sources have errors (diagnostics were printed)
//	2  usage error (unknown command or flag, bad arguments) or a file that
//	   cannot be read or written
//
// Commands write through cmd.OutOrStdout and cmd.ErrOrStderr, so tests can
// capture them; cmd/switchboard calls Main.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit statuses.
const (
	exitOK       = 0
	exitProblems = 1
	exitUsage    = 2
)

// errProblems says the sources have errors. The command has already
// printed them; Main exits with status 1 and prints nothing more.
var errProblems = errors.New("the sources have errors")

// usageError is a mistake in the command line; Main prints it with a
// pointer to --help and exits with status 2.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// silentError carries an exit status for problems the command has already
// reported (an unreadable file while other files were processed).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// New returns the root command with every subcommand attached.
func New() *cobra.Command {
	root := &cobra.Command{
		Use:   "switchboard",
		Short: "Check, format and inspect Switchboard routing flows",
		Long: `Switchboard routes conversations (messages and calls) to bots and live agents.
The routing is written in .flow files: flows (state machines run for each
conversation), queues, workflows and business hours. All the .flow files of
a directory form one program.

This command runs those flows (serve), tests them with scripted
conversations (test), checks them before you deploy them (lint), formats
them (fmt), and draws their state machines (graph).`,
		Example: `  # Check every .flow file in the current directory
  switchboard lint

  # Check a whole tree, each directory as its own program
  switchboard lint ./...

  # Rewrite files in the canonical format
  switchboard fmt -w flows/

  # Draw the "support" flow as a Mermaid diagram
  switchboard graph support flows/`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without a subcommand cobra prints the help.
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{cmd: cmd, err: err}
	})
	root.AddCommand(newLintCmd(), newFmtCmd(), newGraphCmd(), newServeCmd(), newTestCmd(), newSimulateCmd(), newImportCmd(), newTokensCmd(), newLSPCmd(), newVersionCmd())
	return root
}

// gcPercent is the garbage collector's target when GOGC is not set. Every
// command's heap is small next to the machine's memory, and at Go's default
// of 100 the collector took a tenth of serve's CPU under load and a third
// of the time of compiling a large program (BenchmarkCompile).
const gcPercent = 400

// cgroupLimits are where a container's memory limit is read: cgroup v2,
// then v1.
var cgroupLimits = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryLimit is the soft limit the collector keeps the heap under when
// GOMEMLIMIT is not set: nine tenths of the container's memory limit, or
// 0 when there is none. At GOGC=400 a heap that grows fast (a million
// timers firing, a large restore) would otherwise reach five times its
// live size and meet the container's OOM killer before the collector ran.
func memoryLimit(paths []string) int64 {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		// "max" (v2) fails to parse; v1 says "none" with a huge number.
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0
		}
		return n / 10 * 9
	}
	return 0
}

// Main runs the command line in os.Args and returns the exit status.
func Main() int {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if n := memoryLimit(cgroupLimits); n > 0 {
			debug.SetMemoryLimit(n)
		}
	}
	return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// run executes one command line with the given streams.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := New()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var (
		silent *silentError
		usage  *usageError
	)
	switch {
	case errors.Is(err, errProblems):
		return exitProblems
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", usage.cmd.CommandPath())
	case strings.HasPrefix(err.Error(), "unknown command"):
		// cobra's own check, with its "did you mean" suggestions.
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "switchboard: %v\n", strings.TrimRight(err.Error(), "\n"))
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	default:
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
	}
	return exitUsage
}

// argsUsage wraps a cobra argument check so its failure is a usage error.
func argsUsage(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{cmd: cmd, err: err}
		}
		return nil
	}
}

// formatFlag is a string flag restricted to a set of values; a bad value
// is a usage error when the flags are parsed.
type formatFlag struct {
	value   string
	allowed []string
}

var _ pflag.Value = (*formatFlag)(nil)

func (f *formatFlag) String() string { return f.value }
func (f *formatFlag) Type() string   { return "string" }
func (f *formatFlag) Set(s string) error {
	for _, a := range f.allowed {
		if s == a {
			f.value = s
			return nil
		}
	}
	return fmt.Errorf("unknown format %q (want %s)", s, strings.Join(f.allowed, ", "))
}
