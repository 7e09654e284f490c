package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestTokensWorker issues a worker's token with the command, finds it in
// the list and revokes it, checking the store at each step.
func TestTokensWorker(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "sb.db")
	open := func() store.Store {
		st, err := store.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st := open()
	// The worker, as the router leader writes it.
	if err := st.ApplyRouting(t.Context(), &store.RoutingWrite{Workers: []store.Worker{{ID: "bob", Activity: "offline"}}}); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append(args, "--store", url), strings.NewReader(""), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		return out.String()
	}

	secret := strings.TrimSpace(cli("tokens", "create", "--worker", "bob", "--expires-in", "2h"))
	tok, err := st.LookupToken(t.Context(), server.HashToken(secret))
	if err != nil || !strings.HasPrefix(secret, "sbw_") || tok.Role != store.RoleWorker || tok.Subject != "bob" {
		t.Fatalf("created %q: %+v %v", secret, tok, err)
	}
	if d := time.Until(tok.ExpiresAt); d < time.Hour || d > 2*time.Hour {
		t.Errorf("expires in %v, want 2h", d)
	}

	var list struct{ Tokens []server.TokenView }
	if err := json.Unmarshal([]byte(cli("tokens", "list", "--worker", "bob", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Tokens) != 1 || list.Tokens[0].ID != tok.ID || list.Tokens[0].Worker != "bob" || list.Tokens[0].ExpiresAt == nil {
		t.Fatalf("bob's tokens: %+v", list.Tokens)
	}
	if table := cli("tokens", "list"); !strings.Contains(table, tok.ID+"  worker  bob") {
		t.Errorf("table lacks bob's token %s:\n%s", tok.ID, table)
	}

	cli("tokens", "revoke", tok.ID)
	if _, err := st.LookupToken(t.Context(), server.HashToken(secret)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token still found: %v", err)
	}
}
