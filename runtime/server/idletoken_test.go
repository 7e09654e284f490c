package server

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// countingTokens counts the store's token reads.
type countingTokens struct {
	store.Store
	lookups, lists atomic.Int32
}

func (c *countingTokens) LookupToken(ctx context.Context, hash string) (store.Token, error) {
	c.lookups.Add(1)
	return c.Store.LookupToken(ctx, hash)
}

func (c *countingTokens) ListTokens(ctx context.Context) ([]store.Token, error) {
	c.lists.Add(1)
	return c.Store.ListTokens(ctx)
}

// TestIdleTokenGone: an idle stream's check reads the live tokens once for
// every stream, and looks up only a token the snapshot does not hold.
func TestIdleTokenGone(t *testing.T) {
	ctx := context.Background()
	inner, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	workers := []store.Worker{{ID: "ana", Activity: "available"}, {ID: "budi", Activity: "available"}, {ID: "chen", Activity: "available"}}
	if err := inner.ApplyRouting(ctx, &store.RoutingWrite{At: time.Now(), Workers: workers}); err != nil {
		t.Fatal(err)
	}
	issue := func(worker string, expires time.Time) store.Token {
		_, tok, err := IssueToken(ctx, inner, worker, expires)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	live, expired, revoked := issue("ana", time.Time{}), issue("budi", time.Now().Add(-time.Minute)), issue("chen", time.Time{})
	if err := inner.DeleteToken(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	st := &countingTokens{Store: inner}
	s := &Server{cfg: Config{Store: st}}
	later := issue("ana", time.Time{}) // left out of the snapshot below, as if issued after it
	tests := []struct {
		name    string
		hash    string
		want    string
		lookups int32 // the store's lookups so far
	}{
		{"a live token", live.Hash, "", 0},
		{"the same again", live.Hash, "", 0},
		{"an expired token", expired.Hash, "token expired", 0},
		{"a revoked token", revoked.Hash, "token revoked", 1},
		{"a token issued after the snapshot", later.Hash, "", 2},
	}
	for _, tc := range tests {
		if tc.hash == later.Hash {
			s.tokenSnap.byHash = withoutToken(s.tokenSnap.byHash, later.Hash) // as if read before it
		}
		if got := s.idleTokenGone(tc.hash); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if n := st.lookups.Load(); n != tc.lookups {
			t.Errorf("%s: %d lookups so far, want %d", tc.name, n, tc.lookups)
		}
	}
	if n := st.lists.Load(); n != 1 {
		t.Errorf("the live tokens were listed %d times, want once", n)
	}
}

func withoutToken(m map[string]store.Token, hash string) map[string]store.Token {
	out := map[string]store.Token{}
	for h, t := range m {
		if h != hash {
			out[h] = t
		}
	}
	return out
}
