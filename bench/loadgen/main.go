// Command loadgen drives Switchboard's custom connector with the routing peers' message mix and
// checks every answer.
//
// It is the counterpart of ../shared/peers/loadgen for a Switchboard runtime serving
// bench/flows/routing.flow behind a custom connector instance: the same closed loop (-c keep-alive
// connections on fasthttp's client, each sending its next request as soon as the previous answer
// arrived, for -d after a -warmup, -runs times, the median reported), the same 100-message mix
// (10 % "live agent", the rest including near misses), but every request is a signed webhook
//
//	POST /v1/webhooks/custom/{instance}
//	X-Switchboard-Timestamp: <unix seconds>
//	X-Switchboard-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	{"id":"<unique>","from":"<contact>","text":"I want a live agent"}
//
// with a unique message id (so no delivery is a duplicate), and every answer is checked: status 200
// and the inline answer that message must get, {"replies":[{"to":<from>,"text":"Thanks, a bot
// will help you",…}],"enqueued":[]} or {"replies":[],"enqueued":[{"workflow":"support_routing",…}]}.
// A wrong answer is an error like a failed request; any error makes the exit status 1.
//
// By default (-contacts 0) every message comes from a new contact, so every message creates a
// contact and a conversation and starts a flow, which is what the peers' loadgen asks of the
// peers. With -contacts N the messages rotate over N contacts; each contact's messages are sent
// one at a time, and the checker follows its conversation: once a contact's flow has enqueued its
// task (which nothing completes until the router exists), its later messages join that
// conversation and must get an empty answer ("absorbed"); after a bot reply the flow has ended and
// the next message starts a new one.
//
// Several -url values (repeated, or comma-separated) are nodes of one deployment: each connection
// is pinned to one of them, round-robin, and the results give each node's counts too (targets.go).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

type config struct {
	targets  []*url.URL // connection w sends to targets[targetOf(w, len(targets))]
	secret   string
	conns    int
	duration time.Duration
	warmup   time.Duration
	timeout  time.Duration
	msgs     []message
	runID    string     // makes this invocation's message ids and contacts unique
	contacts []*contact // nil: every message from a new contact
	// voiceToken, when set, is the auth token of a twilio_voice instance: calls mode (calls.go).
	voiceToken string
	callers    atomic.Uint64 // the callers' numbers so far
	// preflightSent counts the preflight's messages per target: work the targets did that the
	// runs' counts leave out.
	preflightSent []int
	next          atomic.Uint64
}

// clients makes one client per target, each allowed the connections pinned to it.
func (cfg *config) clients() []*fasthttp.HostClient {
	per := connsPerTarget(cfg.conns, len(cfg.targets))
	out := make([]*fasthttp.HostClient, len(cfg.targets))
	for i, u := range cfg.targets {
		out[i] = hostClient(u, per[i], cfg.timeout)
	}
	return out
}

func closeIdle(clients []*fasthttp.HostClient) {
	for _, c := range clients {
		c.CloseIdleConnections()
	}
}

// sender sends signed messages on one connection's worth of buffers.
type sender struct {
	cfg    *config
	target *url.URL
	client *fasthttp.HostClient
	sign   *signer
	req    *fasthttp.Request
	resp   *fasthttp.Response
	body   []byte
	id     []byte
	idLen  int // length of the id's fixed prefix
	from   []byte
	serial int64
}

func newSender(cfg *config, target *url.URL, client *fasthttp.HostClient, idPrefix string) *sender {
	s := &sender{cfg: cfg, target: target, client: client, sign: newSigner(cfg.secret),
		req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse()}
	s.req.Header.SetMethod(fasthttp.MethodPost)
	s.req.Header.SetContentType("application/json")
	s.req.Header.SetHost(target.Host)
	s.req.SetRequestURI(target.RequestURI())
	s.id = append(s.id, idPrefix...)
	s.idLen = len(s.id)
	return s
}

func (s *sender) release() {
	fasthttp.ReleaseRequest(s.req)
	fasthttp.ReleaseResponse(s.resp)
}

// nextMessage makes the next unique message id, and the sender's own new contact for it.
func (s *sender) nextMessage() (id, newFrom []byte) {
	s.serial++
	s.id = strconv.AppendInt(s.id[:s.idLen], s.serial, 10)
	s.from = append(append(s.from[:0], "u-"...), s.id...)
	return s.id, s.from
}

// send sends m (or, in calls mode, a new call) and waits for the answer (s.resp).
func (s *sender) send(m message, id, from []byte) error {
	if s.cfg.voiceToken != "" {
		return s.doCall(id)
	}
	return s.do(m, id, from)
}

// check checks the answer to what send sent.
func (s *sender) check(st contactState, m message, from []byte) (reaction, contactState, error) {
	if s.cfg.voiceToken != "" {
		got, err := checkCall(s.resp.StatusCode(), s.resp.Header.ContentType(), s.resp.Body())
		return got, contactIdle, err
	}
	return check(st, m, s.resp.StatusCode(), s.resp.Body(), string(from))
}

// do sends m from from with message id id and waits for the answer (s.resp).
func (s *sender) do(m message, id, from []byte) error {
	s.body = appendBody(s.body[:0], id, from, m)
	ts, sig := s.sign.sign(time.Now().Unix(), s.body)
	s.req.Header.SetBytesV(custom.HeaderTimestamp, ts)
	s.req.Header.SetBytesV(custom.HeaderSignature, sig)
	s.req.SetBodyRaw(s.body)
	return s.client.DoTimeout(s.req, s.resp, s.cfg.timeout)
}

type errKind int

const (
	errTransport errKind = iota
	errStatus
	errBody
	errKinds
)

// workerResult is what one connection's loop measured.
type workerResult struct {
	latencies []time.Duration // of the answers inside the measurement window
	reactions [reactions]int  // inside the window
	sent      int             // requests of the whole run, warmup included
	errs      [errKinds]int   // of the whole run, warmup included
	examples  []string
	target    int
}

type runResult struct {
	messages      int // answered inside the window
	sent          int // requests of the whole run, warmup included
	reactions     [reactions]int
	rps           float64
	p50, p90, p99 time.Duration
	max           time.Duration
	errs          [errKinds]int
	examples      []string
	byTarget      []targetCount
}

func (r runResult) errorCount() int {
	return r.errs[errTransport] + r.errs[errStatus] + r.errs[errBody]
}

func run(cfg *config, runIdx int) runResult {
	clients := cfg.clients()
	defer closeIdle(clients)

	start := time.Now()
	measureFrom := start.Add(cfg.warmup)
	measureTo := measureFrom.Add(cfg.duration)

	results := make([]workerResult, cfg.conns)
	var wg sync.WaitGroup
	for w := range cfg.conns {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			res := &results[w]
			res.latencies = make([]time.Duration, 0, 1<<12)
			res.target = targetOf(w, len(cfg.targets))
			s := newSender(cfg, cfg.targets[res.target], clients[res.target], fmt.Sprintf("%s-r%d-w%d-", cfg.runID, runIdx, w))
			defer s.release()
			// Each connection walks the message table from its own offset, so the mix holds globally.
			i := w * 7
			for {
				m := cfg.msgs[i%len(cfg.msgs)]
				i++
				id, from := s.nextMessage()
				var c *contact
				state := contactIdle
				if cfg.contacts != nil {
					c = cfg.contacts[(cfg.next.Add(1)-1)%uint64(len(cfg.contacts))]
					c.mu.Lock()
					from, state = c.from, c.state
				}
				sent := time.Now()
				if !sent.Before(measureTo) {
					if c != nil {
						c.mu.Unlock()
					}
					return
				}
				err := s.send(m, id, from)
				done := time.Now()
				res.sent++
				kind, got := errKind(-1), reaction(-1)
				if err != nil {
					kind, state = errTransport, contactUnknown
				} else {
					got, state, err = s.check(state, m, from)
					if err != nil {
						got, kind = -1, errBody
						if s.resp.StatusCode() != fasthttp.StatusOK {
							kind = errStatus
						}
					}
				}
				if c != nil {
					c.state = state
					c.mu.Unlock()
				}
				if kind >= 0 {
					res.errs[kind]++
					if len(res.examples) < 3 {
						res.examples = append(res.examples, err.Error())
					}
					if kind == errTransport {
						time.Sleep(10 * time.Millisecond) // don't spin on a dead server
					}
				}
				if done.Before(measureFrom) || done.After(measureTo) {
					continue
				}
				res.latencies = append(res.latencies, done.Sub(sent))
				if got >= 0 {
					res.reactions[got]++
				}
			}
		}(w)
	}
	wg.Wait()
	return aggregate(results, len(cfg.targets), cfg.duration)
}

// aggregate sums the connections' results of one run, also per target.
func aggregate(results []workerResult, targets int, window time.Duration) runResult {
	out := runResult{byTarget: make([]targetCount, targets)}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.latencies...)
		tc := &out.byTarget[r.target]
		tc.messages += len(r.latencies)
		tc.sent += r.sent
		tc.errors += r.errs[errTransport] + r.errs[errStatus] + r.errs[errBody]
		for k := range reactions {
			out.reactions[k] += r.reactions[k]
		}
		for k := range errKinds {
			out.errs[k] += r.errs[k]
		}
		out.sent += r.sent
		if len(out.examples) < 5 {
			out.examples = append(out.examples, r.examples...)
		}
	}
	out.messages = len(all)
	out.rps = float64(out.messages) / window.Seconds()
	if len(all) > 0 {
		slices.Sort(all)
		out.p50 = percentile(all, 0.50)
		out.p90 = percentile(all, 0.90)
		out.p99 = percentile(all, 0.99)
		out.max = all[len(all)-1]
	}
	return out
}

// percentile uses the nearest-rank method on sorted samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r runResult) line(label string) string {
	return fmt.Sprintf("%-7s %10.1f msg/s  p50 %.3fms  p90 %.3fms  p99 %.3fms  max %.3fms  messages %d (reply %d, enqueue %d, absorbed %d, call %d)  errors %d (transport %d, status %d, body %d)",
		label, r.rps, millis(r.p50), millis(r.p90), millis(r.p99), millis(r.max), r.messages,
		r.reactions[reactReply], r.reactions[reactEnqueue], r.reactions[reactAbsorbed], r.reactions[reactCall],
		r.errorCount(), r.errs[errTransport], r.errs[errStatus], r.errs[errBody])
}

// preflight sends every message of the mix once, one at a time, each from a new contact, and
// fails on the first wrong answer, so a broken target (wrong secret, wrong flow, store down) is
// reported before any timing starts. With a contact pool it also checks the conversation model:
// a second message from a contact whose flow enqueued is absorbed; after a reply, the next
// message starts a flow again.
func preflight(cfg *config) error {
	clients := cfg.clients()
	defer closeIdle(clients)
	cfg.preflightSent = make([]int, len(cfg.targets))
	for i, u := range cfg.targets {
		if err := preflightTarget(cfg, u, clients[i], fmt.Sprintf("%s-pre%d-", cfg.runID, i), &cfg.preflightSent[i]); err != nil {
			if len(cfg.targets) > 1 {
				return fmt.Errorf("%s: %w", u.Host, err)
			}
			return err
		}
	}
	return nil
}

// preflightTarget is preflight against one target, counting the messages it sends there.
func preflightTarget(cfg *config, u *url.URL, client *fasthttp.HostClient, idPrefix string, sent *int) error {
	s := newSender(cfg, u, client, idPrefix)
	defer s.release()
	send := func(m message, from []byte, st contactState) (contactState, error) {
		id, _ := s.nextMessage()
		*sent++
		if err := s.send(m, id, from); err != nil {
			return st, fmt.Errorf("preflight %q: %w", m.text, err)
		}
		_, next, err := s.check(st, m, from)
		if err != nil {
			return st, fmt.Errorf("preflight: %w", err)
		}
		return next, nil
	}
	var live, bot []byte
	var liveState, botState contactState
	for _, m := range cfg.msgs {
		_, from := s.nextMessage()
		from = slices.Clone(from)
		st, err := send(m, from, contactIdle)
		if err != nil {
			return err
		}
		if m.enqueue && live == nil {
			live, liveState = from, st
		} else if !m.enqueue && bot == nil {
			bot, botState = from, st
		}
	}
	if cfg.contacts == nil || live == nil || bot == nil {
		return nil
	}
	for _, m := range cfg.msgs[:min(len(cfg.msgs), 3)] {
		var err error
		if liveState, err = send(m, live, liveState); err != nil {
			return fmt.Errorf("%w (a message from a contact whose flow waits for its task)", err)
		}
		if botState, err = send(m, bot, botState); err != nil {
			return fmt.Errorf("%w (a message from a contact whose flow ended)", err)
		}
	}
	return nil
}

type jsonRun struct {
	RPS       float64 `json:"rps"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	Messages  int     `json:"messages"`
	Replies   int     `json:"replies"`
	Enqueued  int     `json:"enqueued"`
	Absorbed  int     `json:"absorbed"`
	Sent      int     `json:"sent"`
	Errors    int     `json:"errors"`
	Transport int     `json:"errors_transport"`
	Status    int     `json:"errors_status"`
	Body      int     `json:"errors_body"`
}

// jsonSummary keeps the peers' loadgen field names (rps, p50_ms, p99_ms, errors, median_*,
// errors_total), so one reader handles both.
type jsonSummary struct {
	Name          string    `json:"name"`
	URL           string    `json:"url"`
	Conns         int       `json:"conns"`
	DurationS     float64   `json:"duration_s"`
	WarmupS       float64   `json:"warmup_s"`
	Runs          int       `json:"runs"`
	Contacts      int       `json:"contacts"`
	Results       []jsonRun `json:"results"`
	RPS           []float64 `json:"rps"`
	P50ms         []float64 `json:"p50_ms"`
	P90ms         []float64 `json:"p90_ms"`
	P99ms         []float64 `json:"p99_ms"`
	MaxMs         []float64 `json:"max_ms"`
	Errors        []int     `json:"errors"`
	MedianRPS     float64   `json:"median_rps"`
	MedianP50     float64   `json:"median_p50_ms"`
	MedianP90     float64   `json:"median_p90_ms"`
	MedianP99     float64   `json:"median_p99_ms"`
	MedianMax     float64   `json:"median_max_ms"`
	ErrorsSum     int       `json:"errors_total"`
	MessagesSum   int       `json:"messages_total"`
	SentSum       int       `json:"sent_total"`
	LoadgenCPUSec float64   `json:"loadgen_cpu_s"`
	WallSec       float64   `json:"wall_s"`
	// One entry per target, in -url order, summed over the runs (sent and errors include the
	// warmups), so a script can charge each node's CPU to the messages it answered.
	URLs             []string `json:"urls"`
	SentByTarget     []int    `json:"sent_by_target"`
	MessagesByTarget []int    `json:"messages_by_target"`
	ErrorsByTarget   []int    `json:"errors_by_target"`
	PreflightSent    []int    `json:"preflight_by_target"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func summarize(sum *jsonSummary, results []runResult) {
	for _, r := range results {
		j := jsonRun{RPS: r.rps, P50ms: millis(r.p50), P90ms: millis(r.p90), P99ms: millis(r.p99), MaxMs: millis(r.max),
			Messages: r.messages, Replies: r.reactions[reactReply], Enqueued: r.reactions[reactEnqueue], Absorbed: r.reactions[reactAbsorbed],
			Sent: r.sent, Errors: r.errorCount(), Transport: r.errs[errTransport], Status: r.errs[errStatus], Body: r.errs[errBody]}
		sum.Results = append(sum.Results, j)
		sum.RPS = append(sum.RPS, j.RPS)
		sum.P50ms = append(sum.P50ms, j.P50ms)
		sum.P90ms = append(sum.P90ms, j.P90ms)
		sum.P99ms = append(sum.P99ms, j.P99ms)
		sum.MaxMs = append(sum.MaxMs, j.MaxMs)
		sum.Errors = append(sum.Errors, j.Errors)
		sum.ErrorsSum += j.Errors
		sum.MessagesSum += j.Messages
		sum.SentSum += j.Sent
		for i, tc := range r.byTarget {
			if i >= len(sum.SentByTarget) {
				sum.SentByTarget = append(sum.SentByTarget, 0)
				sum.MessagesByTarget = append(sum.MessagesByTarget, 0)
				sum.ErrorsByTarget = append(sum.ErrorsByTarget, 0)
			}
			sum.SentByTarget[i] += tc.sent
			sum.MessagesByTarget[i] += tc.messages
			sum.ErrorsByTarget[i] += tc.errors
		}
	}
	sum.MedianRPS = median(sum.RPS)
	sum.MedianP50 = median(sum.P50ms)
	sum.MedianP90 = median(sum.P90ms)
	sum.MedianP99 = median(sum.P99ms)
	sum.MedianMax = median(sum.MaxMs)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func newRunID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "lg" + hex.EncodeToString(b)
}

func main() {
	var (
		targets   = urlList{vals: []string{"http://127.0.0.1:8080/v1/webhooks/custom/default"}}
		secret    = flag.String("secret", os.Getenv("SWITCHBOARD_BENCH_SECRET"), "the instance's secret (default $SWITCHBOARD_BENCH_SECRET)")
		conns     = flag.Int("c", 64, "concurrent keep-alive connections")
		duration  = flag.Duration("d", 10*time.Second, "measured duration of each run")
		warmup    = flag.Duration("warmup", 2*time.Second, "unmeasured load before each run")
		runs      = flag.Int("runs", 3, "number of runs; the median is reported too")
		contacts  = flag.Int("contacts", 0, "distinct contacts the messages rotate over; 0: every message from a new contact")
		liveShare = flag.Float64("live", 0.10, "share of messages that ask for a live agent")
		timeout   = flag.Duration("timeout", 5*time.Second, "per-request timeout")
		name      = flag.String("name", "", "label printed with the results")
		jsonOut   = flag.String("json", "", "also write a JSON summary to this file")
		voice     = flag.String("twilio-voice", os.Getenv("SWITCHBOARD_BENCH_TWILIO_TOKEN"), "calls mode: -url is a twilio_voice instance serving flows/ivr.flow with this auth token; every request is a new call")
	)
	flag.Var(&targets, "url", "the custom connector instance's webhook URL (http only); repeat it or separate URLs with commas to spread the connections round-robin over several nodes")
	flag.Parse()
	urls, err := parseTargets(targets.vals)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if *secret == "" && *voice == "" {
		fmt.Fprintln(os.Stderr, "loadgen: need -secret (or $SWITCHBOARD_BENCH_SECRET): the custom connector instance's secret")
		os.Exit(2)
	}
	if *conns < len(urls) {
		fmt.Fprintf(os.Stderr, "loadgen: -c %d is fewer connections than the %d targets\n", *conns, len(urls))
		os.Exit(2)
	}
	if *conns < 1 || *runs < 1 || *duration <= 0 || *warmup < 0 || *contacts < 0 || *liveShare < 0 || *liveShare > 1 {
		fmt.Fprintln(os.Stderr, "loadgen: need -c >= 1, -runs >= 1, -d > 0, -warmup >= 0, -contacts >= 0, 0 <= -live <= 1")
		os.Exit(2)
	}
	wall := time.Now()
	cfg := &config{targets: urls, secret: *secret, conns: *conns, duration: *duration, warmup: *warmup, timeout: *timeout,
		msgs: buildMessages(100, *liveShare), runID: newRunID(), voiceToken: *voice}
	who := "a new contact per message"
	if *voice != "" {
		who = "every request a new call from a new number"
	}
	if *contacts > 0 {
		cfg.contacts = newContacts(*contacts, cfg.runID)
		who = fmt.Sprintf("%d contacts", *contacts)
		if *contacts < *conns {
			who += fmt.Sprintf(" (fewer than the %d connections: a contact sends one message at a time, so at most %d are in flight)", *conns, *contacts)
		}
	}
	if err := preflight(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}

	label := *name
	if label == "" {
		label = urls[0].Host
	}
	fmt.Printf("%s: %s, %d connections, %d x %s measured after %s warmup, %.0f%% live-agent messages, %s\n",
		label, targets.String(), *conns, *runs, *duration, *warmup, 100**liveShare, who)
	var results []runResult
	for i := range *runs {
		r := run(cfg, i+1)
		results = append(results, r)
		fmt.Println(r.line(fmt.Sprintf("run %d", i+1)))
		if l := targetsLine(urls, r.byTarget); l != "" {
			fmt.Println(l)
		}
		for _, ex := range r.examples {
			fmt.Println("        e.g.", ex)
		}
	}
	sum := jsonSummary{Name: label, URL: targets.String(), URLs: targets.vals, Conns: *conns, DurationS: duration.Seconds(), WarmupS: warmup.Seconds(),
		Runs: *runs, Contacts: *contacts}
	summarize(&sum, results)
	sum.PreflightSent = cfg.preflightSent
	sum.LoadgenCPUSec = cpuSeconds()
	sum.WallSec = time.Since(wall).Seconds()
	fmt.Printf("median  %10.1f msg/s  p50 %.3fms  p90 %.3fms  p99 %.3fms  max %.3fms  errors %d in %d messages sent (warmup included)  loadgen CPU %.2f cores\n",
		sum.MedianRPS, sum.MedianP50, sum.MedianP90, sum.MedianP99, sum.MedianMax, sum.ErrorsSum, sum.SentSum,
		sum.LoadgenCPUSec/sum.WallSec)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(sum, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
	if sum.ErrorsSum > 0 {
		os.Exit(1)
	}
}
