package procstat

import (
	"os"
	"testing"
	"time"
)

// The test's own process: it has used some CPU and holds some memory.
func TestSelf(t *testing.T) {
	// Busy for a few clock ticks, so the CPU time is not 0.
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
	}
	cpu, err := CPUTime(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Fatalf("CPUTime = %v, %v", cpu, err)
	}
	rss, peak, err := Memory(os.Getpid())
	if err != nil || rss <= 0 || peak < rss {
		t.Fatalf("Memory = %d, %d, %v", rss, peak, err)
	}
	if _, err := CPUTime(-1); err == nil {
		t.Fatal("CPUTime of no process: no error")
	}
}
