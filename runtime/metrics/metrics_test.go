package metrics

import (
	"strings"
	"sync"
	"testing"
)

func TestExposition(t *testing.T) {
	var r Registry
	in := r.Counter("switchboard_messages_in_total", "Inbound messages.", "channel")
	h := r.Histogram("switchboard_step_seconds", "Engine step latency.", []float64{0.001, 0.01, 0.1})
	r.Gauge("switchboard_outbox", "Outbox rows by status.", "status", func() map[string]float64 { return map[string]float64{"pending": 3, "dead": 1} })
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); in.Inc("sms"); in.Inc("webchat") }()
	}
	wg.Wait()
	h.Observe(0.0005)
	h.Observe(0.05)
	h.Observe(3)
	var b strings.Builder
	r.Write(&b)
	want := `# HELP switchboard_messages_in_total Inbound messages.
# TYPE switchboard_messages_in_total counter
switchboard_messages_in_total{channel="sms"} 100
switchboard_messages_in_total{channel="webchat"} 100
# HELP switchboard_step_seconds Engine step latency.
# TYPE switchboard_step_seconds histogram
switchboard_step_seconds_bucket{le="0.001"} 1
switchboard_step_seconds_bucket{le="0.01"} 1
switchboard_step_seconds_bucket{le="0.1"} 2
switchboard_step_seconds_bucket{le="+Inf"} 3
switchboard_step_seconds_sum 3.0505
switchboard_step_seconds_count 3
# HELP switchboard_outbox Outbox rows by status.
# TYPE switchboard_outbox gauge
switchboard_outbox{status="dead"} 1
switchboard_outbox{status="pending"} 3
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
