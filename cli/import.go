package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/studio"
)

func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert flows made with other tools",
		Args:  argsUsage(cobra.NoArgs),
	}
	cmd.AddCommand(newImportStudioCmd())
	return cmd
}

func newImportStudioCmd() *cobra.Command {
	var (
		out   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "studio FILE.json",
		Short: "Convert a Twilio Studio flow export to a .flow file",
		Long: `Convert a Twilio Studio flow definition (the JSON export of a flow) to
the flow language. The result is printed on standard output, or written to
the file named by -o, which must not exist yet unless --force is given.
What has no equivalent is kept as a "# TODO:" comment
above its step and listed on standard error. The result always compiles; if
it does not, the command prints why and exits with status 1.`,
		Example: `  switchboard import studio flow.json -o flows/studio.flow`,
		Args:    argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out != "" && !force {
				// Checked before converting: an edited .flow is not lost to
				// a second import of the same export.
				if _, err := os.Stat(out); err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: error: %s already exists; use --force to overwrite it\n", args[0], out)
					return errProblems
				}
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("cannot read %s: %w", args[0], unwrapPath(err))
			}
			src, warnings, err := studio.Convert(data)
			stderr := cmd.ErrOrStderr()
			for _, w := range warnings {
				fmt.Fprintf(stderr, "%s: warning: %s\n", args[0], w)
			}
			if err != nil {
				var ce *studio.CompileError
				if errors.As(err, &ce) {
					fmt.Fprintf(stderr, "%s: error: %s\n", args[0], "the converted flow does not compile:")
					_ = diag.Write(stderr, ce.Diags, diag.Sources{"studio.flow": ce.Src}, diag.Options{})
				} else {
					fmt.Fprintf(stderr, "%s: error: %v\n", args[0], err)
				}
				return errProblems
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(src)
				return err
			}
			if err := os.WriteFile(out, src, 0o644); err != nil {
				return fmt.Errorf("cannot write %s: %w", out, unwrapPath(err))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the flow to `FILE` instead of standard output")
	cmd.Flags().BoolVar(&force, "force", false, "with -o, overwrite FILE if it exists")
	return cmd
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
