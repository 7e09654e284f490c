package server_test

import (
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"
)

// BenchmarkOfferLatency measures, end to end on the embedded store, the
// time from a customer's message asking for an agent (the webhook's POST)
// to the offer arriving on the agent's WebSocket: the inbound commit, the
// router leader's round (its inbox, the assignment, its commit) and the
// stream's read of the event log. One message at a time; the figures are
// per message, p50 and p99 reported as metrics.
func BenchmarkOfferLatency(b *testing.B) {
	sb := start(b, setup{flow: agentFlow, running: true})
	r := call(b, "POST", sb.base+"/v1/workers", []byte(fmt.Sprintf(`{"id":"ana","attributes":{"languages":["en"]},"activity":"available","capacity":{"chat":%d}}`, b.N+1)), bearer(admin))
	if r.status != http.StatusCreated {
		b.Fatalf("create worker: %d %v", r.status, r.body)
	}
	stream := openStream(b, sb.base, "ana", r.body["token"].(string))
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := fmt.Sprintf(`{"id":"m%d","from":"customer-%d","text":"live agent please"}`, i, i)
		began := time.Now()
		postWebhook(b, sb.base, body)
		stream.event("reservation.created")
		latencies = append(latencies, time.Since(began))
	}
	b.StopTimer()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
