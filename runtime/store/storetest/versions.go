package storetest

import (
	"slices"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// testLiveProgramVersions: the versions of running and waiting executions,
// each once; not those of ended or failed ones, nor saved programs no
// execution runs.
func testLiveProgramVersions(t *testing.T, s store.Store) {
	if got := must[[]string](t)(s.LiveProgramVersions(ctx(t))); len(got) != 0 {
		t.Fatalf("versions %q of an empty store", got)
	}
	noErr(t, s.SaveProgram(ctx(t), "v-saved", []byte(`{}`), true))
	execs := []struct {
		version string
		status  store.ExecutionStatus
	}{
		{"v1", store.ExecutionWaiting},
		{"v1", store.ExecutionRunning},
		{"v2", store.ExecutionRunning},
		{"v3", store.ExecutionEnded},
		{"v4", store.ExecutionFailed},
		{"v5", store.ExecutionWaiting}, // ends below
	}
	ids := make([]string, len(execs))
	for i, e := range execs {
		_, cv := conv(t, s, "versions-"+e.version+"-"+string(e.status))
		ids[i] = store.NewID()
		u := &store.Unit{At: t0, Execution: &store.ExecutionWrite{Execution: store.Execution{ID: ids[i],
			ConversationID: cv.ID, Flow: "support", ProgramVersion: e.version, Status: e.status}}}
		wantOutcomes(t, commit(t, s, u), store.Committed)
	}
	got := must[[]string](t)(s.LiveProgramVersions(ctx(t)))
	slices.Sort(got)
	if !slices.Equal(got, []string{"v1", "v2", "v5"}) {
		t.Fatalf("live versions %q, want [v1 v2 v5]", got)
	}
	x := must[store.Execution](t)(s.GetExecution(ctx(t), ids[5]))
	x.Status = store.ExecutionEnded
	wantOutcomes(t, commit(t, s, &store.Unit{At: t0, Execution: &store.ExecutionWrite{Execution: x, Expected: x.Version}}), store.Committed)
	got = must[[]string](t)(s.LiveProgramVersions(ctx(t)))
	slices.Sort(got)
	if !slices.Equal(got, []string{"v1", "v2"}) {
		t.Fatalf("live versions %q after v5's execution ended, want [v1 v2]", got)
	}
}
