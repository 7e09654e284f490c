package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
)

func newLintCmd() *cobra.Command {
	format := &formatFlag{value: string(diag.Text), allowed: []string{string(diag.Text), string(diag.JSON), string(diag.GitHub)}}
	cmd := &cobra.Command{
		Use:   "lint [paths...]",
		Short: "Check .flow files for errors and warnings",
		Long: `Lint parses and checks .flow files the way the server does before it runs
them, and prints every problem it finds: syntax errors, unknown steps and
names, type errors in expressions, missing outcomes, loops that never wait,
and warnings such as steps that are never reached.

Each path is a file or a directory (default: the current directory):

  FILE.flow   the file, checked together with the other .flow files named
              from the same directory
  DIR         all the .flow files in DIR, checked as one program
  DIR/...     DIR and every directory below it, each directory checked as
              its own program (testdata and directories starting with "."
              or "_" are skipped); ./... is the current tree
  FILE.md     each ` + "```flow" + ` fenced block in the Markdown file, each block
              checked on its own

Diagnostics go to standard output, a one-line summary to standard error.

Exit status: 0 when there are no errors (warnings are allowed), 1 when
there is at least one error, 2 on a usage error or a path that cannot be
read.`,
		Example: `  # Check the program in the current directory
  switchboard lint

  # Check every directory below the current one
  switchboard lint ./...

  # Check the examples in the documentation
  switchboard lint docs/LANGUAGE.md

  # Annotate a pull request from GitHub Actions
  switchboard lint --format github ./...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLint(cmd, args, diag.Format(format.value))
		},
	}
	cmd.Flags().Var(format, "format", "output format: text, json or github")
	return cmd
}

func runLint(cmd *cobra.Command, args []string, format diag.Format) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(args) == 0 {
		args = []string{"."}
	}
	inputs, errs := expand(args, loadOptions{})
	for _, err := range errs {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
	}
	ioFailed := len(errs) > 0

	var (
		all     diag.List
		sources = diag.Sources{}
		order   []string                         // program directories, first seen first
		groups  = map[string][]compiler.Source{} // directory → its .flow files
		nfiles  int
	)
	for _, in := range inputs {
		src, err := os.ReadFile(in.path)
		if err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			ioFailed = true
			continue
		}
		nfiles++
		sources[in.path] = src
		if in.md {
			all.Append(lintMarkdown(in.path, src))
			continue
		}
		if _, ok := groups[in.dir]; !ok {
			order = append(order, in.dir)
		}
		groups[in.dir] = append(groups[in.dir], compiler.Source{Name: in.path, Src: src})
	}
	for _, dir := range order {
		_, list := compiler.CompileSources(groups[dir], compiler.Options{})
		for _, d := range list {
			if d.Span.File == "" {
				d.Span.File = dir // a problem with no position (an internal error)
			}
		}
		all.Append(list)
	}
	all.Sort()

	wd, _ := os.Getwd()
	if err := diag.Write(stdout, all, sources, diag.Options{Format: format, Cwd: wd}); err != nil {
		return err
	}
	if format == diag.Text && (nfiles > 0 || !ioFailed) {
		errors, warnings := all.Count()
		fmt.Fprintf(stderr, "%s, %s in %s\n", plural(errors, "error"), plural(warnings, "warning"), plural(nfiles, "file"))
	}
	switch {
	case ioFailed:
		return &silentError{code: exitUsage}
	case all.HasErrors():
		return errProblems
	}
	return nil
}

// lintMarkdown checks each ```flow block of a Markdown file as a program
// of its own and returns the diagnostics positioned in the Markdown file.
func lintMarkdown(path string, md []byte) diag.List {
	var out diag.List
	for _, b := range flowBlocks(md) {
		_, list := compiler.CompileSources([]compiler.Source{{Name: path, Src: b.src}}, compiler.Options{})
		for _, d := range list {
			if d.Span.File == "" {
				d.Span.File = path
			}
		}
		b.relocate(list)
		out.Append(list)
	}
	return out
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
