package email

import (
	"slices"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// TestThreadsBounded: the memory holds at most max threads, forgetting
// the one written in least recently; a thread written in again is
// updated, not added twice; a forgotten or unknown thread is answered by
// its first message.
func TestThreadsBounded(t *testing.T) {
	ts := newThreads(2)
	msg := func(id, thread string, refs ...string) *parsed {
		return &parsed{in: connectors.Inbound{PlatformID: id, Thread: thread}, references: refs, subject: "s-" + id}
	}
	ts.remember(msg("a1@x", "a1@x"))
	ts.remember(msg("b1@x", "b1@x"))
	ts.remember(msg("a2@x", "a1@x", "a1@x", "ours@y"))
	ts.remember(msg("c1@x", "c1@x"))
	for _, tc := range []struct {
		thread  string
		refs    []string
		subject string
	}{
		{"a1@x", []string{"a1@x", "ours@y", "a2@x"}, "s-a2@x"},
		{"b1@x", []string{"b1@x"}, ""}, // forgotten: a1 was written in since
		{"c1@x", []string{"c1@x"}, "s-c1@x"},
		{"sha256:00ff", nil, ""},
		{"", nil, ""},
	} {
		got := ts.lookup(tc.thread)
		if !slices.Equal(got.references, tc.refs) || got.subject != tc.subject {
			t.Errorf("lookup(%q) = %+v, want %v %q", tc.thread, got, tc.refs, tc.subject)
		}
	}
	if ts.order.Len() != 2 || len(ts.m) != 2 {
		t.Errorf("%d in order, %d in the map, want 2", ts.order.Len(), len(ts.m))
	}
}
