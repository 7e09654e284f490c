package compiler

import (
	"sort"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// graph checks a flow's state graph, records in fd.reached the states a
// path from the start leads to, and returns for every state the set of
// states that can run before it (ancestors[i][j]: j can precede i). A
// poisoned state, whose transitions are not all known, counts as a
// possible predecessor of every state: the admin meant it to lead
// somewhere, and reads that depend on where are not reported again.
func (c *compiler) graph(fd *flowDraft) [][]bool {
	n := len(fd.steps)
	pred := make([][]int, n)
	for i, sd := range fd.steps {
		for _, j := range sd.succ {
			pred[j] = append(pred[j], i)
		}
	}
	var poisoned []int
	for i, sd := range fd.steps {
		if sd.poisoned || sd.spec == nil {
			poisoned = append(poisoned, i)
		}
	}
	// Reachability from the start.
	reached := make([]bool, n)
	if n > 0 {
		stack := []int{0}
		reached[0] = true
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, j := range fd.steps[i].succ {
				if !reached[j] {
					reached[j] = true
					stack = append(stack, j)
				}
			}
		}
	}
	fd.reached = reached
	c.unreachable(fd, pred)
	// Ancestors: reverse search from each state.
	// One backing array for all the rows, and a stack that holds each
	// state at most once per search.
	anc := make([][]bool, n)
	rows := make([]bool, n*n)
	var stack []int
	for i := range fd.steps {
		seen := rows[i*n : (i+1)*n : (i+1)*n]
		stack = stack[:0]
		for _, j := range pred[i] {
			if !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
		for _, j := range poisoned {
			if !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, k := range pred[j] {
				if !seen[k] {
					seen[k] = true
					stack = append(stack, k)
				}
			}
		}
		anc[i] = seen
	}
	c.spinCycles(fd)
	return anc
}

// unreachable warns of the steps no path from the start leads to. Steps
// that only unreachable steps lead to are notes of the warnings of those,
// not warnings of their own: the one to wire (or remove) is the first.
func (c *compiler) unreachable(fd *flowDraft, pred [][]int) {
	n := len(fd.steps)
	covered := make([]bool, n)
	var heads []int
	cover := func(h int) {
		stack := []int{h}
		covered[h] = true
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, j := range fd.steps[i].succ {
				if !fd.reached[j] && !covered[j] {
					covered[j] = true
					stack = append(stack, j)
				}
			}
		}
	}
	// Heads first: unreachable steps no other unreachable step leads to.
	// What is left is in loops that nothing enters; the first step of
	// each such loop stands for it.
	for pass := 0; pass < 2; pass++ {
		for i := range fd.steps {
			if fd.reached[i] || covered[i] {
				continue
			}
			if pass == 0 {
				entered := false
				for _, j := range pred[i] {
					if j != i && !fd.reached[j] {
						entered = true
					}
				}
				if entered {
					continue
				}
			}
			heads = append(heads, i)
			cover(i)
		}
	}
	sort.Ints(heads)
	for _, h := range heads {
		sd := fd.steps[h]
		if sd.spec == nil {
			continue
		}
		d := c.diags.Warnf("W0001", sd.node.Name.Span(), "step %s is never reached", diag.Quote(sd.state.Name)).
			WithHint("no step leads here; point an outcome at it or remove it")
		// The unreachable steps this one leads to, in order.
		seen := make([]bool, n)
		seen[h] = true
		stack := []int{h}
		var only []int
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, j := range fd.steps[i].succ {
				if !fd.reached[j] && !seen[j] {
					seen[j] = true
					only = append(only, j)
					stack = append(stack, j)
				}
			}
		}
		sort.Ints(only)
		for _, j := range only {
			d.WithRelated(fd.steps[j].node.Name.Span(), diag.Quote(fd.steps[j].state.Name)+", which it leads to, is never reached either")
		}
	}
}

// spinCycles reports loops made only of steps that never wait: the engine
// would go round them forever within one event.
func (c *compiler) spinCycles(fd *flowDraft) {
	n := len(fd.steps)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next := 0
	instant := func(i int) bool { return fd.steps[i].spec != nil && !fd.steps[i].spec.Waits }
	var strong func(v int)
	strong = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range fd.steps[v].succ {
			if !instant(w) {
				continue
			}
			if index[w] < 0 {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		selfLoop := false
		for _, w := range fd.steps[v].succ {
			if w == v {
				selfLoop = true
			}
		}
		if len(comp) < 2 && !selfLoop {
			return
		}
		sort.Ints(comp)
		first := fd.steps[comp[0]]
		names := make([]string, len(comp))
		for i, w := range comp {
			names[i] = fd.steps[w].state.Name
		}
		msg := "steps " + joinQuoted(names) + " form a loop that never waits"
		if len(comp) == 1 {
			msg = "step " + diag.Quote(names[0]) + " leads back to itself without waiting"
		}
		d := c.diags.Errorf("E0501", first.node.Name.Span(), "%s", msg).
			WithHint("a loop must pass through a step that waits (ask, wait, http, enqueue, …), or it would run forever")
		for _, w := range comp[1:] {
			d.WithRelated(fd.steps[w].node.Name.Span(), "part of the loop")
		}
	}
	for i := 0; i < n; i++ {
		if index[i] < 0 && instant(i) {
			strong(i)
		}
	}
}

func joinQuoted(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			if i == len(names)-1 {
				out += " and "
			} else {
				out += ", "
			}
		}
		out += diag.Quote(n)
	}
	return out
}

// checkSubflowRecursion reports flows that run themselves through subflow
// steps: each call nests an execution, so recursion never ends.
func (c *compiler) checkSubflowRecursion(drafts []*flowDraft, byName map[string]*flowDraft) {
	calls := map[string][]*stepDraft{}
	for _, fd := range drafts {
		for _, sd := range fd.steps {
			if sd.spec != nil && sd.state.Kind == KindSubflow && sd.target != "" {
				calls[fd.flow.Name] = append(calls[fd.flow.Name], sd)
			}
		}
	}
	for _, fd := range drafts {
		for _, sd := range calls[fd.flow.Name] {
			// Does sd's target lead back to fd?
			seen := map[string]bool{}
			stack := []string{sd.target}
			for len(stack) > 0 {
				f := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if f == fd.flow.Name {
					c.diags.Errorf("E0502", sd.node.Name.Span(), "subflow %s leads back to flow %s", diag.Quote(sd.target), diag.Quote(fd.flow.Name)).
						WithHint("subflows cannot call themselves, directly or through others")
					break
				}
				if seen[f] {
					continue
				}
				seen[f] = true
				for _, call := range calls[f] {
					stack = append(stack, call.target)
				}
			}
		}
	}
}

func (c *compiler) unused(flows []*flowDraft, queues, workflows, hours []*lang.Decl) {
	for _, d := range queues {
		if !c.usedDecls["queue:"+d.Name.Value] {
			c.diags.Warnf("W0003", d.Name.Span(), "queue %s is not used by any workflow", diag.Quote(d.Name.Value))
		}
	}
	for _, d := range workflows {
		if !c.usedDecls["workflow:"+d.Name.Value] {
			c.diags.Warnf("W0005", d.Name.Span(), "workflow %s is not used by any enqueue step", diag.Quote(d.Name.Value))
		}
	}
	for _, d := range hours {
		if !c.used[d.Name.Value] {
			c.diags.Warnf("W0004", d.Name.Span(), "hours %s are not used", diag.Quote(d.Name.Value)).
				WithHint("use them in an expression: open(%s)", d.Name.Value)
		}
	}
}

func sortStrings(xs []string) { sort.Strings(xs) }
