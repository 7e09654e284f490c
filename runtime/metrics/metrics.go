// Package metrics keeps the runtime's counters and histograms and writes
// them in the Prometheus text exposition format. It is deliberately small:
// labelled counters, gauges read at scrape time, and fixed-bucket
// histograms, all safe for concurrent use.
package metrics

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metrics by name.
type Registry struct {
	mu      sync.Mutex
	metrics []metric
}

type metric interface {
	write(w io.Writer)
}

// CounterVec is a counter per label value.
type CounterVec struct {
	name, help, label string
	mu                sync.RWMutex
	values            map[string]*atomic.Uint64
}

// Counter registers a counter labelled by one label.
func (r *Registry) Counter(name, help, label string) *CounterVec {
	c := &CounterVec{name: name, help: help, label: label, values: map[string]*atomic.Uint64{}}
	r.add(c)
	return c
}

func (r *Registry) add(m metric) {
	r.mu.Lock()
	r.metrics = append(r.metrics, m)
	r.mu.Unlock()
}

// Add adds n to the counter for the label value.
func (c *CounterVec) Add(value string, n uint64) {
	c.mu.RLock()
	v := c.values[value]
	c.mu.RUnlock()
	if v == nil {
		c.mu.Lock()
		if v = c.values[value]; v == nil {
			v = new(atomic.Uint64)
			c.values[value] = v
		}
		c.mu.Unlock()
	}
	v.Add(n)
}

// Inc adds one.
func (c *CounterVec) Inc(value string) { c.Add(value, 1) }

// Value returns the counter for the label value.
func (c *CounterVec) Value(value string) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v := c.values[value]; v != nil {
		return v.Load()
	}
	return 0
}

func (c *CounterVec) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
	c.mu.RLock()
	keys := slices.Sorted(maps.Keys(c.values))
	for _, k := range keys {
		fmt.Fprintf(w, "%s{%s=%q} %d\n", c.name, c.label, escape(k), c.values[k].Load())
	}
	c.mu.RUnlock()
}

// GaugeFunc is a gauge read when scraped, labelled by one label.
type GaugeFunc struct {
	name, help, label string
	read              func() map[string]float64
}

// Gauge registers a gauge whose values read computes at scrape time.
func (r *Registry) Gauge(name, help, label string, read func() map[string]float64) {
	r.add(&GaugeFunc{name: name, help: help, label: label, read: read})
}

func (g *GaugeFunc) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", g.name, g.help, g.name)
	values := g.read()
	keys := slices.Sorted(maps.Keys(values))
	for _, k := range keys {
		fmt.Fprintf(w, "%s{%s=%q} %g\n", g.name, g.label, escape(k), values[k])
	}
}

// Histogram counts observations in fixed buckets (seconds).
type Histogram struct {
	name, help string
	bounds     []float64
	counts     []atomic.Uint64 // one per bound, plus +Inf
	sumMicros  atomic.Uint64
	count      atomic.Uint64
}

// Histogram registers a histogram with the given upper bounds.
func (r *Registry) Histogram(name, help string, bounds []float64) *Histogram {
	h := &Histogram{name: name, help: help, bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
	r.add(h)
	return h
}

// Observe records one value in seconds.
func (h *Histogram) Observe(seconds float64) {
	i := sort.SearchFloat64s(h.bounds, seconds)
	h.counts[i].Add(1)
	h.count.Add(1)
	h.sumMicros.Add(uint64(math.Max(0, seconds*1e6)))
}

func (h *Histogram) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.name, h.help, h.name)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		fmt.Fprintf(w, "%s_bucket{le=\"%g\"} %d\n", h.name, b, cum)
	}
	cum += h.counts[len(h.bounds)].Load()
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", h.name, cum, h.name, float64(h.sumMicros.Load())/1e6, h.name, h.count.Load())
}

// Write writes every metric in registration order.
func (r *Registry) Write(w io.Writer) {
	r.mu.Lock()
	ms := append([]metric(nil), r.metrics...)
	r.mu.Unlock()
	for _, m := range ms {
		m.write(w)
	}
}

func escape(s string) string { return strings.ReplaceAll(s, "\n", " ") }
