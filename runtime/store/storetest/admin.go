package storetest

import (
	"encoding/json"
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

// testWaitingSteps: waiting executions of one version counted by the flow
// and state of their payload's last frame; running, ended and other
// versions' executions, and payloads without frames, are left out.
func testWaitingSteps(t *testing.T, s store.Store) {
	frames := func(fs ...string) json.RawMessage {
		var out []map[string]any
		for i := 0; i < len(fs); i += 2 {
			var st int
			fmt.Sscan(fs[i+1], &st)
			out = append(out, map[string]any{"flow": fs[i], "state": st, "vars": map[string]any{}})
		}
		b, _ := json.Marshal(map[string]any{"id": "x", "frames": out, "wait": map[string]any{"kind": "reply"}})
		return b
	}
	execs := []struct {
		version string
		status  store.ExecutionStatus
		payload json.RawMessage
	}{
		{"ws1", store.ExecutionWaiting, frames("support", "2")},
		{"ws1", store.ExecutionWaiting, frames("support", "2")},
		{"ws1", store.ExecutionWaiting, frames("support", "0", "survey", "1")}, // in a subflow
		{"ws1", store.ExecutionWaiting, frames("support", "5")},
		{"ws1", store.ExecutionRunning, frames("support", "2")},
		{"ws1", store.ExecutionEnded, frames("support", "2")},
		{"ws1", store.ExecutionWaiting, json.RawMessage(`{"state":"ask"}`)},
		{"ws1", store.ExecutionWaiting, nil},
		{"ws2", store.ExecutionWaiting, frames("support", "2")},
	}
	for i, e := range execs {
		_, cv := conv(t, s, fmt.Sprintf("waiting-steps-%d", i))
		u := &store.Unit{At: t0, Execution: &store.ExecutionWrite{Execution: store.Execution{ID: store.NewID(),
			ConversationID: cv.ID, Flow: "support", ProgramVersion: e.version, Status: e.status, Payload: e.payload}}}
		wantOutcomes(t, commit(t, s, u), store.Committed)
	}
	got := must[[]store.StepCount](t)(s.WaitingSteps(ctx(t), "ws1"))
	sort.Slice(got, func(i, j int) bool {
		if got[i].Flow != got[j].Flow {
			return got[i].Flow < got[j].Flow
		}
		return got[i].State < got[j].State
	})
	want := []store.StepCount{{Flow: "support", State: 2, Waiting: 2}, {Flow: "support", State: 5, Waiting: 1}, {Flow: "survey", State: 1, Waiting: 1}}
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
