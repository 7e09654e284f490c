package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// The tokens commands work on the store itself, as serve does, not
// through the HTTP API: they are how an operator gets back in who has no
// admin token left (serve prints the first one once), and they need only
// the database, whether serve is running or not.

func newTokensCmd() *cobra.Command {
	var storeURL string
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "List, create and revoke the API's bearer tokens",
		Long: `Tokens manages the bearer tokens of the admin and agent API in the store
that serve uses (--store, the same default as serve's). An admin token may
do everything; a worker token acts as its worker, and dies with it: deleting
a worker revokes its tokens, and a new worker with the same id does not get
them.

A token's secret is printed once, by create, and only its hash is stored.
Each token has a public id (tok_…) that list shows and revoke takes. The
API offers the same at /v1/tokens.`,
		Example: `  # Who can use the API, and when each token was last used
  switchboard tokens list

  # A token for worker bob that expires in 30 days
  switchboard tokens create --worker bob --expires-in 30d

  # A new admin token, then revoke the old one
  switchboard tokens create --admin
  switchboard tokens revoke tok_01J9Z8X5V2M3K4N5P6Q7R8S9T0`,
		Args: argsUsage(cobra.NoArgs),
	}
	cmd.PersistentFlags().StringVar(&storeURL, "store", "sqlite:switchboard.db", "store: sqlite:PATH or postgres://…")
	cmd.AddCommand(newTokensListCmd(&storeURL), newTokensCreateCmd(&storeURL), newTokensRevokeCmd(&storeURL))
	return cmd
}

// openTokenStore opens the store at url. A SQLite file must exist: a
// mistyped path would otherwise create an empty database and list no
// tokens.
func openTokenStore(ctx context.Context, url string) (store.Store, error) {
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		if _, err := os.Stat(strings.SplitN(path, "?", 2)[0]); err != nil {
			return nil, fmt.Errorf("no database at %s (serve creates it; --store names another): %w", path, err)
		}
	}
	return store.Open(ctx, url)
}

func newTokensListCmd(storeURL *string) *cobra.Command {
	var worker string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tokens: id, role, worker, created, expires, last used",
		Long: `List prints every token that authenticates, or expired: its id, role,
worker, when it was created, when it expires and when it was last used.
The last use is recorded at most once a minute per token.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openTokenStore(cmd.Context(), *storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			toks, err := st.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			views := []server.TokenView{}
			for _, t := range toks {
				if worker == "" || (t.Role == store.RoleWorker && t.Subject == worker) {
					views = append(views, server.ViewToken(t, now))
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"tokens": views})
			}
			return writeTokenTable(cmd.OutOrStdout(), views)
		},
	}
	cmd.Flags().StringVar(&worker, "worker", "", "only this worker's tokens")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, as GET /v1/tokens answers")
	return cmd
}

func writeTokenTable(out io.Writer, views []server.TokenView) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tWORKER\tCREATED\tEXPIRES\tLAST USED")
	when := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, v := range views {
		expires := when(v.ExpiresAt, "never")
		if v.Expired {
			expires += " (expired)"
		}
		worker := v.Worker
		if worker == "" {
			worker = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Role, worker, v.CreatedAt.UTC().Format(time.RFC3339), expires, when(v.LastUsedAt, "never"))
	}
	return tw.Flush()
}

func newTokensCreateCmd(storeURL *string) *cobra.Command {
	var admin bool
	var worker, expiresIn, expiresAt string
	cmd := &cobra.Command{
		Use:   "create (--admin | --worker ID) [--expires-in D | --expires-at TIME]",
		Short: "Create a token and print its secret, once",
		Long: `Create makes an admin token (--admin) or a token for an existing worker
(--worker ID) and prints its secret on standard output: it is shown this
once, and only its hash is stored. Its id goes to standard error.

--expires-in takes a duration (720h, 90m) or days (30d); --expires-at an
RFC 3339 time. Without either the token does not expire.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if admin == (worker != "") {
				return usagef(cmd, "give --admin or --worker ID")
			}
			if worker != "" && !server.ValidWorkerID(worker) {
				return usagef(cmd, "--worker %q is not a worker id", worker)
			}
			expires, err := server.TokenExpiry(expiresIn, expiresAt, time.Now())
			if err != nil {
				return usagef(cmd, "%s", strings.NewReplacer("expires_in", "--expires-in", "expires_at", "--expires-at").Replace(err.Error()))
			}
			st, err := openTokenStore(cmd.Context(), *storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			secret, tok, err := server.IssueToken(cmd.Context(), st, worker, expires)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no worker %q (create it with POST /v1/workers)", worker)
			}
			if err != nil {
				return err
			}
			what := "admin token"
			if worker != "" {
				what = "token for worker " + worker
			}
			if !expires.IsZero() {
				what += ", expires " + tok.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created %s %s; the secret below is not shown again\n", tok.ID, what)
			_, err = fmt.Fprintln(cmd.OutOrStdout(), secret)
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&admin, "admin", false, "an admin token")
	f.StringVar(&worker, "worker", "", "a token for this worker")
	f.StringVar(&expiresIn, "expires-in", "", "expire after this long: 720h, 30d")
	f.StringVar(&expiresAt, "expires-at", "", "expire at this RFC 3339 time")
	return cmd
}

func newTokensRevokeCmd(storeURL *string) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID...",
		Short: "Revoke tokens by id; they stop working at once",
		Long: `Revoke deletes the tokens with those ids (as list shows them, tok_…): the
next request with one of them answers 401, on every node.`,
		Args: argsUsage(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openTokenStore(cmd.Context(), *storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			var failed error
			for _, id := range args {
				err := st.DeleteToken(cmd.Context(), id)
				switch {
				case errors.Is(err, store.ErrNotFound):
					failed = errors.Join(failed, fmt.Errorf("no token %q", id))
				case err != nil:
					return err
				default:
					fmt.Fprintf(cmd.ErrOrStderr(), "revoked %s\n", id)
				}
			}
			return failed
		},
	}
}
