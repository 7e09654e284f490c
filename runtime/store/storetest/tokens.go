package storetest

import (
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

func testTokens(t *testing.T, s store.Store) {
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0, Workers: []store.Worker{{ID: "w1", Activity: "offline"}}}))
	noErr(t, s.CreateToken(ctx(t), store.Token{Hash: "h-admin", Role: store.RoleAdmin}))
	noErr(t, s.CreateToken(ctx(t), store.Token{ID: "tok-w1", Hash: "h-w1", Role: store.RoleWorker, Subject: "w1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	for _, c := range []struct {
		name string
		tok  store.Token
		want error
	}{
		{"same hash", store.Token{Hash: "h-w1", Role: store.RoleWorker, Subject: "w1"}, store.ErrExists},
		{"same id", store.Token{ID: "tok-w1", Hash: "h-other", Role: store.RoleAdmin}, store.ErrExists},
		{"unknown role", store.Token{Hash: "h-x", Role: "root"}, store.ErrInvalid},
		{"no hash", store.Token{Role: store.RoleAdmin}, store.ErrInvalid},
		{"no such worker", store.Token{Hash: "h-w9", Role: store.RoleWorker, Subject: "w9"}, store.ErrNotFound},
	} {
		isErr(t, s.CreateToken(ctx(t), c.tok), c.want)
	}
	tok := must[store.Token](t)(s.LookupToken(ctx(t), "h-w1"))
	if tok.ID != "tok-w1" || tok.Role != store.RoleWorker || tok.Subject != "w1" || !tok.LastUsedAt.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	timeEq(t, "CreatedAt", tok.CreatedAt, t0)
	timeEq(t, "ExpiresAt", tok.ExpiresAt, t0.Add(time.Hour))
	adm := must[store.Token](t)(s.LookupToken(ctx(t), "h-admin"))
	if adm.Role != store.RoleAdmin || adm.CreatedAt.IsZero() || !adm.ExpiresAt.IsZero() || adm.ID == "" || adm.ID == adm.Hash {
		t.Fatalf("admin token %+v", adm)
	}
	_, err := s.LookupToken(ctx(t), "nope")
	isErr(t, err, store.ErrNotFound)
	all := must[[]store.Token](t)(s.ListTokens(ctx(t)))
	if len(all) != 2 || all[0].ID != adm.ID || all[1].ID != "tok-w1" { // oldest first: t0 is years ahead
		t.Fatalf("tokens %+v", all)
	}
	noErr(t, s.DeleteToken(ctx(t), "tok-w1"))
	isErr(t, s.DeleteToken(ctx(t), "tok-w1"), store.ErrNotFound)
	isErr(t, s.DeleteToken(ctx(t), "h-admin"), store.ErrNotFound) // by id, never by hash
	_, err = s.LookupToken(ctx(t), "h-w1")
	isErr(t, err, store.ErrNotFound)
}

// testTokensOfWorkers checks that a worker token belongs to the worker it
// was issued for, not to its id: deleting the worker deletes it, and a new
// worker with the same id does not inherit it.
func testTokensOfWorkers(t *testing.T, s store.Store) {
	bob := store.Worker{ID: "bob", Activity: "offline"}
	ann := store.Worker{ID: "ann", Activity: "offline"}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0, Workers: []store.Worker{bob, ann}}))
	noErr(t, s.CreateToken(ctx(t), store.Token{ID: "bob-1", Hash: "h-bob-1", Role: store.RoleWorker, Subject: "bob"}))
	noErr(t, s.CreateToken(ctx(t), store.Token{ID: "ann-1", Hash: "h-ann-1", Role: store.RoleWorker, Subject: "ann"}))
	// Changing a worker keeps its tokens.
	bob.Name = "Bob"
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0.Add(time.Second), Workers: []store.Worker{bob}}))
	must[store.Token](t)(s.LookupToken(ctx(t), "h-bob-1"))

	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0.Add(2 * time.Second), DeleteWorkers: []string{"bob"}}))
	_, err := s.LookupToken(ctx(t), "h-bob-1")
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteToken(ctx(t), "bob-1"), store.ErrNotFound) // deleted with its worker
	isErr(t, s.CreateToken(ctx(t), store.Token{Hash: "h-bob-2", Role: store.RoleWorker, Subject: "bob"}), store.ErrNotFound)

	// A new bob is a new worker: the old token stays dead, new ones work.
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0.Add(3 * time.Second), Workers: []store.Worker{bob}}))
	_, err = s.LookupToken(ctx(t), "h-bob-1")
	isErr(t, err, store.ErrNotFound)
	noErr(t, s.CreateToken(ctx(t), store.Token{ID: "bob-2", Hash: "h-bob-2", Role: store.RoleWorker, Subject: "bob"}))

	// Deleted and created again in one write: a new worker too.
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0.Add(4 * time.Second), DeleteWorkers: []string{"bob"}, Workers: []store.Worker{bob}}))
	must[store.Worker](t)(s.GetWorker(ctx(t), "bob"))
	_, err = s.LookupToken(ctx(t), "h-bob-2")
	isErr(t, err, store.ErrNotFound)

	// ann's token never moved.
	if tok := must[store.Token](t)(s.LookupToken(ctx(t), "h-ann-1")); tok.Subject != "ann" {
		t.Fatalf("ann's token %+v", tok)
	}
	all := must[[]store.Token](t)(s.ListTokens(ctx(t)))
	if len(all) != 1 || all[0].ID != "ann-1" {
		t.Fatalf("tokens %+v, want ann's only", all)
	}
}

func testTouchTokens(t *testing.T, s store.Store) {
	noErr(t, s.CreateToken(ctx(t), store.Token{ID: "a", Hash: "h-a", Role: store.RoleAdmin, CreatedAt: t0}))
	noErr(t, s.CreateToken(ctx(t), store.Token{ID: "b", Hash: "h-b", Role: store.RoleAdmin, CreatedAt: t0}))
	noErr(t, s.TouchTokens(ctx(t), nil))
	noErr(t, s.TouchTokens(ctx(t), map[string]time.Time{"a": t0.Add(time.Minute), "gone": t0}))
	noErr(t, s.TouchTokens(ctx(t), map[string]time.Time{"a": t0.Add(time.Second), "b": t0.Add(2 * time.Minute)})) // a's older time is ignored
	timeEq(t, "a used", must[store.Token](t)(s.LookupToken(ctx(t), "h-a")).LastUsedAt, t0.Add(time.Minute))
	timeEq(t, "b used", must[store.Token](t)(s.LookupToken(ctx(t), "h-b")).LastUsedAt, t0.Add(2*time.Minute))
}
