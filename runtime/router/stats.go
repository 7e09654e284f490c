package router

import (
	"sort"
	"time"
)

// Snapshot is the router's real-time state, from Stats.
type Snapshot struct {
	Time      time.Time
	Queues    []QueueStats    // in program order
	Workflows []WorkflowStats // in program order
}

// QueueStats is one queue's real-time state.
type QueueStats struct {
	Queue             string
	Waiting           int
	WaitingByPriority map[int]int
	// LongestWait is the age (since enqueue, kept across escalations and
	// transfers) of the oldest task waiting in the queue.
	LongestWait time.Duration
	Members     int
	Activities  map[string]int // members by activity
	Available   int            // members whose activity is available
	Reserved    int            // tasks offered through the queue, not yet answered
	Assigned    int            // tasks accepted through the queue, including wrapping ones
	Wrapping    int
}

// WorkflowStats is one workflow's real-time state.
type WorkflowStats struct {
	Workflow    string
	Waiting     int // waiting in any of its targets, or unrouted
	LongestWait time.Duration
}

// Stats returns the current state per queue and per workflow. It walks
// every task and membership (O(tasks + members)), so it is meant for a
// dashboard's refresh rate, not for every call.
func (r *Router) Stats(now time.Time) Snapshot {
	s := Snapshot{Time: now}
	byLane := make(map[*lane]*QueueStats, len(r.lanes))
	for _, l := range r.lanes {
		qs := QueueStats{Queue: l.q.Name, WaitingByPriority: map[int]int{}, Activities: map[string]int{}, Members: len(l.members)}
		for w := range l.members {
			qs.Activities[w.activity]++
			if r.available(w) {
				qs.Available++
			}
		}
		s.Queues = append(s.Queues, qs)
	}
	for i, l := range r.lanes {
		byLane[l] = &s.Queues[i]
	}
	byWorkflow := map[string]*WorkflowStats{}
	for _, wf := range r.prog.Workflows {
		s.Workflows = append(s.Workflows, WorkflowStats{Workflow: wf.Name})
	}
	for i := range s.Workflows {
		byWorkflow[s.Workflows[i].Workflow] = &s.Workflows[i]
	}
	for _, t := range r.tasks {
		age := now.Sub(t.created)
		if t.state == stateWaiting {
			if ws := byWorkflow[t.workflow]; ws != nil {
				ws.Waiting++
				ws.LongestWait = max(ws.LongestWait, age)
			}
		}
		if t.xfer != nil {
			if qs := byLane[t.xfer.held.lane]; qs != nil {
				qs.Assigned++
			}
		}
		qs := byLane[t.lane]
		if t.res != nil {
			qs = byLane[t.res.lane]
		}
		if qs == nil {
			continue
		}
		switch t.state {
		case stateWaiting:
			qs.Waiting++
			qs.WaitingByPriority[t.priority]++
			qs.LongestWait = max(qs.LongestWait, age)
		case statePending:
			qs.Reserved++
		case stateAssigned:
			qs.Assigned++
		case stateWrapping:
			qs.Assigned++
			qs.Wrapping++
		}
	}
	return s
}

// Cumulative accumulates statistics over a sliding window from the
// router's events. It is pure (Observe and Snapshot take the time from
// their arguments) and its memory is bounded: 60 buckets of window/60,
// each holding counters and a wait histogram per queue and per workflow.
// A snapshot covers the bucket holding now and the 59 before it, so the
// window slides by window/60. Events older than the window (before the
// latest event seen) are dropped. Like Router, it is not safe for
// concurrent use.
type Cumulative struct {
	window, width time.Duration
	levels        []time.Duration
	buckets       [cumBuckets]cumBucket
	latest        int64
}

const cumBuckets = 60

type cumBucket struct {
	index     int64 // time / width; the slot holds nothing older
	queues    map[string]*counters
	workflows map[string]*counters
}

type counters struct {
	entered, accepted, abandoned, completed, rejected, timedOut int
	waitSum                                                     time.Duration
	waits                                                       map[int]int // histogram bin → accepted tasks
	within                                                      []int       // per service level
}

// CumulativeStats are one queue's or workflow's figures over the window.
type CumulativeStats struct {
	Entered   int // task.queued (a queue counts escalations and transfers in; a workflow only new tasks)
	Accepted  int // reservation.accepted (a transferred task counts again)
	Abandoned int // canceled before being assigned
	Completed int
	Rejected  int // reservations rejected
	TimedOut  int // reservations timed out
	AvgWait   time.Duration
	// P90Wait is rounded up to the histogram's resolution: 1s up to 2
	// minutes, 10s up to 10 minutes, 1 minute up to an hour, 10 minutes
	// beyond (24 hours at most).
	P90Wait time.Duration
	// ServiceLevel[i] is the share of accepted tasks that waited at most
	// ServiceLevels[i]; 0 when none was accepted.
	ServiceLevel []float64
}

// CumulativeSnapshot is Cumulative's state at a time.
type CumulativeSnapshot struct {
	Time          time.Time
	Window        time.Duration
	ServiceLevels []time.Duration
	Queues        map[string]CumulativeStats
	Workflows     map[string]CumulativeStats
}

// NewCumulative returns an accumulator over window (at least a minute is
// sensible; it is split in 60 buckets) measuring the given service levels
// (e.g. 20s, 60s, 300s).
func NewCumulative(window time.Duration, serviceLevels []time.Duration) *Cumulative {
	width := window / cumBuckets
	if width <= 0 {
		width = time.Nanosecond
	}
	c := &Cumulative{window: window, width: width, levels: append([]time.Duration(nil), serviceLevels...)}
	for i := range c.buckets {
		c.buckets[i].index = -1
	}
	return c
}

// Observe adds one router event.
func (c *Cumulative) Observe(e Event) {
	if e.Time.Before(time.Unix(0, 0)) {
		return // no router event is that old; its bucket index would be negative
	}
	idx := e.Time.UnixNano() / int64(c.width)
	if idx <= c.latest-cumBuckets {
		return // older than the window
	}
	c.latest = max(c.latest, idx)
	b := &c.buckets[idx%cumBuckets]
	if b.index != idx {
		*b = cumBucket{index: idx, queues: map[string]*counters{}, workflows: map[string]*counters{}}
	}
	var q, w *counters
	if e.Queue != "" {
		q = b.get(b.queues, e.Queue, len(c.levels))
	}
	if e.Workflow != "" {
		w = b.get(b.workflows, e.Workflow, len(c.levels))
	}
	each := func(f func(*counters)) {
		if q != nil {
			f(q)
		}
		if w != nil {
			f(w)
		}
	}
	switch e.Type {
	case TaskQueued:
		if q != nil && e.Reason != "restored" {
			q.entered++
		}
		if w != nil && e.Reason == "" {
			w.entered++
		}
	case ReservationAccepted:
		each(func(n *counters) {
			n.accepted++
			n.waitSum += e.Wait
			n.waits[waitBin(e.Wait)]++
			for i, l := range c.levels {
				if e.Wait <= l {
					n.within[i]++
				}
			}
		})
	case TaskCanceled:
		if e.Reason == "abandoned" {
			each(func(n *counters) { n.abandoned++ })
		}
	case TaskCompleted:
		each(func(n *counters) { n.completed++ })
	case ReservationRejected:
		each(func(n *counters) { n.rejected++ })
	case ReservationTimeout:
		each(func(n *counters) { n.timedOut++ })
	}
}

func (b *cumBucket) get(m map[string]*counters, key string, levels int) *counters {
	n := m[key]
	if n == nil {
		n = &counters{waits: map[int]int{}, within: make([]int, levels)}
		m[key] = n
	}
	return n
}

// Snapshot sums the buckets within the window ending at now.
func (c *Cumulative) Snapshot(now time.Time) CumulativeSnapshot {
	cur := now.UnixNano() / int64(c.width)
	qs, ws := map[string]*counters{}, map[string]*counters{}
	for i := range c.buckets {
		b := &c.buckets[i]
		if b.index < 0 || b.index <= cur-cumBuckets || b.index > cur {
			continue
		}
		merge(qs, b.queues, len(c.levels))
		merge(ws, b.workflows, len(c.levels))
	}
	s := CumulativeSnapshot{Time: now, Window: c.window, ServiceLevels: append([]time.Duration(nil), c.levels...),
		Queues: map[string]CumulativeStats{}, Workflows: map[string]CumulativeStats{}}
	for k, n := range qs {
		s.Queues[k] = n.stats()
	}
	for k, n := range ws {
		s.Workflows[k] = n.stats()
	}
	return s
}

func merge(into, from map[string]*counters, levels int) {
	for k, n := range from {
		m := into[k]
		if m == nil {
			m = &counters{waits: map[int]int{}, within: make([]int, levels)}
			into[k] = m
		}
		m.entered += n.entered
		m.accepted += n.accepted
		m.abandoned += n.abandoned
		m.completed += n.completed
		m.rejected += n.rejected
		m.timedOut += n.timedOut
		m.waitSum += n.waitSum
		for b, v := range n.waits {
			m.waits[b] += v
		}
		for i, v := range n.within {
			m.within[i] += v
		}
	}
}

func (n *counters) stats() CumulativeStats {
	s := CumulativeStats{Entered: n.entered, Accepted: n.accepted, Abandoned: n.abandoned, Completed: n.completed,
		Rejected: n.rejected, TimedOut: n.timedOut, ServiceLevel: make([]float64, len(n.within))}
	if n.accepted == 0 {
		return s
	}
	s.AvgWait = n.waitSum / time.Duration(n.accepted)
	for i, v := range n.within {
		s.ServiceLevel[i] = float64(v) / float64(n.accepted)
	}
	bins := make([]int, 0, len(n.waits))
	for b := range n.waits {
		bins = append(bins, b)
	}
	sort.Ints(bins)
	need := (9*n.accepted + 9) / 10 // ceil(0.9 n)
	seen := 0
	for _, b := range bins {
		seen += n.waits[b]
		if seen >= need {
			s.P90Wait = binUpper(b)
			break
		}
	}
	return s
}

// The wait histogram's bins: 1s wide up to 2 minutes, 10s up to 10
// minutes, 1 minute up to an hour, 10 minutes up to a day; a bin holds
// waits in (upper edge of the previous bin, its upper edge].
var binSteps = []struct {
	upTo, step time.Duration
}{
	{2 * time.Minute, time.Second},
	{10 * time.Minute, 10 * time.Second},
	{time.Hour, time.Minute},
	{24 * time.Hour, 10 * time.Minute},
}

func waitBin(d time.Duration) int {
	bin := 0
	var from time.Duration
	for _, s := range binSteps {
		if d <= s.upTo {
			if d <= from {
				return bin
			}
			return bin + int((d-from+s.step-1)/s.step)
		}
		bin += int((s.upTo - from) / s.step)
		from = s.upTo
	}
	return bin // beyond a day: the last bin
}

func binUpper(bin int) time.Duration {
	var from time.Duration
	for _, s := range binSteps {
		n := int((s.upTo - from) / s.step)
		if bin <= n {
			return from + time.Duration(bin)*s.step
		}
		bin -= n
		from = s.upTo
	}
	return from
}
