package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// identityUnit creates a contact owning (webchat, address), its open
// conversation on the default instance, and stores an inbound message in it.
func identityUnit(address string) *store.Unit {
	contactID, convID := store.NewID(), store.NewID()
	u := inbound(convID, "pmid-"+store.NewID(), store.NewID(), 0)
	u.Contact = &store.NewContact{ID: contactID, Name: "Visitor " + address, Channel: "webchat", Address: address}
	u.Conversation = &store.NewConversation{ID: convID, ContactID: contactID, Channel: "webchat", Instance: "default"}
	return u
}

func testLookupIdentities(t *testing.T, s store.Store) {
	_, err := s.LookupContact(ctx(t), "webchat", "nobody")
	isErr(t, err, store.ErrNotFound)
	_, err = s.LookupContact(ctx(t), "", "x")
	isErr(t, err, store.ErrInvalid)

	a, av := conv(t, s, "la")
	b, bv := conv(t, s, "lb")
	if got := must[store.Contact](t)(s.LookupContact(ctx(t), "webchat", "la")); got.ID != a.ID || len(got.Addresses) != 1 {
		t.Fatalf("LookupContact %+v, want %s", got, a.ID)
	}
	if got := must[store.Conversation](t)(s.LookupConversation(ctx(t), a.ID, "webchat", "default")); got.ID != av.ID {
		t.Fatalf("LookupConversation %s, want %s", got.ID, av.ID)
	}
	_, err = s.LookupConversation(ctx(t), a.ID, "webchat", "other")
	isErr(t, err, store.ErrNotFound)
	_, err = s.LookupConversation(ctx(t), "missing", "webchat", "default")
	isErr(t, err, store.ErrNotFound)

	// After a merge both addresses and both ids resolve to the kept contact;
	// its two open conversations: the most recently updated one (b's, moved).
	noErr(t, s.LinkContacts(ctx(t), a.ID, b.ID))
	if got := must[store.Contact](t)(s.LookupContact(ctx(t), "webchat", "lb")); got.ID != a.ID || len(got.Addresses) != 2 {
		t.Fatalf("LookupContact after merge %+v, want %s with 2 addresses", got, a.ID)
	}
	got := must[store.Conversation](t)(s.LookupConversation(ctx(t), b.ID, "webchat", "default"))
	if got.ContactID != a.ID || got.ID != bv.ID {
		t.Fatalf("LookupConversation after merge %+v, want %s of %s", got, bv.ID, a.ID)
	}

	// Closed: not found.
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, CloseConversations: []string{av.ID, bv.ID}}), store.Committed)
	_, err = s.LookupConversation(ctx(t), a.ID, "webchat", "default")
	isErr(t, err, store.ErrNotFound)
}

func testCommitIdentities(t *testing.T, s store.Store) {
	u := identityUnit("new1")
	wantOutcomes(t, commit(t, s, u), store.Committed)
	c := must[store.Contact](t)(s.LookupContact(ctx(t), "webchat", "new1"))
	if c.ID != u.Contact.ID || c.Name != "Visitor new1" || len(c.Addresses) != 1 || c.Addresses[0] != (store.Address{Channel: "webchat", Address: "new1"}) {
		t.Fatalf("contact %+v", c)
	}
	timeEq(t, "contact created_at", c.CreatedAt, t0)
	jsonEq(t, c.Attributes, []byte(`{}`))
	v := must[store.Conversation](t)(s.LookupConversation(ctx(t), c.ID, "webchat", "default"))
	if v.ID != u.Conversation.ID || v.Status != store.ConversationOpen || v.ContactID != c.ID || v.Instance != "default" {
		t.Fatalf("conversation %+v", v)
	}
	timeEq(t, "conversation created_at", v.CreatedAt, t0)
	if n := messageCount(t, s, v.ID); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	must[store.Execution](t)(s.LiveExecution(ctx(t), v.ID))
	// ResolveContact and OpenConversation find what the unit created.
	if r := must[store.Contact](t)(s.ResolveContact(ctx(t), "webchat", "new1", "")); r.ID != c.ID {
		t.Fatalf("ResolveContact %s, want %s", r.ID, c.ID)
	}
	if r := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", "default")); r.ID != v.ID {
		t.Fatalf("OpenConversation %s, want %s", r.ID, v.ID)
	}

	// A conversation alone, for a known contact; a later unit of the batch
	// uses the conversation and contact an earlier one created.
	known, _ := conv(t, s, "known")
	cv := &store.NewConversation{ID: store.NewID(), ContactID: known.ID, Channel: "webchat", Instance: "site2"}
	u1 := inbound(cv.ID, "k1", store.NewID(), 0)
	u1.Conversation = cv
	u2 := identityUnit("new2")
	u3 := inbound(u2.Conversation.ID, "n2-second", store.NewID(), 0)
	u3.Execution = nil
	u3.Tasks = []store.Task{{ID: store.NewID(), ConversationID: u2.Conversation.ID, ContactID: u2.Contact.ID, Workflow: "support"}}
	wantOutcomes(t, commit(t, s, u1, u2, u3), store.Committed, store.Committed, store.Committed)
	if got := must[store.Conversation](t)(s.LookupConversation(ctx(t), known.ID, "webchat", "site2")); got.ID != cv.ID {
		t.Fatalf("conversation %s, want %s", got.ID, cv.ID)
	}
	if n := messageCount(t, s, u2.Conversation.ID); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}

	// A conversation for an unknown contact fails; for a merged one it conflicts.
	bad := inbound(store.NewID(), "bad", store.NewID(), 0)
	bad.Conversation = &store.NewConversation{ID: bad.Inbound.ConversationID, ContactID: "missing", Channel: "webchat", Instance: "default"}
	wantOutcomes(t, commit(t, s, bad), store.Failed)
	m, _ := conv(t, s, "merged")
	noErr(t, s.LinkContacts(ctx(t), known.ID, m.ID))
	mu := &store.Unit{At: t0, Conversation: &store.NewConversation{ID: store.NewID(), ContactID: m.ID, Channel: "webchat", Instance: "site3"}}
	res := commit(t, s, mu)
	wantOutcomes(t, res, store.Conflict)
	if res[0].Reason != store.ReasonContactMerged {
		t.Fatalf("reason %q, want %q", res[0].Reason, store.ReasonContactMerged)
	}
	// Invalid identities fail validation.
	wantOutcomes(t, commit(t, s, &store.Unit{Contact: &store.NewContact{ID: store.NewID(), Channel: "webchat"}}), store.Failed)
}

// notWritten checks that nothing of a conflicting identity unit is stored.
func notWritten(t *testing.T, s store.Store, u *store.Unit) {
	t.Helper()
	_, err := s.GetContact(ctx(t), u.Contact.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetConversation(ctx(t), u.Conversation.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.FindMessage(ctx(t), u.Inbound.Connector, u.Inbound.Instance, u.Inbound.PlatformMessageID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetExecution(ctx(t), u.Execution.Execution.ID)
	isErr(t, err, store.ErrNotFound)
}

func wantReason(t *testing.T, r store.UnitResult, reason string) {
	t.Helper()
	if r.Outcome != store.Conflict || r.Reason != reason {
		t.Fatalf("result %+v, want Conflict %q", r, reason)
	}
}

func testCommitIdentityConflicts(t *testing.T, s store.Store) {
	// Two units of one batch claim the same new address: the first wins.
	u1, u2 := identityUnit("same"), identityUnit("same")
	res := commit(t, s, u1, u2)
	wantOutcomes(t, res, store.Committed, store.Conflict)
	wantReason(t, res[1], store.ReasonAddressTaken)
	notWritten(t, s, u2)
	if c := must[store.Contact](t)(s.LookupContact(ctx(t), "webchat", "same")); c.ID != u1.Contact.ID {
		t.Fatalf("address owned by %s, want %s", c.ID, u1.Contact.ID)
	}
	// An address already stored (here by ResolveContact).
	must[store.Contact](t)(s.ResolveContact(ctx(t), "webchat", "resolved", ""))
	u3 := identityUnit("resolved")
	res = commit(t, s, u3)
	wantReason(t, res[0], store.ReasonAddressTaken)
	notWritten(t, s, u3)

	// Two units open a conversation for the same contact: the first wins;
	// also against one stored before (by OpenConversation).
	c := must[store.Contact](t)(s.ResolveContact(ctx(t), "webchat", "c1", ""))
	mk := func(instance string) *store.Unit {
		id := store.NewID()
		u := inbound(id, "p-"+store.NewID(), store.NewID(), 0)
		u.Conversation = &store.NewConversation{ID: id, ContactID: c.ID, Channel: "webchat", Instance: instance}
		return u
	}
	v1, v2 := mk("default"), mk("default")
	res = commit(t, s, v1, v2)
	wantOutcomes(t, res, store.Committed, store.Conflict)
	wantReason(t, res[1], store.ReasonConversationExists)
	if got := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", "default")); got.ID != v1.Conversation.ID {
		t.Fatalf("open conversation %s, want %s", got.ID, v1.Conversation.ID)
	}
	_, err := s.GetConversation(ctx(t), v2.Conversation.ID)
	isErr(t, err, store.ErrNotFound)
	must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", "site9"))
	v3 := mk("site9")
	wantReason(t, commit(t, s, v3)[0], store.ReasonConversationExists)
	_, err = s.GetConversation(ctx(t), v3.Conversation.ID)
	isErr(t, err, store.ErrNotFound)
	// Once closed, a new one can be opened.
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, CloseConversations: []string{v1.Conversation.ID}}), store.Committed)
	wantOutcomes(t, commit(t, s, mk("default")), store.Committed)
	// A conversation opened Beside (a phone call) joins the open ones, in
	// one batch as in two.
	b1, b2, b3 := mk("default"), mk("default"), mk("default")
	for _, u := range []*store.Unit{b1, b2, b3} {
		u.Conversation.Beside = true
	}
	wantOutcomes(t, commit(t, s, b1, b2), store.Committed, store.Committed)
	wantOutcomes(t, commit(t, s, b3), store.Committed)
	for _, u := range []*store.Unit{b1, b2, b3} {
		if got := must[store.Conversation](t)(s.GetConversation(ctx(t), u.Conversation.ID)); got.Status != store.ConversationOpen {
			t.Fatalf("conversation opened beside the others: %+v", got)
		}
	}
}

func testCommitIdentityConcurrent(t *testing.T, s store.Store) {
	s2 := s
	if _, ok := s.(store.Reopener); ok {
		s2 = reopen(t, s) // another node
	}
	for round := range 5 {
		addr := "race-" + store.NewID()
		const n = 4
		units := make([]*store.Unit, n)
		results := make([]store.UnitResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			units[i] = identityUnit(addr)
			wg.Go(func() {
				st := s
				if i%2 == 1 {
					st = s2
				}
				// Each batch also carries an unrelated new contact.
				res, err := st.Commit(ctx(t), &store.Batch{Units: []*store.Unit{identityUnit("solo-" + store.NewID()), units[i]}})
				if err == nil {
					if res[0].Outcome != store.Committed {
						err = errorf("round %d: unrelated unit %+v", round, res[0])
					}
					results[i] = res[1]
				}
				errs[i] = err
			})
		}
		wg.Wait()
		winner := -1
		for i := range n {
			noErr(t, errs[i])
			switch results[i].Outcome {
			case store.Committed:
				if winner >= 0 {
					t.Fatalf("round %d: units %d and %d both created %s", round, winner, i, addr)
				}
				winner = i
			case store.Conflict:
				wantReason(t, results[i], store.ReasonAddressTaken)
				notWritten(t, s, units[i])
			default:
				t.Fatalf("round %d: result %+v", round, results[i])
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody created %s", round, addr)
		}

		// The same for a new conversation of the winner's contact.
		contactID := units[winner].Contact.ID
		convs := make([]*store.Unit, n)
		for i := range n {
			id := store.NewID()
			convs[i] = inbound(id, "p-"+store.NewID(), store.NewID(), 0)
			convs[i].Conversation = &store.NewConversation{ID: id, ContactID: contactID, Channel: "webchat", Instance: "second"}
			wg.Go(func() {
				st := s
				if i%2 == 1 {
					st = s2
				}
				res, err := st.Commit(ctx(t), &store.Batch{Units: []*store.Unit{convs[i]}})
				if err == nil {
					results[i] = res[0]
				}
				errs[i] = err
			})
		}
		wg.Wait()
		winner = -1
		for i := range n {
			noErr(t, errs[i])
			switch results[i].Outcome {
			case store.Committed:
				if winner >= 0 {
					t.Fatalf("round %d: units %d and %d both opened a conversation", round, winner, i)
				}
				winner = i
			case store.Conflict:
				wantReason(t, results[i], store.ReasonConversationExists)
				_, err := s.GetConversation(ctx(t), convs[i].Conversation.ID)
				isErr(t, err, store.ErrNotFound)
			default:
				t.Fatalf("round %d: result %+v", round, results[i])
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody opened the conversation", round)
		}
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// testLookupContactsConcurrent asks for many addresses at once, as the
// inbound path does under load (a store may answer them in one query):
// every caller gets its own contact, merged ones resolved, and the
// addresses nobody owns are not found.
func testLookupContactsConcurrent(t *testing.T, s store.Store) {
	const n = 48
	ids := make([]string, n)
	for i := range n {
		c, _ := conv(t, s, fmt.Sprintf("cc%02d", i))
		ids[i] = c.ID
	}
	noErr(t, s.LinkContacts(ctx(t), ids[0], ids[1])) // cc01 now resolves to cc00's contact
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			want, addresses := ids[i], 1
			switch i {
			case 0, 1:
				want, addresses = ids[0], 2
			}
			c, err := s.LookupContact(ctx(t), "webchat", fmt.Sprintf("cc%02d", i))
			if err != nil || c.ID != want || len(c.Addresses) != addresses {
				errs <- errorf("lookup cc%02d: %s with %d addresses, %v; want %s with %d", i, c.ID, len(c.Addresses), err, want, addresses)
			}
		})
		wg.Go(func() {
			if _, err := s.LookupContact(ctx(t), "webchat", fmt.Sprintf("nobody%02d", i)); !errors.Is(err, store.ErrNotFound) {
				errs <- errorf("lookup nobody%02d: %v, want not found", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
