package cli

import (
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/lsp"
)

func newLSPCmd() *cobra.Command {
	var (
		logPath  string
		verbose  bool
		debounce time.Duration
	)
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Run the language server for .flow files (for editors)",
		Long: `Lsp runs the Switchboard language server: an editor starts it and speaks the
Language Server Protocol with it on standard input and output. It reports
lint's diagnostics as you type, and offers hover, go to definition, find
references, completion, rename, document symbols, formatting (as fmt) and
quick fixes for "did you mean" hints.

A document belongs to the program of its directory: every .flow file
directly in it, open ones as the editor has them, the others as they are on
disk (as "switchboard lint DIR" reads them). .flowtest files get the
diagnostics of their parser. docs/LSP.md describes the server.

The protocol owns standard output: the server's own log goes to standard
error with -v, or to --log FILE: a line per analysis with its duration.`,
		Example: `  # What an editor runs
  switchboard lsp

  # Keep a log of every analysis while debugging an editor setup
  switchboard lsp -v --log /tmp/switchboard-lsp.log`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out io.Writer
			if verbose {
				out = cmd.ErrOrStderr()
			}
			if logPath != "" {
				f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return usagef(cmd, "--log: %v", err)
				}
				defer f.Close()
				out = f
			}
			return lsp.New(lsp.Options{Log: out, Debounce: debounce, Version: version()}).RunStdio()
		},
	}
	cmd.Flags().StringVar(&logPath, "log", "", "append the server's log to `FILE` instead of standard error")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every analysis to standard error")
	cmd.Flags().DurationVar(&debounce, "debounce", lsp.DefaultDebounce, "wait this long after a change before publishing diagnostics")
	return cmd
}
