package storetest

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// testDeadLetterAdmin: a dead effect requeued is claimed once more with
// its attempts kept; requeueing or discarding anything but a dead effect
// is ErrNotFound; of concurrent requeues exactly one succeeds.
func testDeadLetterAdmin(t *testing.T, s store.Store) {
	wantOutcomes(t, commit(t, s, effectUnit("dl1", "dl2", "dl3", "live")), store.Committed)
	claimed := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "a", 10, time.Hour, t0))
	if len(claimed) != 4 {
		t.Fatalf("claimed %v, want 4", ids(claimed))
	}
	for _, id := range []string{"dl1", "dl2", "dl3"} {
		noErr(t, s.DeadLetter(ctx(t), id, "400 from platform"))
	}
	// The leased one is not a dead letter.
	isErr(t, s.RequeueDeadLetter(ctx(t), "live", t0), store.ErrNotFound)
	isErr(t, s.DiscardDeadLetter(ctx(t), "live"), store.ErrNotFound)
	isErr(t, s.RequeueDeadLetter(ctx(t), "missing", t0), store.ErrNotFound)
	isErr(t, s.DiscardDeadLetter(ctx(t), "missing"), store.ErrNotFound)
	if e := must[store.Effect](t)(s.GetEffect(ctx(t), "live")); e.Status != store.EffectLeased {
		t.Fatalf("leased effect became %s", e.Status)
	}

	// Eight admins retry dl1 at once: one requeues it.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.RequeueDeadLetter(ctx(t), "dl1", t0.Add(time.Minute)) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			isErr(t, err, store.ErrNotFound)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent requeues succeeded, want 1", ok)
	}
	e := must[store.Effect](t)(s.GetEffect(ctx(t), "dl1"))
	if e.Status != store.EffectPending || e.Attempts != 1 || e.LeaseOwner != "" || e.LastError != "400 from platform" {
		t.Fatalf("requeued effect %+v", e)
	}
	timeEq(t, "NextAttemptAt", e.NextAttemptAt, t0.Add(time.Minute))
	dead := must[[]store.Effect](t)(dropCursor(s.ListDeadLetters(ctx(t), store.Page{})))
	if got := ids(dead); !reflect.DeepEqual(got, []string{"dl2", "dl3"}) {
		t.Fatalf("dead letters %v after a requeue, want [dl2 dl3]", got)
	}
	again := must[[]store.Effect](t)(s.ClaimEffects(ctx(t), "b", 10, time.Minute, t0.Add(time.Minute)))
	if got := ids(again); !reflect.DeepEqual(got, []string{"dl1"}) || again[0].Attempts != 2 {
		t.Fatalf("claimed %+v after the requeue, want dl1 on its second attempt", again)
	}

	noErr(t, s.DiscardDeadLetter(ctx(t), "dl2"))
	isErr(t, s.DiscardDeadLetter(ctx(t), "dl2"), store.ErrNotFound)
	_, err := s.GetEffect(ctx(t), "dl2")
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.RequeueDeadLetter(ctx(t), "dl2", t0), store.ErrNotFound)
	dead = must[[]store.Effect](t)(dropCursor(s.ListDeadLetters(ctx(t), store.Page{})))
	if got := ids(dead); !reflect.DeepEqual(got, []string{"dl3"}) {
		t.Fatalf("dead letters %v after a discard, want [dl3]", got)
	}
}

// testWaitingSteps: waiting executions of one version counted by their
// Step, which GetExecution gives back and a later write moves; running,
// ended and other versions' executions, and those without a step, are
// left out.
func testWaitingSteps(t *testing.T, s store.Store) {
	execs := []struct {
		version string
		status  store.ExecutionStatus
		step    string
	}{
		{"ws1", store.ExecutionWaiting, store.StepOf("support", 2)},
		{"ws1", store.ExecutionWaiting, store.StepOf("support", 2)},
		{"ws1", store.ExecutionWaiting, store.StepOf("survey", 1)},  // in a subflow
		{"ws1", store.ExecutionWaiting, store.StepOf("support", 5)}, // moves to support:6 below
		{"ws1", store.ExecutionRunning, store.StepOf("support", 2)},
		{"ws1", store.ExecutionEnded, store.StepOf("support", 2)},
		{"ws1", store.ExecutionWaiting, ""},
		{"ws1", store.ExecutionWaiting, "not a step"},
		{"ws2", store.ExecutionWaiting, store.StepOf("support", 2)},
	}
	ids := make([]string, len(execs))
	for i, e := range execs {
		_, cv := conv(t, s, fmt.Sprintf("waiting-steps-%d", i))
		ids[i] = store.NewID()
		u := &store.Unit{At: t0, Execution: &store.ExecutionWrite{Execution: store.Execution{ID: ids[i],
			ConversationID: cv.ID, Flow: "support", ProgramVersion: e.version, Status: e.status, Step: e.step}}}
		wantOutcomes(t, commit(t, s, u), store.Committed)
	}
	x := must[store.Execution](t)(s.GetExecution(ctx(t), ids[3]))
	if x.Step != "support:5" {
		t.Fatalf("stored step %q, want support:5", x.Step)
	}
	x.Step = store.StepOf("support", 6)
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Execution: &store.ExecutionWrite{Execution: x, Expected: x.Version}}), store.Committed)
	got := must[[]store.StepCount](t)(s.WaitingSteps(ctx(t), "ws1"))
	sort.Slice(got, func(i, j int) bool {
		if got[i].Flow != got[j].Flow {
			return got[i].Flow < got[j].Flow
		}
		return got[i].State < got[j].State
	})
	want := []store.StepCount{{Flow: "support", State: 2, Waiting: 2}, {Flow: "support", State: 6, Waiting: 1}, {Flow: "survey", State: 1, Waiting: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("waiting steps %+v, want %+v", got, want)
	}
	if none := must[[]store.StepCount](t)(s.WaitingSteps(ctx(t), "no-such-version")); len(none) != 0 {
		t.Fatalf("waiting steps %+v of an unknown version", none)
	}
}

// testConversationFilters: by channel, by an address of the contact on
// any channel (after a merge too), combined with status.
func testConversationFilters(t *testing.T, s store.Store) {
	ana := must[store.Contact](t)(s.ResolveContact(ctx(t), "sms", "+15550001", "Ana"))
	bo := must[store.Contact](t)(s.ResolveContact(ctx(t), "whatsapp", "15550002", "Bo"))
	anaSMS := must[store.Conversation](t)(s.OpenConversation(ctx(t), ana.ID, "sms", "default"))
	anaChat := must[store.Conversation](t)(s.OpenConversation(ctx(t), ana.ID, "webchat", "default"))
	boWA := must[store.Conversation](t)(s.OpenConversation(ctx(t), bo.ID, "whatsapp", "default"))
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, CloseConversations: []string{anaChat.ID}}), store.Committed)

	list := func(f store.ConversationFilter) []string {
		t.Helper()
		cs := must[[]store.Conversation](t)(dropCursor(s.ListConversations(ctx(t), f, store.Page{})))
		return ids2(cs)
	}
	for _, tc := range []struct {
		name string
		f    store.ConversationFilter
		want []string
	}{
		{"channel", store.ConversationFilter{Channel: "sms"}, []string{anaSMS.ID}},
		{"address on any channel", store.ConversationFilter{Address: "+15550001"}, []string{anaSMS.ID, anaChat.ID}},
		{"address and status", store.ConversationFilter{Address: "+15550001", Status: store.ConversationOpen}, []string{anaSMS.ID}},
		{"address and channel", store.ConversationFilter{Address: "+15550001", Channel: "webchat"}, []string{anaChat.ID}},
		{"unknown address", store.ConversationFilter{Address: "+19999999"}, nil},
		{"unknown channel", store.ConversationFilter{Channel: "pigeon"}, nil},
	} {
		if got := list(tc.f); !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Bo merged into Ana: Bo's address finds the conversations of Ana, Bo's among them.
	noErr(t, s.LinkContacts(ctx(t), ana.ID, bo.ID))
	if got := list(store.ConversationFilter{Address: "15550002"}); !reflect.DeepEqual(got, []string{anaSMS.ID, anaChat.ID, boWA.ID}) {
		t.Errorf("address of a merged contact: %v, want %v", got, []string{anaSMS.ID, anaChat.ID, boWA.ID})
	}
}

// BenchWaitingSteps measures WaitingSteps, which the admin console calls
// every 3 seconds per flow picture open, over 20,000 waiting executions
// of one version spread over 7 steps, and as many of another version.
func BenchWaitingSteps(b *testing.B, open func(b *testing.B) store.Store) {
	s := open(b)
	const n, perBatch = 20000, 500
	for done := 0; done < 2*n; done += perBatch {
		batch := &store.Batch{}
		for i := done; i < done+perBatch; i++ {
			version := "bench-v1"
			if i >= n {
				version = "bench-v2"
			}
			contact, conv := store.NewID(), store.NewID()
			batch.Add(&store.Unit{At: t0,
				Contact:      &store.NewContact{ID: contact, Channel: "webchat", Address: fmt.Sprintf("bench-%d", i)},
				Conversation: &store.NewConversation{ID: conv, ContactID: contact, Channel: "webchat", Instance: "default"},
				Execution: &store.ExecutionWrite{Execution: store.Execution{ID: store.NewID(), ConversationID: conv, Flow: "support",
					ProgramVersion: version, Status: store.ExecutionWaiting, Step: store.StepOf("support", i%7)}}})
		}
		res, err := s.Commit(ctx(b), batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Outcome != store.Committed {
				b.Fatalf("setup unit %+v", r)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		counts, err := s.WaitingSteps(ctx(b), "bench-v1")
		if err != nil || len(counts) != 7 {
			b.Fatalf("%v %v", counts, err)
		}
	}
}
