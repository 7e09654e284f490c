package cli

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestEnsureAdminToken: serve makes an admin token on a store with none,
// and on one whose admin tokens have all expired, since nobody could use
// the API otherwise; not when a working one exists.
func TestEnsureAdminToken(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := server.IssueToken(ctx, st, "", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	first, err := ensureAdminToken(ctx, st)
	if err != nil || first == "" {
		t.Fatalf("with only an expired admin token: %q, %v; want a new token", first, err)
	}
	tok, err := st.LookupToken(ctx, server.HashToken(first))
	if err != nil || tok.Role != store.RoleAdmin || tok.Expired(time.Now()) {
		t.Fatalf("the new token: %+v, %v", tok, err)
	}
	if again, err := ensureAdminToken(ctx, st); err != nil || again != "" {
		t.Fatalf("with a working admin token: %q, %v; want none made", again, err)
	}
}
