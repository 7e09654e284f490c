package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// BenchmarkOfferLatencyWorkers measures message → offer with many agents
// connected and customers writing at once: SWITCHBOARD_BENCH_WORKERS
// workers (default 50) hold a WebSocket stream each, and customers post
// "live agent please" through the custom connector at
// SWITCHBOARD_BENCH_RATE messages a second (default 100; 0: as fast as
// SWITCHBOARD_BENCH_POSTERS concurrent posters, default 8, get their
// webhooks acknowledged), never waiting for the offers. A message's
// latency runs from the start of its POST to the arrival of its task's
// offer (reservation.created) on whichever worker's stream the router
// chose; p50, p99 and the worst are reported as metrics.
func BenchmarkOfferLatencyWorkers(b *testing.B) {
	nWorkers, nPosters := benchEnv(b, "SWITCHBOARD_BENCH_WORKERS", 50, 1), benchEnv(b, "SWITCHBOARD_BENCH_POSTERS", 8, 1)
	rate := benchEnv(b, "SWITCHBOARD_BENCH_RATE", 100, 0)
	sb := start(b, setup{flow: agentFlow, running: true})
	type arrival struct {
		task string
		at   time.Time
	}
	arrivals := make(chan arrival, 4*b.N)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readers sync.WaitGroup
	for w := range nWorkers {
		id := fmt.Sprintf("w%03d", w)
		r := call(b, "POST", sb.base+"/v1/workers", []byte(fmt.Sprintf(`{"id":%q,"attributes":{"languages":["en"]},"activity":"available","capacity":{"chat":%d}}`, id, b.N+1)), bearer(admin))
		if r.status != http.StatusCreated {
			b.Fatalf("create worker: %d %v", r.status, r.body)
		}
		u := "ws" + strings.TrimPrefix(sb.base, "http") + "/v1/workers/" + id + "/stream?access_token=" + r.body["token"].(string)
		conn, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			b.Fatalf("stream of %s: %v", id, err)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			go func() { <-ctx.Done(); conn.Close() }()
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					return
				}
				at := time.Now()
				var f struct {
					Type  string `json:"type"`
					Event struct {
						Type string `json:"type"`
						Task string `json:"task_id"`
					} `json:"event"`
				}
				if json.Unmarshal(msg, &f) == nil && f.Type == "event" && f.Event.Type == "reservation.created" {
					arrivals <- arrival{f.Event.Task, at}
				}
			}
		}()
	}
	posted := make([]time.Time, b.N) // by message number: customer-N
	next := make(chan int)
	var posters sync.WaitGroup
	b.ResetTimer()
	for range nPosters {
		posters.Add(1)
		go func() {
			defer posters.Done()
			for i := range next {
				body := fmt.Sprintf(`{"id":"m%d","from":"customer-%d","text":"live agent please"}`, i, i)
				posted[i] = time.Now()
				req, _ := http.NewRequest("POST", sb.base+"/v1/webhooks/custom/default", strings.NewReader(body))
				req.Header = signed(body, time.Now())
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Errorf("webhook %d: %v %v", i, resp, err)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	var tick <-chan time.Time
	if rate > 0 {
		ticker := time.NewTicker(time.Second / time.Duration(rate))
		defer ticker.Stop()
		tick = ticker.C
	}
	for i := range b.N {
		if tick != nil {
			<-tick
		}
		next <- i
	}
	close(next)
	posters.Wait()
	// A task's first offer counts; another (its first offer timed out) is
	// counted apart, as it says a worker did not answer in time.
	got := make([]arrival, 0, b.N)
	seen := map[string]bool{}
	again := 0
	timeout := time.After(60 * time.Second)
	for len(got) < b.N {
		select {
		case a := <-arrivals:
			if seen[a.task] {
				again++
				continue
			}
			seen[a.task] = true
			got = append(got, a)
		case <-timeout:
			b.Fatalf("%d offers of %d arrived", len(got), b.N)
		}
	}
	b.StopTimer()
	cancel()
	readers.Wait()
	// Which customer each offered task is for: read after the clock stopped.
	latencies := make([]time.Duration, 0, b.N)
	for _, a := range got {
		task, err := sb.store.GetTask(context.Background(), a.task)
		if err != nil {
			b.Fatal(err)
		}
		c, err := sb.store.GetContact(context.Background(), task.ContactID)
		if err != nil || len(c.Addresses) == 0 {
			b.Fatalf("contact of task %s: %+v %v", a.task, c, err)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(c.Addresses[0].Address, "customer-"))
		if err != nil {
			b.Fatalf("address %q", c.Addresses[0].Address)
		}
		latencies = append(latencies, a.at.Sub(posted[n]))
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
	b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
	b.ReportMetric(ms(latencies[len(latencies)-1]), "max-ms")
	b.ReportMetric(float64(again), "reoffers")
}

// benchEnv reads a whole number of at least least from the environment.
func benchEnv(b *testing.B, name string, def, least int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		b.Fatalf("%s=%q: want a whole number from %d", name, v, least)
	}
	return n
}
