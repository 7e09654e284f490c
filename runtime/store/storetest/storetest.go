// Package storetest is the conformance suite every store.Store
// implementation passes: each implementation's tests call Run with a
// function that opens a store on a new, empty database, and its benchmarks
// call BenchGroupCommit and BenchCommit.
//
// The suite never depends on the wall clock's speed: effects and timers are
// claimed with explicit times far from now, and concurrency tests check
// outcomes, not timings.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Run runs the conformance suite. open must return a store on a fresh empty
// database and arrange its cleanup (t.Cleanup); the store should implement
// store.Reopener, or the tests that need a second handle are skipped.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Reopen", testReopen},
		{"ResolveContact", testResolveContact},
		{"ResolveContactConcurrent", testResolveContactConcurrent},
		{"FindOrCreateTwoHandles", testFindOrCreateTwoHandles},
		{"ContactAttributes", testContactAttributes},
		{"LinkContacts", testLinkContacts},
		{"OpenConversation", testOpenConversation},
		{"LookupIdentities", testLookupIdentities},
		{"LookupContactsConcurrent", testLookupContactsConcurrent},
		{"CommitIdentities", testCommitIdentities},
		{"CommitIdentityConflicts", testCommitIdentityConflicts},
		{"CommitIdentityConcurrent", testCommitIdentityConcurrent},
		{"CommitUnit", testCommitUnit},
		{"CommitDuplicates", testCommitDuplicates},
		{"CommitConflicts", testCommitConflicts},
		{"CommitFailedUnitIsolated", testCommitFailed},
		{"CommitOrderWithinBatch", testCommitOrder},
		{"CommitLargeBatches", testCommitLargeBatches},
		{"CommitForwardReferences", testCommitForwardReferences},
		{"CommitSharedRows", testCommitSharedRows},
		{"Tasks", testTasks},
		{"TaskPosition", testTaskPosition},
		{"Routing", testRouting},
		{"RoutingAnswer", testRoutingAnswer},
		{"TaskRoutingAttributes", testTaskRoutingAttributes},
		{"TaskQuiet", testTaskQuiet},
		{"TaskReferences", testTaskReferences},
		{"Leadership", testLeadership},
		{"Notify", testNotify},
		{"Outbox", testOutbox},
		{"OutboxInUnit", testOutboxInUnit},
		{"ClaimEffectsConcurrent", testClaimEffectsConcurrent},
		{"Timers", testTimers},
		{"Queries", testQueries},
		{"Tokens", testTokens},
		{"TokensOfWorkers", testTokensOfWorkers},
		{"TouchTokens", testTouchTokens},
		{"Keys", testKeys},
		{"Programs", testPrograms},
		{"Text", testText},
		{"LiveProgramVersions", testLiveProgramVersions},
		{"DeadLetterAdmin", testDeadLetterAdmin},
		{"WaitingSteps", testWaitingSteps},
		{"ConversationFilters", testConversationFilters},
		{"Desk", testDesk},
		{"GroupCommitter", testGroupCommitter},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// t0 is the suite's clock: a fixed time, far from the real now, so nothing
// depends on when or how fast the tests run.
var t0 = time.Date(2031, 3, 4, 5, 6, 7, 891011000, time.UTC)

func ctx(t testing.TB) context.Context { return t.Context() }

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

func jsonEq(t testing.TB, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("stored JSON %q: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want JSON %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON %s, want %s", got, want)
	}
}

func timeEq(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(store.Micro(want)) || got.Location() != time.UTC {
		t.Fatalf("%s = %v, want %v (UTC)", what, got, store.Micro(want))
	}
}

func reopen(t *testing.T, s store.Store) store.Store {
	t.Helper()
	r, ok := s.(store.Reopener)
	if !ok {
		t.Skip("store does not implement store.Reopener")
	}
	s2, err := r.Reopen(ctx(t))
	noErr(t, err)
	t.Cleanup(func() { s2.Close() })
	return s2
}

// conv creates a contact and an open conversation for it.
func conv(t testing.TB, s store.Store, address string) (store.Contact, store.Conversation) {
	t.Helper()
	c := must[store.Contact](t)(s.ResolveContact(ctx(t), "webchat", address, "Visitor "+address))
	v := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", "default"))
	return c, v
}

// inbound returns a unit storing an inbound message (dedupe key pmid) and
// writing execution execID at expected version.
func inbound(convID, pmid, execID string, expected int64) *store.Unit {
	return &store.Unit{
		At: t0,
		Inbound: &store.Message{ID: store.NewID(), ConversationID: convID, Connector: "webchat", Instance: "default",
			PlatformMessageID: pmid, Text: "hello " + pmid, Payload: json.RawMessage(`{"raw":"` + pmid + `"}`)},
		Execution: &store.ExecutionWrite{Expected: expected, Execution: store.Execution{ID: execID, ConversationID: convID,
			Flow: "support", ProgramVersion: "v1", Status: store.ExecutionWaiting, Payload: json.RawMessage(`{"state":"ask","n":` + fmt.Sprint(expected) + `}`)}},
	}
}

func commit(t testing.TB, s store.Store, units ...*store.Unit) []store.UnitResult {
	t.Helper()
	res, err := s.Commit(ctx(t), &store.Batch{Units: units})
	noErr(t, err)
	if len(res) != len(units) {
		t.Fatalf("%d results for %d units", len(res), len(units))
	}
	return res
}

func outcomes(res []store.UnitResult) []store.Outcome {
	out := make([]store.Outcome, len(res))
	for i, r := range res {
		out[i] = r.Outcome
	}
	return out
}

func wantOutcomes(t testing.TB, res []store.UnitResult, want ...store.Outcome) {
	t.Helper()
	if got := outcomes(res); !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes %v, want %v (results %+v)", got, want, res)
	}
}

func messageCount(t testing.TB, s store.Store, convID string) int {
	t.Helper()
	ms := must[[]store.Message](t)(dropCursor(s.ListMessages(ctx(t), convID, store.Page{Limit: store.MaxPageLimit})))
	return len(ms)
}

func dropCursor[T any](v T, _ string, err error) (T, error) { return v, err }

func testReopen(t *testing.T, s store.Store) {
	c, _ := conv(t, s, "reopen")
	// A second handle on the same database runs the migrations again as no-ops.
	s2 := reopen(t, s)
	s3 := reopen(t, s)
	got := must[store.Contact](t)(s3.GetContact(ctx(t), c.ID))
	if got.ID != c.ID {
		t.Fatalf("reopened store has contact %q, want %q", got.ID, c.ID)
	}
	c2 := must[store.Contact](t)(s2.ResolveContact(ctx(t), "webchat", "reopen", ""))
	if c2.ID != c.ID {
		t.Fatalf("second handle resolved %q, want %q", c2.ID, c.ID)
	}
}

func testResolveContact(t *testing.T, s store.Store) {
	c := must[store.Contact](t)(s.ResolveContact(ctx(t), "sms", "+15550001", "Ann"))
	if c.ID == "" || c.Name != "Ann" || c.CreatedAt.IsZero() {
		t.Fatalf("contact %+v", c)
	}
	jsonEq(t, c.Attributes, json.RawMessage(`{}`))
	if want := []store.Address{{Channel: "sms", Address: "+15550001"}}; !reflect.DeepEqual(c.Addresses, want) {
		t.Fatalf("addresses %v, want %v", c.Addresses, want)
	}
	again := must[store.Contact](t)(s.ResolveContact(ctx(t), "sms", "+15550001", "Other name"))
	if again.ID != c.ID || again.Name != "Ann" {
		t.Fatalf("second resolve %+v, want the first contact %s named Ann", again, c.ID)
	}
	other := must[store.Contact](t)(s.ResolveContact(ctx(t), "whatsapp", "+15550001", ""))
	if other.ID == c.ID {
		t.Fatal("another channel's address resolved to the same contact without a link")
	}
	got := must[store.Contact](t)(s.GetContact(ctx(t), c.ID))
	if got.ID != c.ID || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("GetContact %+v, want %+v", got, c)
	}
	_, err := s.GetContact(ctx(t), "nope")
	isErr(t, err, store.ErrNotFound)
	_, err = s.ResolveContact(ctx(t), "", "x", "")
	isErr(t, err, store.ErrInvalid)
}

func testResolveContactConcurrent(t *testing.T, s store.Store) {
	const n = 50
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			c, err := s.ResolveContact(ctx(t), "telegram", "42", "racer")
			ids[i], errs[i] = c.ID, err
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		noErr(t, errs[i])
		if ids[i] != ids[0] {
			t.Fatalf("goroutine %d got contact %q, goroutine 0 got %q", i, ids[i], ids[0])
		}
	}
	c := must[store.Contact](t)(s.GetContact(ctx(t), ids[0]))
	if len(c.Addresses) != 1 {
		t.Fatalf("addresses %v", c.Addresses)
	}
}

// testFindOrCreateTwoHandles races ResolveContact and OpenConversation on
// two handles (two nodes, or two processes on one SQLite file): each handle
// serializes only its own callers, so the loser's transaction must find the
// winner's row, not make a second one.
func testFindOrCreateTwoHandles(t *testing.T, s store.Store) {
	s2 := reopen(t, s)
	const n = 20
	contacts, convs := make([]string, 2*n), make([]string, 2*n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 * n {
		h := s
		if i%2 == 1 {
			h = s2
		}
		wg.Go(func() {
			<-start
			c, err := h.ResolveContact(ctx(t), "line", "U-two-handles", "")
			if err != nil {
				errs[i] = err
				return
			}
			cv, err := h.OpenConversation(ctx(t), c.ID, "line", "default")
			contacts[i], convs[i], errs[i] = c.ID, cv.ID, err
		})
	}
	close(start)
	wg.Wait()
	for i := range 2 * n {
		noErr(t, errs[i])
		if contacts[i] != contacts[0] || convs[i] != convs[0] {
			t.Fatalf("caller %d got contact %s, conversation %s; caller 0 got %s, %s", i, contacts[i], convs[i], contacts[0], convs[0])
		}
	}
}

func testContactAttributes(t *testing.T, s store.Store) {
	c, _ := conv(t, s, "attrs")
	noErr(t, s.SetContactAttributes(ctx(t), c.ID, json.RawMessage(`{"vip":true,"language":"id"}`)))
	got := must[store.Contact](t)(s.GetContact(ctx(t), c.ID))
	jsonEq(t, got.Attributes, json.RawMessage(`{"language":"id","vip":true}`))
	isErr(t, s.SetContactAttributes(ctx(t), c.ID, json.RawMessage(`{nope`)), store.ErrInvalid)
	isErr(t, s.SetContactAttributes(ctx(t), "missing", nil), store.ErrNotFound)
}

func testLinkContacts(t *testing.T, s store.Store) {
	a := must[store.Contact](t)(s.ResolveContact(ctx(t), "sms", "+6281", "Budi"))
	b := must[store.Contact](t)(s.ResolveContact(ctx(t), "whatsapp", "6281", ""))
	noErr(t, s.SetContactAttributes(ctx(t), a.ID, json.RawMessage(`{"language":"id"}`)))
	noErr(t, s.SetContactAttributes(ctx(t), b.ID, json.RawMessage(`{"language":"en","vip":true}`)))
	convA := must[store.Conversation](t)(s.OpenConversation(ctx(t), a.ID, "sms", "default"))
	convB := must[store.Conversation](t)(s.OpenConversation(ctx(t), b.ID, "whatsapp", "default"))
	wantOutcomes(t, commit(t, s, inbound(convB.ID, "wa-1", store.NewID(), 0)), store.Committed)

	noErr(t, s.LinkContacts(ctx(t), a.ID, b.ID))

	got := must[store.Contact](t)(s.GetContact(ctx(t), b.ID))
	if got.ID != a.ID || got.Name != "Budi" {
		t.Fatalf("merged id resolves to %+v, want contact %s", got, a.ID)
	}
	if len(got.Addresses) != 2 {
		t.Fatalf("kept contact addresses %v, want both", got.Addresses)
	}
	// keep's attributes win, merge's fill the gaps
	jsonEq(t, got.Attributes, json.RawMessage(`{"language":"id","vip":true}`))
	if r := must[store.Contact](t)(s.ResolveContact(ctx(t), "whatsapp", "6281", "")); r.ID != a.ID {
		t.Fatalf("merged address resolves to %s, want %s", r.ID, a.ID)
	}
	movedB := must[store.Conversation](t)(s.GetConversation(ctx(t), convB.ID))
	if movedB.ContactID != a.ID {
		t.Fatalf("merged conversation belongs to %s, want %s", movedB.ContactID, a.ID)
	}
	if n := messageCount(t, s, convB.ID); n != 1 {
		t.Fatalf("merged conversation has %d messages, want 1", n)
	}
	for _, id := range []string{a.ID, b.ID} {
		cs := must[[]store.Conversation](t)(dropCursor(s.ListConversations(ctx(t), store.ConversationFilter{ContactID: id}, store.Page{})))
		if len(cs) != 2 {
			t.Fatalf("conversations of %s: %d, want 2 (both contacts' conversations)", id, len(cs))
		}
	}
	// OpenConversation on the merged id finds the moved conversation.
	if c := must[store.Conversation](t)(s.OpenConversation(ctx(t), b.ID, "whatsapp", "default")); c.ID != convB.ID {
		t.Fatalf("OpenConversation(merged id) = %s, want %s", c.ID, convB.ID)
	}
	_ = convA

	// Chains: merge the kept contact into a third; the first merged id follows.
	c := must[store.Contact](t)(s.ResolveContact(ctx(t), "email", "budi@example.com", ""))
	noErr(t, s.LinkContacts(ctx(t), c.ID, a.ID))
	for _, id := range []string{a.ID, b.ID} {
		if got := must[store.Contact](t)(s.GetContact(ctx(t), id)); got.ID != c.ID || len(got.Addresses) != 3 {
			t.Fatalf("GetContact(%s) = %s with %d addresses, want %s with 3", id, got.ID, len(got.Addresses), c.ID)
		}
	}
	// Linking ids that already resolve to one contact is a no-op.
	noErr(t, s.LinkContacts(ctx(t), c.ID, b.ID))
	noErr(t, s.LinkContacts(ctx(t), b.ID, c.ID))
	noErr(t, s.LinkContacts(ctx(t), c.ID, c.ID))
	isErr(t, s.LinkContacts(ctx(t), c.ID, "missing"), store.ErrNotFound)
	isErr(t, s.LinkContacts(ctx(t), "", c.ID), store.ErrInvalid)
}

func testOpenConversation(t *testing.T, s store.Store) {
	c := must[store.Contact](t)(s.ResolveContact(ctx(t), "webchat", "v1", ""))
	first := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", "default"))
	if first.ID == "" || first.ContactID != c.ID || first.Status != store.ConversationOpen || first.Instance != "default" {
		t.Fatalf("conversation %+v", first)
	}
	jsonEq(t, first.Attributes, json.RawMessage(`{}`))
	if again := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", "default")); again.ID != first.ID {
		t.Fatalf("second OpenConversation made %s, want %s", again.ID, first.ID)
	}
	if other := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", "site2")); other.ID == first.ID {
		t.Fatal("another instance shares the conversation")
	}
	got := must[store.Conversation](t)(s.GetConversation(ctx(t), first.ID))
	if got.ID != first.ID || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("GetConversation %+v, want %+v", got, first)
	}

	// Concurrent callers get one conversation.
	c2 := must[store.Contact](t)(s.ResolveContact(ctx(t), "webchat", "v2", ""))
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cv, err := s.OpenConversation(ctx(t), c2.ID, "webchat", "default")
			ids[i], errs[i] = cv.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		noErr(t, errs[i])
		if ids[i] != ids[0] {
			t.Fatalf("concurrent OpenConversation made %s and %s", ids[0], ids[i])
		}
	}

	// Closed by a unit: the next message opens a new one.
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, CloseConversations: []string{first.ID}}), store.Committed)
	if cv := must[store.Conversation](t)(s.GetConversation(ctx(t), first.ID)); cv.Status != store.ConversationClosed {
		t.Fatalf("closed conversation has status %q", cv.Status)
	}
	if next := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", "default")); next.ID == first.ID {
		t.Fatal("OpenConversation returned a closed conversation")
	}
	_, err := s.OpenConversation(ctx(t), "missing", "webchat", "default")
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetConversation(ctx(t), "missing")
	isErr(t, err, store.ErrNotFound)
}

func testCommitUnit(t *testing.T, s store.Store) {
	c, cv := conv(t, s, "unit")
	execID := store.NewID()
	u := inbound(cv.ID, "m-1", execID, 0)
	u.Messages = []store.Message{{ID: store.NewID(), ConversationID: cv.ID, Direction: store.Outbound, Connector: "webchat",
		Instance: "default", Text: "Hi! How can we help?"}}
	u.Effects = []store.Effect{
		{ID: store.NewID(), ExecutionID: execID, Kind: "send", IdempotencyKey: execID + "/1", Payload: json.RawMessage(`{"text":"Hi! How can we help?"}`)},
		{ID: store.NewID(), ExecutionID: execID, Kind: "http", Payload: json.RawMessage(`{"url":"http://bot"}`), NextAttemptAt: t0.Add(time.Minute)},
	}
	u.Timers = []store.Timer{{ID: execID + "/ask", ExecutionID: execID, FireAt: t0.Add(5 * time.Minute), Payload: json.RawMessage(`{"state":"ask"}`)}}
	u.Tasks = []store.Task{{ID: store.NewID(), ConversationID: cv.ID, ContactID: c.ID, ExecutionID: execID, Workflow: "support_routing",
		Attributes: json.RawMessage(`{"language":"en"}`), Priority: 10}}
	res := commit(t, s, u)
	wantOutcomes(t, res, store.Committed)
	if res[0].ExecutionVersion != 1 {
		t.Fatalf("ExecutionVersion %d, want 1", res[0].ExecutionVersion)
	}

	m := must[store.Message](t)(s.FindMessage(ctx(t), "webchat", "default", "m-1"))
	if m.ID != u.Inbound.ID || m.Direction != store.Inbound || m.Text != "hello m-1" || !bytes.Equal(m.Payload, u.Inbound.Payload) {
		t.Fatalf("inbound message %+v", m)
	}
	timeEq(t, "message CreatedAt", m.CreatedAt, t0)
	_, err := s.FindMessage(ctx(t), "webchat", "other", "m-1")
	isErr(t, err, store.ErrNotFound)
	// An inbound message is not a sent one, and a sent one is found by the
	// platform's id for it.
	_, err = s.FindSent(ctx(t), "webchat", "default", "m-1")
	isErr(t, err, store.ErrNotFound)
	sent := store.Message{ID: store.NewID(), ConversationID: cv.ID, Direction: store.Outbound, Connector: "webchat", Instance: "default",
		PlatformMessageID: "m-1", Text: "sent", Payload: json.RawMessage(`{"wait":"w1"}`)}
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Messages: []store.Message{sent}}), store.Committed)
	if got := must[store.Message](t)(s.FindSent(ctx(t), "webchat", "default", "m-1")); got.ID != sent.ID || !bytes.Equal(got.Payload, sent.Payload) {
		t.Fatalf("sent message %+v", got)
	}
	if got := must[store.Message](t)(s.FindMessage(ctx(t), "webchat", "default", "m-1")); got.ID != m.ID {
		t.Fatalf("the inbound message under the same platform id: %+v", got)
	}
	_, err = s.FindSent(ctx(t), "webchat", "default", "")
	isErr(t, err, store.ErrNotFound)
	ms := must[[]store.Message](t)(dropCursor(s.ListMessages(ctx(t), cv.ID, store.Page{})))
	if len(ms) != 3 || ms[0].Direction != store.Inbound || ms[1].Direction != store.Outbound || ms[1].Payload != nil {
		t.Fatalf("messages %+v", ms)
	}

	e := must[store.Execution](t)(s.GetExecution(ctx(t), execID))
	if e.Version != 1 || e.Status != store.ExecutionWaiting || e.Flow != "support" || e.ProgramVersion != "v1" ||
		e.ConversationID != cv.ID || !bytes.Equal(e.Payload, u.Execution.Execution.Payload) {
		t.Fatalf("execution %+v", e)
	}
	timeEq(t, "execution UpdatedAt", e.UpdatedAt, t0)
	if live := must[store.Execution](t)(s.LiveExecution(ctx(t), cv.ID)); live.ID != execID {
		t.Fatalf("live execution %s, want %s", live.ID, execID)
	}

	eff := must[store.Effect](t)(s.GetEffect(ctx(t), u.Effects[0].ID))
	if eff.Status != store.EffectPending || eff.Kind != "send" || eff.IdempotencyKey != execID+"/1" || eff.ExecutionID != execID ||
		eff.Attempts != 0 || !bytes.Equal(eff.Payload, u.Effects[0].Payload) || eff.Result != nil {
		t.Fatalf("effect %+v", eff)
	}
	timeEq(t, "effect NextAttemptAt (the unit's time)", eff.NextAttemptAt, t0)
	eff2 := must[store.Effect](t)(s.GetEffect(ctx(t), u.Effects[1].ID))
	if eff2.IdempotencyKey != eff2.ID {
		t.Fatalf("effect without key got key %q, want its id", eff2.IdempotencyKey)
	}
	timeEq(t, "effect NextAttemptAt", eff2.NextAttemptAt, t0.Add(time.Minute))

	next := must[time.Time](t)(nextTimer(s.NextTimerAt(ctx(t))))
	timeEq(t, "NextTimerAt", next, t0.Add(5*time.Minute))

	tasks := must[[]store.Task](t)(dropCursor(s.ListTasks(ctx(t), store.TaskWaiting, store.Page{})))
	if len(tasks) != 1 || tasks[0].ID != u.Tasks[0].ID || tasks[0].Priority != 10 || tasks[0].Workflow != "support_routing" ||
		tasks[0].ContactID != c.ID || tasks[0].ExecutionID != execID {
		t.Fatalf("waiting tasks %+v", tasks)
	}
	jsonEq(t, tasks[0].Attributes, json.RawMessage(`{"language":"en"}`))

	// An empty batch commits nothing and reports nothing.
	if res := commit(t, s); len(res) != 0 {
		t.Fatalf("empty batch results %v", res)
	}
}

func nextTimer(t time.Time, ok bool, err error) (time.Time, error) {
	if err == nil && !ok {
		err = errors.New("NextTimerAt: no timer")
	}
	return t, err
}

func testCommitDuplicates(t *testing.T, s store.Store) {
	_, cv1 := conv(t, s, "dup1")
	_, cv2 := conv(t, s, "dup2")
	_, cv3 := conv(t, s, "dup3")
	// Within one batch: the first unit with the key wins, the second leaves no trace.
	u1, u2 := inbound(cv1.ID, "dup", store.NewID(), 0), inbound(cv2.ID, "dup", store.NewID(), 0)
	u2.Effects = []store.Effect{{ID: store.NewID(), Kind: "send"}}
	res := commit(t, s, u1, u2)
	wantOutcomes(t, res, store.Committed, store.Duplicate)
	if res[1].Reason != store.ReasonDuplicate {
		t.Fatalf("duplicate reason %q", res[1].Reason)
	}
	// Across batches (a redelivered webhook).
	wantOutcomes(t, commit(t, s, inbound(cv3.ID, "dup", store.NewID(), 0), inbound(cv3.ID, "fresh", store.NewID(), 0)),
		store.Duplicate, store.Committed)
	if n := messageCount(t, s, cv1.ID) + messageCount(t, s, cv2.ID); n != 1 {
		t.Fatalf("%d messages stored for one dedupe key, want 1", n)
	}
	if _, err := s.GetExecution(ctx(t), u2.Execution.Execution.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("duplicate unit's execution stored (err %v)", err)
	}
	if _, err := s.GetEffect(ctx(t), u2.Effects[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("duplicate unit's effect stored (err %v)", err)
	}
	// The key is (connector, instance, platform id): another instance is another message.
	u := inbound(cv2.ID, "dup", store.NewID(), 0)
	u.Inbound.Instance = "other"
	wantOutcomes(t, commit(t, s, u), store.Committed)
	// Messages without a platform id are never duplicates.
	a, b := inbound(cv1.ID, "", store.NewID(), 0), inbound(cv1.ID, "", store.NewID(), 0)
	a.Execution, b.Execution = nil, nil
	wantOutcomes(t, commit(t, s, a, b), store.Committed, store.Committed)
}

func testCommitConflicts(t *testing.T, s store.Store) {
	_, cv := conv(t, s, "conflict")
	id := store.NewID()
	wantOutcomes(t, commit(t, s, inbound(cv.ID, "c1", id, 0)), store.Committed)
	res := commit(t, s, inbound(cv.ID, "c2", id, 1))
	wantOutcomes(t, res, store.Committed)
	if res[0].ExecutionVersion != 2 {
		t.Fatalf("version %d, want 2", res[0].ExecutionVersion)
	}
	// A stale version conflicts and leaves no trace, its message included.
	stale := inbound(cv.ID, "c3", id, 1)
	stale.Effects = []store.Effect{{ID: store.NewID(), Kind: "send"}}
	res = commit(t, s, stale)
	wantOutcomes(t, res, store.Conflict)
	if res[0].Reason != store.ReasonVersion {
		t.Fatalf("reason %q, want %q", res[0].Reason, store.ReasonVersion)
	}
	if _, err := s.FindMessage(ctx(t), "webchat", "default", "c3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("conflicting unit's message stored (err %v)", err)
	}
	if _, err := s.GetEffect(ctx(t), stale.Effects[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("conflicting unit's effect stored")
	}
	// The retry (reloaded version) commits: its dedupe key was not consumed.
	wantOutcomes(t, commit(t, s, inbound(cv.ID, "c3", id, 2)), store.Committed)

	// Two units read the same version in one batch: the first wins.
	wantOutcomes(t, commit(t, s, inbound(cv.ID, "c4", id, 3), inbound(cv.ID, "c5", id, 3)), store.Committed, store.Conflict)
	// A chain in one batch (v4 then v5) is fine.
	wantOutcomes(t, commit(t, s, inbound(cv.ID, "c6", id, 4), inbound(cv.ID, "c7", id, 5)), store.Committed, store.Committed)
	if e := must[store.Execution](t)(s.GetExecution(ctx(t), id)); e.Version != 6 {
		t.Fatalf("version %d, want 6", e.Version)
	}
	// A new execution id that already exists is a conflict too.
	wantOutcomes(t, commit(t, s, inbound(cv.ID, "c8", id, 0)), store.Conflict)

	// One live execution per conversation.
	other := store.NewID()
	res = commit(t, s, inbound(cv.ID, "c9", other, 0))
	wantOutcomes(t, res, store.Conflict)
	if res[0].Reason != store.ReasonLiveExecution {
		t.Fatalf("reason %q, want %q", res[0].Reason, store.ReasonLiveExecution)
	}
	end := inbound(cv.ID, "c10", id, 6)
	end.Execution.Execution.Status = store.ExecutionEnded
	wantOutcomes(t, commit(t, s, end, inbound(cv.ID, "c11", other, 0)), store.Committed, store.Committed)
	if live := must[store.Execution](t)(s.LiveExecution(ctx(t), cv.ID)); live.ID != other {
		t.Fatalf("live execution %s, want %s", live.ID, other)
	}
	// Reviving the ended one while another is live conflicts.
	revive := inbound(cv.ID, "c12", id, 7)
	res = commit(t, s, revive)
	wantOutcomes(t, res, store.Conflict)
	if res[0].Reason != store.ReasonLiveExecution {
		t.Fatalf("reason %q, want %q", res[0].Reason, store.ReasonLiveExecution)
	}
	_, err := s.LiveExecution(ctx(t), "missing")
	isErr(t, err, store.ErrNotFound)
}

func testCommitFailed(t *testing.T, s store.Store) {
	_, cv := conv(t, s, "failed")
	good1 := inbound(cv.ID, "f1", store.NewID(), 0)
	badRef := inbound("no-such-conversation", "f2", store.NewID(), 0)
	invalid := &store.Unit{Effects: []store.Effect{{Kind: "send"}}} // no ID
	badEffect := &store.Unit{Effects: []store.Effect{{ID: store.NewID(), ExecutionID: "no-such-execution", Kind: "send"}}}
	closeMissing := &store.Unit{CloseConversations: []string{"no-such-conversation"}}
	good2 := &store.Unit{Effects: []store.Effect{{ID: store.NewID(), Kind: "send"}}}
	res := commit(t, s, good1, badRef, invalid, badEffect, closeMissing, good2)
	wantOutcomes(t, res, store.Committed, store.Failed, store.Failed, store.Failed, store.Failed, store.Committed)
	for _, i := range []int{1, 2, 3, 4} {
		if res[i].Err == nil {
			t.Fatalf("failed unit %d has no Err", i)
		}
	}
	isErr(t, res[2].Err, store.ErrInvalid)
	isErr(t, res[4].Err, store.ErrNotFound)
	if _, err := s.FindMessage(ctx(t), "webchat", "default", "f2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("failed unit's message stored")
	}
	must[store.Effect](t)(s.GetEffect(ctx(t), good2.Effects[0].ID))
}

// testCommitOrder checks that units apply in batch order, each seeing the
// earlier ones: a timer replaced then deleted, deleted then set again.
func testCommitOrder(t *testing.T, s store.Store) {
	_, cv := conv(t, s, "order")
	id := store.NewID()
	set := func(fire time.Time) store.Timer {
		return store.Timer{ID: "T", ExecutionID: id, FireAt: fire}
	}
	u1 := inbound(cv.ID, "o1", id, 0)
	u1.Timers = []store.Timer{set(t0.Add(time.Hour))}
	u2 := &store.Unit{At: t0, DeleteTimers: []string{"T"}}
	u3 := &store.Unit{At: t0, Timers: []store.Timer{set(t0.Add(2 * time.Hour))}}
	u4 := &store.Unit{At: t0, Timers: []store.Timer{{ID: "U", FireAt: t0.Add(3 * time.Hour)}}}
	u5 := &store.Unit{At: t0, DeleteTimers: []string{"U"}}
	wantOutcomes(t, commit(t, s, u1, u2, u3, u4, u5), store.Committed, store.Committed, store.Committed, store.Committed, store.Committed)
	ts := must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "o", t0.Add(24*time.Hour), 10, time.Minute))
	if len(ts) != 1 || ts[0].ID != "T" {
		t.Fatalf("timers %+v, want T only", ts)
	}
	timeEq(t, "T.FireAt", ts[0].FireAt, t0.Add(2*time.Hour))
}

func testTaskPosition(t *testing.T, s store.Store) {
	mk := func(name, workflow, channel string) store.Task {
		c, cv := conv(t, s, name)
		tk := store.Task{ID: store.NewID(), ConversationID: cv.ID, ContactID: c.ID, Workflow: workflow, Channel: channel}
		wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{tk}}), store.Committed)
		return tk
	}
	a, b := mk("pos-a", "voice_routing", "voice"), mk("pos-b", "voice_routing", "voice")
	other, chat := mk("pos-c", "callbacks", "voice"), mk("pos-d", "voice_routing", "chat")
	want := func(tk store.Task, n int) {
		t.Helper()
		if got := must[int](t)(s.TaskPosition(ctx(t), tk.ID)); got != n {
			t.Fatalf("position of %s: %d, want %d", tk.ConversationID, got, n)
		}
	}
	want(a, 1)
	want(b, 2)
	want(other, 1)
	want(chat, 1)
	// The first is taken: the second is next, and the first waits no longer.
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Tasks: []store.TaskRouting{{ID: a.ID, Status: store.TaskReserved, WorkerID: "w1", Routed: store.RoutedLive}}}))
	want(a, 0)
	want(b, 1)
	_, err := s.TaskPosition(ctx(t), "missing")
	isErr(t, err, store.ErrNotFound)
}

func testTasks(t *testing.T, s store.Store) {
	c, cv := conv(t, s, "tasks")
	task := func() store.Task {
		return store.Task{ID: store.NewID(), ConversationID: cv.ID, ContactID: c.ID, Workflow: "support_routing"}
	}
	first := task()
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{first}}), store.Committed)
	got := must[store.Task](t)(s.GetTask(ctx(t), first.ID))
	if got.Status != store.TaskWaiting || got.Priority != 0 || got.ExecutionID != "" {
		t.Fatalf("task %+v", got)
	}
	jsonEq(t, got.Attributes, json.RawMessage(`{}`))
	timeEq(t, "task CreatedAt", got.CreatedAt, t0)
	// One open task per (contact, conversation).
	res := commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{task()}})
	wantOutcomes(t, res, store.Conflict)
	if res[0].Reason != store.ReasonOpenTask {
		t.Fatalf("reason %q", res[0].Reason)
	}
	// Another conversation of the same contact may have its own.
	cv2 := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "sms", "default"))
	other := task()
	other.ConversationID = cv2.ID
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Tasks: []store.Task{other}}), store.Committed)

	// Completing frees the slot (in the same batch, in order).
	second := task()
	wantOutcomes(t, commit(t, s,
		&store.Unit{At: t0.Add(time.Second), TaskUpdates: []store.TaskUpdate{{ID: first.ID, Status: store.TaskCompleted, Attributes: json.RawMessage(`{"worker":"w1"}`)}}},
		&store.Unit{At: t0.Add(time.Second), Tasks: []store.Task{second}}),
		store.Committed, store.Committed)
	got = must[store.Task](t)(s.GetTask(ctx(t), first.ID))
	if got.Status != store.TaskCompleted {
		t.Fatalf("status %q", got.Status)
	}
	jsonEq(t, got.Attributes, json.RawMessage(`{"worker":"w1"}`))
	timeEq(t, "task UpdatedAt", got.UpdatedAt, t0.Add(time.Second))
	// Re-opening the completed one now conflicts with the second.
	wantOutcomes(t, commit(t, s, &store.Unit{TaskUpdates: []store.TaskUpdate{{ID: first.ID, Status: store.TaskWaiting}}}), store.Conflict)
	res = commit(t, s, &store.Unit{TaskUpdates: []store.TaskUpdate{{ID: "missing", Status: store.TaskCanceled}}})
	wantOutcomes(t, res, store.Failed)
	isErr(t, res[0].Err, store.ErrNotFound)

	waiting := must[[]store.Task](t)(dropCursor(s.ListTasks(ctx(t), store.TaskWaiting, store.Page{})))
	if len(waiting) != 2 || waiting[0].ID != other.ID || waiting[1].ID != second.ID {
		t.Fatalf("waiting tasks %+v", waiting)
	}
	all := must[[]store.Task](t)(dropCursor(s.ListTasks(ctx(t), "", store.Page{})))
	if len(all) != 3 {
		t.Fatalf("%d tasks, want 3", len(all))
	}
	_, err := s.GetTask(ctx(t), "missing")
	isErr(t, err, store.ErrNotFound)
}

func effectUnit(ids ...string) *store.Unit {
	u := &store.Unit{At: t0}
	for _, id := range ids {
		u.Effects = append(u.Effects, store.Effect{ID: id, Kind: "send", Payload: json.RawMessage(`{"to":"` + id + `"}`)})
	}
	return u
}

func ids(es []store.Effect) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	sort.Strings(out)
	return out
}

func testOutbox(t *testing.T, s store.Store) {
	now := effectUnit("e1", "e2", "e3")
	later := effectUnit("e4")
	later.Effects[0].NextAttemptAt = t0.Add(time.Hour)
	wantOutcomes(t, commit(t, s, now, later), store.Committed, store.Committed)

	// Due ones only, leased to one owner.
	got := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "a", 2, time.Minute, t0))
	if len(got) != 2 {
		t.Fatalf("claimed %v, want 2 of e1..e3", ids(got))
	}
	for _, e := range got {
		if e.Status != store.EffectLeased || e.LeaseOwner != "a" || e.Attempts != 1 {
			t.Fatalf("claimed effect %+v", e)
		}
		timeEq(t, "LeaseUntil", e.LeaseUntil, t0.Add(time.Minute))
	}
	rest := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "b", 10, time.Minute, t0.Add(time.Second)))
	if len(rest) != 1 || rest[0].LeaseOwner != "b" {
		t.Fatalf("second claim %v, want the third due effect only", ids(rest))
	}
	claimedA := got
	// While leases run nothing is claimable.
	if more := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "c", 10, time.Minute, t0.Add(30*time.Second))); len(more) != 0 {
		t.Fatalf("claimed %v during the leases", ids(more))
	}
	// Owner a dies: its leases expire and another owner gets them, attempt 2.
	noErr(t, s.CompleteEffect(ctx(t), rest[0].ID, json.RawMessage(`{"platform_id":"x1"}`)))
	again := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "c", 10, time.Minute, t0.Add(2*time.Minute)))
	if !reflect.DeepEqual(ids(again), ids(claimedA)) {
		t.Fatalf("after lease expiry claimed %v, want %v", ids(again), ids(claimedA))
	}
	for _, e := range again {
		if e.Attempts != 2 || e.LeaseOwner != "c" {
			t.Fatalf("reclaimed %+v", e)
		}
	}
	done := must[store.Effect](t)(s.GetEffect(ctx(t), rest[0].ID))
	if done.Status != store.EffectDone || done.LeaseOwner != "" || !done.LeaseUntil.IsZero() || !bytes.Equal(done.Result, json.RawMessage(`{"platform_id":"x1"}`)) {
		t.Fatalf("completed effect %+v", done)
	}
	// Completing twice keeps the first result; retry and dead-letter leave done alone.
	noErr(t, s.CompleteEffect(ctx(t), done.ID, json.RawMessage(`{"second":true}`)))
	noErr(t, s.RetryEffect(ctx(t), done.ID, t0, "late"))
	noErr(t, s.DeadLetter(ctx(t), done.ID, "late"))
	if d := must[store.Effect](t)(s.GetEffect(ctx(t), done.ID)); d.Status != store.EffectDone || !bytes.Equal(d.Result, json.RawMessage(`{"platform_id":"x1"}`)) {
		t.Fatalf("done effect changed: %+v", d)
	}

	// Retry with backoff: not due before nextAttemptAt.
	retry, dead := again[0].ID, again[1].ID
	noErr(t, s.RetryEffect(ctx(t), retry, t0.Add(10*time.Minute), "503 from platform"))
	r := must[store.Effect](t)(s.GetEffect(ctx(t), retry))
	if r.Status != store.EffectPending || r.LastError != "503 from platform" || r.LeaseOwner != "" || r.Attempts != 2 {
		t.Fatalf("retried effect %+v", r)
	}
	timeEq(t, "NextAttemptAt", r.NextAttemptAt, t0.Add(10*time.Minute))
	noErr(t, s.DeadLetter(ctx(t), dead, "gave up after 2 attempts"))
	if early := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "d", 10, time.Minute, t0.Add(9*time.Minute))); len(early) != 0 {
		t.Fatalf("claimed %v before their next attempt", ids(early))
	}
	dl := must[[]store.Effect](t)(dropCursor(s.ListDeadLetters(ctx(t), store.Page{})))
	if len(dl) != 1 || dl[0].ID != dead || dl[0].Status != store.EffectDead || dl[0].LastError != "gave up after 2 attempts" {
		t.Fatalf("dead letters %+v", dl)
	}
	// Claims reach the retried one and the later one, not the dead one.
	due := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "d", 10, time.Minute, t0.Add(2*time.Hour)))
	if !reflect.DeepEqual(ids(due), []string{retry, "e4"}) && !reflect.DeepEqual(ids(due), []string{"e4", retry}) {
		t.Fatalf("claimed %v, want %s and e4", ids(due), retry)
	}
	if !due[0].NextAttemptAt.Before(due[1].NextAttemptAt) {
		t.Fatalf("claims not oldest due first: %v then %v", due[0].NextAttemptAt, due[1].NextAttemptAt)
	}
	stats := must[map[store.EffectStatus]int](t)(s.OutboxStats(ctx(t)))
	if want := map[store.EffectStatus]int{store.EffectPending: 0, store.EffectLeased: 2, store.EffectDone: 1, store.EffectDead: 1}; !reflect.DeepEqual(stats, want) {
		t.Fatalf("stats %v, want %v", stats, want)
	}
	// An admin requeues the dead letter.
	noErr(t, s.RetryEffect(ctx(t), dead, t0, "requeued"))
	if e := must[store.Effect](t)(s.GetEffect(ctx(t), dead)); e.Status != store.EffectPending {
		t.Fatalf("requeued dead letter has status %q", e.Status)
	}
	isErr(t, s.CompleteEffect(ctx(t), "missing", nil), store.ErrNotFound)
	isErr(t, s.RetryEffect(ctx(t), "missing", t0, ""), store.ErrNotFound)
	isErr(t, s.DeadLetter(ctx(t), "missing", ""), store.ErrNotFound)
	_, err := s.GetEffect(ctx(t), "missing")
	isErr(t, err, store.ErrNotFound)
	_, err = s.ClaimEffects(ctx(t), "", 1, time.Minute, t0)
	isErr(t, err, store.ErrInvalid)
}

// testOutboxInUnit: an effect's result is consumed by the step it wakes,
// in one transaction; idempotency keys keep an effect from being enqueued twice.
func testOutboxInUnit(t *testing.T, s store.Store) {
	_, cv := conv(t, s, "outbox-unit")
	id := store.NewID()
	u := inbound(cv.ID, "h1", id, 0)
	u.Effects = []store.Effect{{ID: store.NewID(), ExecutionID: id, Kind: "http", IdempotencyKey: id + "/http/1"}}
	wantOutcomes(t, commit(t, s, u), store.Committed)
	claimed := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "w", 10, time.Minute, t0))
	if len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	step := &store.Unit{At: t0.Add(time.Second),
		Execution:       &store.ExecutionWrite{Expected: 1, Execution: store.Execution{ID: id, ConversationID: cv.ID, Flow: "support", ProgramVersion: "v1", Status: store.ExecutionEnded}},
		CompleteEffects: []store.EffectResult{{ID: claimed[0].ID, Result: json.RawMessage(`{"status":200}`)}},
		// The same effect again (a replayed step): skipped by its key.
		Effects: []store.Effect{{ID: store.NewID(), ExecutionID: id, Kind: "http", IdempotencyKey: id + "/http/1"}},
	}
	wantOutcomes(t, commit(t, s, step), store.Committed)
	e := must[store.Effect](t)(s.GetEffect(ctx(t), claimed[0].ID))
	if e.Status != store.EffectDone || !bytes.Equal(e.Result, json.RawMessage(`{"status":200}`)) {
		t.Fatalf("effect %+v", e)
	}
	if _, err := s.GetEffect(ctx(t), step.Effects[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("effect with a used idempotency key was stored (err %v)", err)
	}
	if _, err := s.LiveExecution(ctx(t), cv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended execution still live (err %v)", err)
	}
}

func testClaimEffectsConcurrent(t *testing.T, s store.Store) {
	s2 := reopen(t, s) // another node: its own connections
	const n = 300
	var units []*store.Unit
	for i := range n {
		units = append(units, effectUnit(fmt.Sprintf("c%03d", i)))
	}
	wantOutcomes(t, commit(t, s, units...), repeat(store.Committed, n)...)
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		st := s
		if w%2 == 1 {
			st = s2
		}
		owner := fmt.Sprintf("node%d/%d", w%2, w)
		wg.Go(func() {
			for {
				got, err := st.ClaimEffects(ctx(t), owner, 7, time.Hour, t0)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					if prev, dup := seen[e.ID]; dup {
						mu.Unlock()
						errs <- fmt.Errorf("effect %s claimed by %s and %s", e.ID, prev, owner)
						return
					}
					seen[e.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d effects claimed, want %d", len(seen), n)
	}
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func testTimers(t *testing.T, s store.Store) {
	_, cv := conv(t, s, "timers")
	id := store.NewID()
	u := inbound(cv.ID, "t1", id, 0)
	u.Timers = []store.Timer{
		{ID: id + "/ask", ExecutionID: id, FireAt: t0.Add(5 * time.Minute), Payload: json.RawMessage(`{"event":"timeout"}`)},
		{ID: id + "/task", ExecutionID: id, FireAt: t0.Add(10 * time.Minute)},
	}
	wantOutcomes(t, commit(t, s, u), store.Committed)

	if _, ok, err := s.NextTimerAt(ctx(t)); err != nil || !ok {
		t.Fatalf("NextTimerAt: %v %v", ok, err)
	}
	if early := must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "a", t0.Add(4*time.Minute), 10, time.Minute)); len(early) != 0 {
		t.Fatalf("claimed %d timers early", len(early))
	}
	got := must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "a", t0.Add(5*time.Minute), 10, time.Minute))
	if len(got) != 1 || got[0].ID != id+"/ask" || got[0].ExecutionID != id || got[0].LeaseOwner != "a" ||
		!bytes.Equal(got[0].Payload, json.RawMessage(`{"event":"timeout"}`)) {
		t.Fatalf("claimed %+v", got)
	}
	timeEq(t, "FireAt", got[0].FireAt, t0.Add(5*time.Minute))
	timeEq(t, "LeaseUntil", got[0].LeaseUntil, t0.Add(6*time.Minute))
	// Leased: not claimable; expired: claimable by another node.
	if again := must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "b", t0.Add(5*time.Minute+30*time.Second), 10, time.Minute)); len(again) != 0 {
		t.Fatalf("claimed a leased timer: %+v", again)
	}

	// Timers survive a restart (a close and a new handle).
	noErr(t, s.Close())
	s = reopen(t, s)
	got = must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "b", t0.Add(7*time.Minute), 10, time.Minute))
	if len(got) != 1 || got[0].ID != id+"/ask" || got[0].LeaseOwner != "b" {
		t.Fatalf("after restart claimed %+v", got)
	}
	// The firing's work deletes the timer in the same transaction; the
	// execution's version makes a second firing (another node) conflict.
	fire := func(v int64) *store.Unit {
		return &store.Unit{At: t0.Add(7 * time.Minute),
			Execution:    &store.ExecutionWrite{Expected: v, Execution: store.Execution{ID: id, ConversationID: cv.ID, Flow: "support", ProgramVersion: "v1", Status: store.ExecutionWaiting}},
			DeleteTimers: []string{id + "/ask"},
			Timers:       []store.Timer{{ID: id + "/task", ExecutionID: id, FireAt: t0.Add(20 * time.Minute)}}, // replaced
		}
	}
	wantOutcomes(t, commit(t, s, fire(1), fire(1)), store.Committed, store.Conflict)
	next := must[time.Time](t)(nextTimer(s.NextTimerAt(ctx(t))))
	timeEq(t, "NextTimerAt", next, t0.Add(20*time.Minute))
	got = must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "c", t0.Add(time.Hour), 10, time.Minute))
	if len(got) != 1 || got[0].ID != id+"/task" {
		t.Fatalf("claimed %+v, want the replaced task timer", got)
	}
	// A replaced timer's lease is cleared.
	wantOutcomes(t, commit(t, s, &store.Unit{Timers: []store.Timer{{ID: id + "/task", FireAt: t0.Add(time.Hour)}}}), store.Committed)
	if got := must[[]store.Timer](t)(s.ClaimDueTimers(ctx(t), "d", t0.Add(time.Hour), 10, time.Minute)); len(got) != 1 || got[0].ExecutionID != "" {
		t.Fatalf("claimed %+v", got)
	}
	noErr(t, s.DeleteTimer(ctx(t), id+"/task"))
	noErr(t, s.DeleteTimer(ctx(t), id+"/task")) // missing: no-op
	if _, ok, err := s.NextTimerAt(ctx(t)); err != nil || ok {
		t.Fatalf("NextTimerAt after deleting all: %v %v", ok, err)
	}
}

func testQueries(t *testing.T, s store.Store) {
	c := must[store.Contact](t)(s.ResolveContact(ctx(t), "webchat", "pager", ""))
	var convs []string
	for i := range 5 {
		cv := must[store.Conversation](t)(s.OpenConversation(ctx(t), c.ID, "webchat", fmt.Sprintf("i%d", i)))
		convs = append(convs, cv.ID)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page := must[[]store.Conversation](t)(dropCursor(s.ListConversations(ctx(t), store.ConversationFilter{ContactID: c.ID}, store.Page{After: cursor, Limit: 2})))
		cs, nxt, err := s.ListConversations(ctx(t), store.ConversationFilter{ContactID: c.ID, Status: store.ConversationOpen}, store.Page{After: cursor, Limit: 2})
		noErr(t, err)
		if !reflect.DeepEqual(ids2(cs), ids2(page)) {
			t.Fatal("status filter changed an all-open list")
		}
		for _, cv := range cs {
			got = append(got, cv.ID)
		}
		if nxt == "" {
			if pages != 2 {
				t.Fatalf("%d pages for 5 rows of 2", pages+1)
			}
			break
		}
		cursor = nxt
	}
	if !reflect.DeepEqual(got, convs) {
		t.Fatalf("paged conversations %v, want %v", got, convs)
	}
	newest := must[[]store.Conversation](t)(dropCursor(s.ListConversations(ctx(t), store.ConversationFilter{}, store.Page{Newest: true, Limit: 3})))
	if len(newest) != 3 || newest[0].ID != convs[4] || newest[2].ID != convs[2] {
		t.Fatalf("newest first %v", ids2(newest))
	}
	closed := must[[]store.Conversation](t)(dropCursor(s.ListConversations(ctx(t), store.ConversationFilter{Status: store.ConversationClosed}, store.Page{})))
	if len(closed) != 0 {
		t.Fatalf("closed %v", ids2(closed))
	}
	if none := must[[]store.Conversation](t)(dropCursor(s.ListConversations(ctx(t), store.ConversationFilter{ContactID: "missing"}, store.Page{}))); len(none) != 0 {
		t.Fatal("conversations for a missing contact")
	}
	_, _, err := s.ListConversations(ctx(t), store.ConversationFilter{}, store.Page{After: "not-a-cursor"})
	isErr(t, err, store.ErrInvalid)

	// Messages in commit order, paged.
	id := store.NewID()
	for i := range 7 {
		wantOutcomes(t, commit(t, s, inbound(convs[0], fmt.Sprintf("q%d", i), id, int64(i))), store.Committed)
	}
	var texts []string
	cursor = ""
	for {
		ms, next, err := s.ListMessages(ctx(t), convs[0], store.Page{After: cursor, Limit: 3})
		noErr(t, err)
		for _, m := range ms {
			texts = append(texts, m.Text)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"hello q0", "hello q1", "hello q2", "hello q3", "hello q4", "hello q5", "hello q6"}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("messages %v, want %v", texts, want)
	}
	last := must[[]store.Message](t)(dropCursor(s.ListMessages(ctx(t), convs[0], store.Page{Newest: true, Limit: 1})))
	if len(last) != 1 || last[0].Text != "hello q6" {
		t.Fatalf("newest message %+v", last)
	}

	// Executions by conversation and status.
	end := inbound(convs[0], "q-end", id, 7)
	end.Execution.Execution.Status = store.ExecutionEnded
	wantOutcomes(t, commit(t, s, end, inbound(convs[1], "q-other", store.NewID(), 0)), store.Committed, store.Committed)
	es := must[[]store.Execution](t)(dropCursor(s.ListExecutions(ctx(t), store.ExecutionFilter{}, store.Page{})))
	if len(es) != 2 {
		t.Fatalf("%d executions", len(es))
	}
	ended := must[[]store.Execution](t)(dropCursor(s.ListExecutions(ctx(t), store.ExecutionFilter{Status: store.ExecutionEnded}, store.Page{})))
	if len(ended) != 1 || ended[0].ID != id || ended[0].Version != 8 {
		t.Fatalf("ended executions %+v", ended)
	}
	byConv := must[[]store.Execution](t)(dropCursor(s.ListExecutions(ctx(t), store.ExecutionFilter{ConversationID: convs[1]}, store.Page{})))
	if len(byConv) != 1 || byConv[0].ConversationID != convs[1] {
		t.Fatalf("executions of a conversation %+v", byConv)
	}
	for _, c := range []struct {
		filter store.ExecutionFilter
		want   int
	}{
		{store.ExecutionFilter{Status: store.ExecutionWaiting}, 1},
		{store.ExecutionFilter{Status: store.ExecutionFailed}, 0},
		{store.ExecutionFilter{Status: "no such status"}, 0},
		{store.ExecutionFilter{ConversationID: convs[1], Status: store.ExecutionWaiting}, 1},
		{store.ExecutionFilter{ConversationID: convs[1], Status: store.ExecutionEnded}, 0},
		{store.ExecutionFilter{ConversationID: convs[0], Status: store.ExecutionEnded}, 1},
	} {
		got := must[[]store.Execution](t)(dropCursor(s.ListExecutions(ctx(t), c.filter, store.Page{})))
		if len(got) != c.want {
			t.Errorf("executions %+v: %d, want %d", c.filter, len(got), c.want)
		}
		for _, e := range got {
			if e.Status != c.filter.Status || (c.filter.ConversationID != "" && e.ConversationID != c.filter.ConversationID) {
				t.Errorf("executions %+v: got %s %s", c.filter, e.ConversationID, e.Status)
			}
		}
	}
	_, err = s.GetExecution(ctx(t), "missing")
	isErr(t, err, store.ErrNotFound)
}

func ids2(cs []store.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func testPrograms(t *testing.T, s store.Store) {
	_, err := s.ActiveProgram(ctx(t))
	isErr(t, err, store.ErrNotFound)
	noErr(t, s.SaveProgram(ctx(t), "v1", []byte(`{"files":{"a.flow":"flow a {}"}}`), true))
	noErr(t, s.SaveProgram(ctx(t), "v2", []byte(`{"files":{"a.flow":"flow a { }"}}`), false))
	act := must[store.Program](t)(s.ActiveProgram(ctx(t)))
	if act.Version != "v1" || !act.Active || string(act.Source) != `{"files":{"a.flow":"flow a {}"}}` {
		t.Fatalf("active %+v", act)
	}
	noErr(t, s.SaveProgram(ctx(t), "v2", []byte(`ignored: same version, same program`), true))
	act = must[store.Program](t)(s.ActiveProgram(ctx(t)))
	if act.Version != "v2" || string(act.Source) != `{"files":{"a.flow":"flow a { }"}}` {
		t.Fatalf("active %+v", act)
	}
	old := must[store.Program](t)(s.GetProgram(ctx(t), "v1"))
	if old.Active || string(old.Source) != `{"files":{"a.flow":"flow a {}"}}` {
		t.Fatalf("v1 %+v", old)
	}
	list := must[[]store.Program](t)(s.ListPrograms(ctx(t)))
	if len(list) != 2 || list[0].Version != "v2" || !list[0].Active || list[1].Version != "v1" || list[1].Active || list[0].Source != nil {
		t.Fatalf("programs %+v", list)
	}
	noErr(t, s.ActivateProgram(ctx(t), "v1"))
	if act := must[store.Program](t)(s.ActiveProgram(ctx(t))); act.Version != "v1" {
		t.Fatalf("rolled back to %s", act.Version)
	}
	isErr(t, s.ActivateProgram(ctx(t), "v9"), store.ErrNotFound)
	if act := must[store.Program](t)(s.ActiveProgram(ctx(t))); act.Version != "v1" {
		t.Fatalf("failed activation changed the active program to %s", act.Version)
	}
	_, err = s.GetProgram(ctx(t), "v9")
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.SaveProgram(ctx(t), "", []byte("x"), false), store.ErrInvalid)
}

func testGroupCommitter(t *testing.T, s store.Store) {
	g := store.NewGroupCommitter(s, store.GroupOptions{MaxBatch: 16})
	const convs, perConv = 20, 10
	// Each conversation's goroutine steps its execution; every message is
	// delivered twice, concurrently (a webhook retry racing the first try).
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := map[string]int{}
	errs := make(chan error, convs*perConv*2)
	for c := range convs {
		_, cv := conv(t, s, fmt.Sprintf("group%d", c))
		wg.Go(func() {
			id := store.NewID()
			version := int64(0)
			for i := range perConv {
				key := fmt.Sprintf("g%d-%d", c, i)
				var inner sync.WaitGroup
				results := make([]store.UnitResult, 2)
				for d := range 2 {
					inner.Go(func() {
						u := inbound(cv.ID, key, id, version)
						u.Effects = []store.Effect{{ID: store.NewID(), ExecutionID: id, Kind: "send", IdempotencyKey: key}}
						r, err := g.Submit(ctx(t), u)
						if err != nil {
							errs <- err
						}
						results[d] = r
					})
				}
				inner.Wait()
				n := 0
				for _, r := range results {
					switch r.Outcome {
					case store.Committed:
						n++
					case store.Duplicate, store.Conflict:
						// the other delivery won: a duplicate, or a conflict when
						// both ran in one batch after the winner's version bump
					default:
						errs <- fmt.Errorf("%s: outcome %v (%v)", key, r.Outcome, r.Err)
					}
				}
				mu.Lock()
				committed[key] += n
				mu.Unlock()
				version++
			}
		})
	}
	wg.Wait()
	noErr(t, g.Close())
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for key, n := range committed {
		if n != 1 {
			t.Fatalf("%s committed %d times", key, n)
		}
	}
	if len(committed) != convs*perConv {
		t.Fatalf("%d keys", len(committed))
	}
	stats := must[map[store.EffectStatus]int](t)(s.OutboxStats(ctx(t)))
	if stats[store.EffectPending] != convs*perConv {
		t.Fatalf("%d pending effects, want %d", stats[store.EffectPending], convs*perConv)
	}
	_, err := g.Submit(ctx(t), &store.Unit{})
	isErr(t, err, store.ErrClosed)
	noErr(t, g.Close())
}

func testClose(t *testing.T, s store.Store) {
	noErr(t, s.Ping(ctx(t)))
	noErr(t, s.Close())
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping after Close did not fail")
	}
	noErr(t, s.Close())
	if _, err := s.ResolveContact(context.Background(), "sms", "+1", ""); err == nil {
		t.Fatal("ResolveContact after Close did not fail")
	}
	if _, err := s.Commit(context.Background(), &store.Batch{Units: []*store.Unit{{}}}); err == nil {
		t.Fatal("Commit after Close did not fail")
	}
}
