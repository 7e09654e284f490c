package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Several targets (-url repeated or comma-separated): nodes of one deployment behind the load
// generator. Each connection is pinned to one target, connection w to target w mod n, so the
// connections split evenly (they differ by at most one) and every target sees the same closed loop
// a single one would. A slower target therefore gets fewer messages, which the per-target counts
// show.

// urlList is the -url flag: repeatable, each value a URL or a comma-separated list of them. The
// first value given replaces the default.
type urlList struct {
	vals []string
	set  bool
}

func (l *urlList) String() string { return strings.Join(l.vals, ",") }

func (l *urlList) Set(v string) error {
	if !l.set {
		l.vals, l.set = nil, true
	}
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			l.vals = append(l.vals, part)
		}
	}
	return nil
}

// parseTargets checks that every URL is a plain http:// URL with a host.
func parseTargets(raw []string) ([]*url.URL, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("no -url given")
	}
	out := make([]*url.URL, 0, len(raw))
	for _, r := range raw {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("-url must be an http:// URL, got %q", r)
		}
		out = append(out, u)
	}
	return out, nil
}

// targetOf is the target connection w is pinned to.
func targetOf(w, targets int) int { return w % targets }

// connsPerTarget counts the connections targetOf gives each target.
func connsPerTarget(conns, targets int) []int {
	n := make([]int, targets)
	for w := range conns {
		n[targetOf(w, targets)]++
	}
	return n
}

func hostClient(u *url.URL, conns int, timeout time.Duration) *fasthttp.HostClient {
	addr := u.Host
	if u.Port() == "" {
		addr += ":80"
	}
	return &fasthttp.HostClient{
		Addr:                          addr,
		MaxConns:                      max(conns, 1),
		ReadTimeout:                   timeout,
		WriteTimeout:                  timeout,
		MaxIdleConnDuration:           time.Minute,
		DisableHeaderNamesNormalizing: true,
		NoDefaultUserAgentHeader:      true,
	}
}

// targetCount is what one target answered in a run.
type targetCount struct {
	messages int // answered inside the window
	sent     int // of the whole run, warmup included
	errors   int // of the whole run, warmup included
}

// targetsLine says how the run's messages split over the targets; empty for one target.
func targetsLine(urls []*url.URL, counts []targetCount) string {
	if len(urls) < 2 {
		return ""
	}
	var b strings.Builder
	b.WriteString("        by target:")
	for i, u := range urls {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s %d messages (%d sent, %d errors)", u.Host, counts[i].messages, counts[i].sent, counts[i].errors)
	}
	return b.String()
}
