package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

func TestFlowFileIsGeneratedAndCompiles(t *testing.T) {
	b, err := os.ReadFile("flows/waiting.flow")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != waitingFlow() {
		t.Fatal("flows/waiting.flow differs from waitingFlow(): go run ./bench/waiting -write-flow bench/waiting/flows/waiting.flow")
	}
	prog, diags := compiler.CompileSources([]compiler.Source{{Name: "waiting.flow", Src: b}}, compiler.Options{})
	if prog == nil || diags.HasErrors() {
		t.Fatalf("waiting.flow does not compile:\n%v", diags)
	}
}

func TestLadderStep(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		in   time.Duration
		step int
		ok   bool
	}{
		{ladderBase, 0, true},
		{ladderBase + 1400*time.Millisecond, 1, true},
		{ladderBase + 1600*time.Millisecond, 2, true},
		{ladderBase + (ladderSteps-1)*time.Second, ladderSteps - 1, true},
		{ladderBase + ladderSteps*time.Second, ladderSteps - 1, false},
		{time.Second, 0, false},
	} {
		step, ok := ladderStep(t0, t0.Add(c.in))
		if step != c.step || ok != c.ok {
			t.Errorf("due in %s: step %d %v, want %d %v", c.in, step, ok, c.step, c.ok)
		}
	}
}

func TestPhases(t *testing.T) {
	ps, err := parsePhases("100x2s,50x4s")
	if err != nil || bulkCount(ps) != 400 {
		t.Fatalf("parsePhases: %v %v (%d timers)", ps, err, bulkCount(ps))
	}
	t0 := time.Unix(1_700_000_000, 0)
	starts := phaseStarts(ps, t0, 10*time.Second)
	for _, c := range []struct {
		k   int
		due time.Duration
	}{{0, 0}, {100, time.Second}, {199, 1990 * time.Millisecond}, {200, 12 * time.Second}, {399, 12*time.Second + 3980*time.Millisecond}} {
		if got := bulkDue(ps, starts, c.k).Sub(t0); got != c.due {
			t.Errorf("bulkDue(%d) = %s, want %s", c.k, got, c.due)
		}
	}
	for _, bad := range []string{"", "100", "x2s", "100x", "-1x2s", "100x2"} {
		if _, err := parsePhases(bad); err == nil {
			t.Errorf("parsePhases(%q) accepted", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := make([]int64, 1000)
	for i := range xs {
		xs[i] = int64(i + 1)
	}
	for _, c := range []struct {
		p    float64
		want int64
	}{{50, 500}, {99, 990}, {99.9, 999}, {100, 1000}, {0, 1}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %d, want %d", c.p, got, c.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("the percentile of nothing is not 0")
	}
}

// Fifty timers in two phases: every kind of mismatch is counted, and each lag lands in the phase
// of its due time.
func TestAnalyse(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ps := []phase{{10, 2 * time.Second}, {30, time.Second}}
	starts := phaseStarts(ps, t0, 5*time.Second)
	due, fired := map[string]int64{}, map[string][]int64{}
	for k := range bulkCount(ps) {
		d := bulkDue(ps, starts, k).UnixMicro()
		conv := "c" + strings.Repeat("x", k)
		due[conv] = d
		switch {
		case k == 3: // never fired
		case k == 4: // fired twice
			fired[conv] = []int64{d + 1000, d + 2000}
		case k < 20:
			fired[conv] = []int64{d + int64(k)*1000} // lag k ms
		default:
			fired[conv] = []int64{d + 500_000} // lag 500 ms
		}
	}
	fired["stranger"] = []int64{t0.UnixMicro()}
	r := analyse(due, fired, ps, starts)
	if r.missing != 1 || r.duplicates != 1 || r.unexpected != 1 || r.ok() {
		t.Fatalf("missing %d, duplicates %d, unexpected %d", r.missing, r.duplicates, r.unexpected)
	}
	if r.all.n != 49 || r.phases[0].n != 19 || r.phases[1].n != 30 {
		t.Fatalf("timers: all %d, phases %d %d", r.all.n, r.phases[0].n, r.phases[1].n)
	}
	if r.phases[0].max != 19_000 || r.phases[1].p50 != 500_000 || r.phases[1].peakDue != 30 {
		t.Fatalf("phase 0 max %d µs, phase 1 p50 %d µs, peak %d", r.phases[0].max, r.phases[1].p50, r.phases[1].peakDue)
	}
	lags := []int64{r.all.p50, r.all.p99, r.all.max}
	if !slices.IsSorted(lags) || r.all.max != 500_000 {
		t.Fatalf("all: p50 %d p99 %d max %d", lags[0], lags[1], lags[2])
	}
}
