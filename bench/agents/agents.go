package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// agent is one worker with its token.
type agent struct {
	id, token string
}

// maxAPIConns bounds the connections of the customers' and agents' API calls: the server holds
// them besides the streams, under the same descriptor limit.
const maxAPIConns = 256

// bench is one run's state, shared by the streams' readers, the agents' calls and the customers.
type bench struct {
	cfg    config
	t      *target
	client *http.Client
	prefix string // of this run's workers, customers and message ids
	agents []*agent
	takes  sync.WaitGroup // the agents' calls on offers in flight

	mu        sync.Mutex
	closing   bool
	posted    []time.Time // by message number, when its POST started
	postedOK  []bool
	offered   map[string]bool       // reservations seen
	tasks     map[string]bool       // tasks offered
	arrival   map[int]time.Duration // message number → its first offer's latency
	answered  []time.Duration       // each webhook's answer time (the message is stored then)
	completed map[int]bool          // messages whose task was accepted, wrapped up and completed
	counts    map[string]int        // errors by kind, duplicate frames, reoffers, closed streams
	samples   []string              // the first errors, said
	allDone   chan struct{}         // closed when every message posted has its task completed
	expected  int                   // messages posted with a 200 (-1 until all are posted)
	holders   []*holder
}

func newBench(cfg config, t *target) *bench {
	tr := &http.Transport{MaxConnsPerHost: maxAPIConns, MaxIdleConnsPerHost: maxAPIConns, IdleConnTimeout: time.Minute}
	return &bench{cfg: cfg, t: t, client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		prefix:  "ag" + strconv.FormatInt(time.Now().Unix()%1e6, 36) + "-",
		offered: map[string]bool{}, tasks: map[string]bool{}, arrival: map[int]time.Duration{},
		counts: map[string]int{}, allDone: make(chan struct{}), expected: -1, completed: map[int]bool{}}
}

// fail counts an error of a kind and keeps the first few said.
func (b *bench) fail(kind string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counts[kind]++
	if len(b.samples) < 10 {
		b.samples = append(b.samples, kind+": "+err.Error())
	}
}

// call makes an API request with a bearer token and decodes a JSON answer into out (if not nil);
// any status but want is an error.
func (b *bench) call(ctx context.Context, method, path, token string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, b.t.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// forEach runs f(i) for i in [0, n) on width goroutines, stopping at the first error.
func forEach(ctx context.Context, n, width int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(width, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	return context.Cause(ctx)
}

// createWorkers creates the run's workers through the admin API, available in the desk queue.
func (b *bench) createWorkers(ctx context.Context) error {
	b.agents = make([]*agent, b.cfg.n)
	return forEach(ctx, b.cfg.n, b.cfg.creators, func(ctx context.Context, i int) error {
		id := fmt.Sprintf("%sw%05d", b.prefix, i)
		body := fmt.Sprintf(`{"id":%q,"activity":"available","attributes":{"departments":["desk"]},"capacity":{"chat":%d}}`, id, b.cfg.capacity)
		var out struct {
			Token string `json:"token"`
		}
		if err := b.call(ctx, "POST", "/v1/workers", b.t.admin, []byte(body), http.StatusCreated, &out); err != nil {
			return fmt.Errorf("create worker %s: %w", id, err)
		}
		b.agents[i] = &agent{id: id, token: out.Token}
		return nil
	})
}

// firstOffer records an offer frame: false when its reservation was seen already.
func (b *bench) firstOffer(reservation, task string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.offered[reservation] {
		b.counts["offer frame twice"]++
		return false
	}
	b.offered[reservation] = true
	if b.tasks[task] {
		b.counts["task offered again"]++
	}
	b.tasks[task] = true
	return true
}

// take does what an agent desktop does with an offer: accept it, read the task, wrap it up and
// complete it. The latency counts up to the offer frame's arrival only.
func (b *bench) take(a *agent, reservation, task string, at time.Time) {
	ctx := context.Background()
	if err := b.call(ctx, "POST", "/v1/reservations/"+reservation+"/accept", a.token, []byte("{}"), http.StatusOK, nil); err != nil {
		b.fail("accept", err)
		return
	}
	var t struct {
		Attributes struct {
			Customer string `json:"customer"`
		} `json:"attributes"`
	}
	if err := b.call(ctx, "GET", "/v1/tasks/"+task, a.token, nil, http.StatusOK, &t); err != nil {
		b.fail("read task", err)
		return
	}
	n, err := strconv.Atoi(strings.TrimPrefix(t.Attributes.Customer, b.prefix+"c"))
	if err != nil || !strings.HasPrefix(t.Attributes.Customer, b.prefix+"c") {
		b.fail("read task", fmt.Errorf("task %s is for %q, not a customer of this run", task, t.Attributes.Customer))
		return
	}
	b.mu.Lock()
	if n < len(b.posted) && !b.posted[n].IsZero() {
		if _, seen := b.arrival[n]; !seen {
			b.arrival[n] = at.Sub(b.posted[n])
		}
	}
	b.mu.Unlock()
	for _, verb := range []string{"wrapup", "complete"} {
		if err := b.call(ctx, "POST", "/v1/tasks/"+task+"/"+verb, a.token, []byte("{}"), http.StatusOK, nil); err != nil {
			b.fail(verb, err)
			return
		}
	}
	b.mu.Lock()
	b.completed[n] = true
	b.checkDone()
	b.mu.Unlock()
}

// checkDone closes allDone once every message posted is completed; b.mu is held.
func (b *bench) checkDone() {
	if b.expected >= 0 && len(b.completed) >= b.expected {
		select {
		case <-b.allDone:
		default:
			close(b.allDone)
		}
	}
}

// post sends customer message n through the custom connector, signed.
func (b *bench) post(ctx context.Context, n int) {
	body := []byte(fmt.Sprintf(`{"id":"%sm%d","from":"%sc%d","text":"live agent please"}`, b.prefix, n, b.prefix, n))
	req, err := http.NewRequestWithContext(ctx, "POST", b.t.base+"/v1/webhooks/custom/default", bytes.NewReader(body))
	if err != nil {
		b.fail("post", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	custom.SignHeader(req.Header, b.t.secret, start, body)
	b.mu.Lock()
	b.posted[n] = start
	b.mu.Unlock()
	resp, err := b.client.Do(req)
	if err != nil {
		b.fail("post", err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.fail("post", fmt.Errorf("message %d: %s", n, resp.Status))
		return
	}
	b.mu.Lock()
	b.postedOK[n] = true
	b.answered = append(b.answered, time.Since(start))
	b.mu.Unlock()
}

// customers posts cfg.rate messages a second for cfg.duration, each on its schedule whatever
// the answers to the previous ones, and waits for the answers.
func (b *bench) customers(ctx context.Context) {
	total := int(b.cfg.duration.Seconds() * float64(b.cfg.rate))
	total = max(total, 1)
	b.posted, b.postedOK = make([]time.Time, total), make([]bool, total)
	interval := time.Second / time.Duration(b.cfg.rate)
	start := time.Now()
	var wg sync.WaitGroup
	for n := range total {
		if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				wg.Wait()
				return
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.post(ctx, n)
		}()
	}
	wg.Wait()
	b.mu.Lock()
	b.expected = 0
	for _, ok := range b.postedOK {
		if ok {
			b.expected++
		}
	}
	b.checkDone()
	b.mu.Unlock()
}
