package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// phase is RATE timers a second coming due over DURATION.
type phase struct {
	rate int
	dur  time.Duration
}

func (p phase) count() int { return int(float64(p.rate) * p.dur.Seconds()) }

func parsePhases(s string) ([]phase, error) {
	var out []phase
	for _, part := range strings.Split(s, ",") {
		r, d, ok := strings.Cut(part, "x")
		rate, err := strconv.Atoi(r)
		dur, err2 := time.ParseDuration(d)
		if !ok || err != nil || err2 != nil || rate <= 0 || dur <= 0 {
			return nil, fmt.Errorf("phase %q: want RATExDURATION, e.g. 2000x20s", part)
		}
		out = append(out, phase{rate, dur})
	}
	return out, nil
}

func phaseString(ps []phase) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%dx%s", p.rate, p.dur)
	}
	return s
}

func bulkCount(ps []phase) int {
	n := 0
	for _, p := range ps {
		n += p.count()
	}
	return n
}

// phaseStarts are the due times at which each phase begins, the first at start.
func phaseStarts(ps []phase, start time.Time, gap time.Duration) []time.Time {
	out := make([]time.Time, len(ps))
	at := start
	for i, p := range ps {
		out[i] = at
		at = at.Add(p.dur + gap)
	}
	return out
}

// bulkDue is the due time of the k-th bulk timer: each phase's timers evenly over its duration.
func bulkDue(ps []phase, starts []time.Time, k int) time.Time {
	for i, p := range ps {
		if k < p.count() {
			return starts[i].Add(time.Duration(float64(k) / float64(p.rate) * float64(time.Second)))
		}
		k -= p.count()
	}
	panic("bulk timer out of range")
}

type results struct {
	seedErrors  int64
	offLadder   int64
	phase0      time.Time
	starts      []time.Time
	snap        snap
	stopTook    time.Duration
	readyTook   time.Duration
	rssReady    int64
	rssPeak     int64
	rssEnd      int64
	restoreLine string
	restartAt   time.Time
}

// seedAll sends the far asks, then the tasks, then the bulk, each from new contacts.
func seedAll(ctx context.Context, o options, srv *server, res *results) error {
	target, err := url.Parse(srv.webhookURL())
	if err != nil {
		return err
	}
	client := &fasthttp.HostClient{Addr: target.Host, MaxConns: o.conns, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	run := randomHex(4)
	bulk := bulkCount(o.phases)
	far := o.n - o.tasks - bulk
	steps := []struct {
		name  string
		count int
		text  func(k int, now time.Time) string
	}{
		{"asks due in 24 h", far, func(int, time.Time) string { return farText }},
		{"tasks", o.tasks, func(int, time.Time) string { return agentText }},
		{"bulk asks", bulk, nil},
	}
	var starts []time.Time
	total := time.Now()
	for si, st := range steps {
		if st.text == nil {
			res.phase0 = time.Now().Add(o.lead)
			starts = phaseStarts(o.phases, res.phase0, o.gap)
			res.starts = starts
			st.text = func(k int, now time.Time) string {
				i, ok := ladderStep(now, bulkDue(o.phases, starts, k))
				if !ok {
					atomic.AddInt64(&res.offLadder, 1)
				}
				return ladderText(i)
			}
		}
		t0 := time.Now()
		errs := send(ctx, client, srv.secret, o.conns, fmt.Sprintf("%s-%d", run, si), st.count, st.text)
		res.seedErrors += errs
		took := time.Since(t0)
		fmt.Printf("seeded %s: %d in %.1f s (%.0f/s), %d errors\n", st.name, st.count, took.Seconds(),
			float64(st.count)/took.Seconds(), errs)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fmt.Printf("seeded %d conversations in %.1f s (%.0f/s); bulk timers off the ladder: %d\n",
		o.n, time.Since(total).Seconds(), float64(o.n)/time.Since(total).Seconds(), res.offLadder)
	return nil
}

// send posts count signed messages over conns connections, message k's text chosen at the time
// it is sent; it returns the number of failed or refused webhooks.
func send(ctx context.Context, client *fasthttp.HostClient, secret string, conns int, prefix string, count int,
	text func(k int, now time.Time) string) int64 {
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var body []byte
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= count {
					return
				}
				now := time.Now()
				id := prefix + "-" + strconv.Itoa(k)
				body = append(body[:0], `{"id":"`...)
				body = append(body, id...)
				body = append(body, `","from":"w-`...)
				body = append(body, id...)
				body = append(body, `","text":"`...)
				body = append(body, text(k, now)...)
				body = append(body, `"}`...)
				req.Reset()
				req.Header.SetMethod(fasthttp.MethodPost)
				req.Header.SetContentType("application/json")
				req.SetRequestURI("http://" + client.Addr + "/v1/webhooks/custom/default")
				ts := now.Unix()
				req.Header.Set(custom.HeaderTimestamp, strconv.FormatInt(ts, 10))
				req.Header.Set(custom.HeaderSignature, custom.Sign(secret, ts, body))
				req.SetBody(body)
				if err := client.Do(req, resp); err != nil || resp.StatusCode() != fasthttp.StatusOK {
					if errs.Add(1) <= 5 {
						fmt.Printf("webhook %s: %v %d %.200s\n", id, err, resp.StatusCode(), resp.Body())
					}
				}
			}
		})
	}
	wg.Wait()
	return errs.Load()
}
