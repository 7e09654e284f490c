package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/compiler"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of switchboard and of its compiler",
		Long: `Version prints the version of this switchboard binary and the version of
its compiler's output format. A running execution is tied to the compiler
format that built its program, so the format tells whether a new binary can
resume the executions of an old one.

The binary's version is the module version it was built from ("devel" for
a build from a source checkout).`,
		Example: `  switchboard version`,
		Args:    argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "switchboard %s (compiler %s)\n", version(), compiler.Version)
			return err
		},
	}
}

// version returns the main module's version from the build information,
// or "devel".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return info.Main.Version
}
