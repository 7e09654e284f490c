package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// stdinName names standard input in diagnostics and listings.
const stdinName = "<standard input>"

type fmtFlags struct {
	write, diff, list, check bool
}

func newFmtCmd() *cobra.Command {
	var flags fmtFlags
	cmd := &cobra.Command{
		Use:   "fmt [-w] [-d] [-l] [--check] [paths...]",
		Short: "Rewrite .flow files in the canonical format",
		Long: `Fmt prints .flow files in the one canonical layout: indentation, spacing
around operators, blank lines and comments placed the same way everywhere.
Formatting never changes what a program means, and formatting a formatted
file changes nothing.

Paths are files, directories (their .flow files) or DIR/... (the .flow
files of DIR and every directory below it). With no path, fmt reads
standard input and writes the result to standard output.

By default the formatted text is printed to standard output. The flags
change that (they may be combined):

  -l  list the files whose formatting differs from the canonical one
  -d  print the changes as a unified diff
  -w  write the result back to the files that change
  --check  list the files whose formatting differs, change nothing, and
           exit with status 1 when there is one (for CI); with -d, print
           their diffs too

A file with a syntax error is left alone: its errors are printed to
standard error, the other files are still formatted, and fmt exits with
status 1. A path that cannot be read or written gives status 2.`,
		Example: `  # Show what would change in the current directory
  switchboard fmt -d .

  # Format every .flow file of the tree in place
  switchboard fmt -w ./...

  # Fail a CI job when a file is not formatted
  switchboard fmt --check ./...

  # Format from an editor, through a pipe
  switchboard fmt < flows/support.flow`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if flags.check && flags.write {
				return usagef(cmd, "--check changes nothing: it cannot be used with -w")
			}
			if flags.check {
				flags.list = true
			}
			return runFmt(cmd, args, flags)
		},
	}
	cmd.Flags().BoolVarP(&flags.write, "write", "w", false, "write the result to the file instead of standard output")
	cmd.Flags().BoolVarP(&flags.diff, "diff", "d", false, "print a unified diff of the changes instead of the result")
	cmd.Flags().BoolVarP(&flags.list, "list", "l", false, "list files whose formatting differs instead of printing the result")
	cmd.Flags().BoolVar(&flags.check, "check", false, "list files whose formatting differs and exit with status 1 if there is any")
	return cmd
}

func runFmt(cmd *cobra.Command, args []string, flags fmtFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(args) == 0 {
		if flags.write {
			return usagef(cmd, "cannot use -w with standard input; name the files to rewrite")
		}
		src, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return err
		}
		ok, changed, err := formatOne(stdout, stderr, stdinName, src, nil, flags)
		if err != nil {
			return err
		}
		if !ok || flags.check && changed {
			return errProblems
		}
		return nil
	}

	inputs, errs := expand(args, loadOptions{allowEmpty: true})
	code := exitOK
	for _, err := range errs {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		code = exitUsage
	}
	for _, in := range inputs {
		if in.md {
			fmt.Fprintf(stderr, "switchboard: %s: fmt formats .flow files, not Markdown\n", in.path)
			code = exitUsage
			continue
		}
		src, err := os.ReadFile(in.path)
		if err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			code = exitUsage
			continue
		}
		write := func(out []byte) error { return writeFile(in.path, out) }
		if !flags.write {
			write = nil
		}
		ok, changed, err := formatOne(stdout, stderr, in.path, src, write, flags)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			code = exitUsage
		case (!ok || flags.check && changed) && code == exitOK:
			code = exitProblems
		}
	}
	switch code {
	case exitOK:
		return nil
	case exitProblems:
		return errProblems
	}
	return &silentError{code: code}
}

// formatOne formats src and reports according to flags; write, when not
// nil, stores the result. It returns ok false when src has syntax errors
// (printed to stderr, nothing else done), changed when the formatted text
// differs from src, and the error from writing.
func formatOne(stdout, stderr io.Writer, name string, src []byte, write func([]byte) error, flags fmtFlags) (ok, changed bool, err error) {
	out, list := lang.FormatSource(name, src)
	if list.HasErrors() {
		list.Sort()
		wd, _ := os.Getwd()
		return false, false, diag.Write(stderr, list, diag.Sources{name: src}, diag.Options{Format: diag.Text, Cwd: wd})
	}
	changed = !bytes.Equal(src, out)
	if !flags.write && !flags.diff && !flags.list {
		_, err = stdout.Write(out)
		return true, changed, err
	}
	if !changed {
		return true, false, nil
	}
	if flags.list {
		if _, err := fmt.Fprintln(stdout, name); err != nil {
			return true, true, err
		}
	}
	if flags.diff {
		if _, err := io.WriteString(stdout, unifiedDiff(name+".orig", name, src, out)); err != nil {
			return true, true, err
		}
	}
	if write != nil {
		return true, true, write(out)
	}
	return true, true, nil
}

// writeFile replaces the content of path, keeping its permissions.
func writeFile(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, fi.Mode().Perm())
}
