package node

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

// A compiled program is large (about 15 MB of heap for 5,000 steps) and
// every deploy adds one, while the executions on an old version end within
// hours. So the node keeps only the active program and the versions live
// executions use (store.LiveProgramVersions), checked after each deploy and
// every pruneEvery. Dropping a version too early is safe, only slower: an
// execution on a version the node no longer holds (one that started on the
// old version while the deploy checked, one run by another node, one
// stepped after a restart) has it compiled again from its stored sources.

// pruneEvery is how often the node forgets the versions whose last
// executions ended since a deploy (a variable for the tests).
var pruneEvery = 5 * time.Minute

// compilation is a version being compiled again: the callers that need it
// meanwhile wait for this one instead of compiling it each.
type compilation struct {
	done chan struct{}
	prog *compiler.Program
	err  error
}

// prune drops the compiled programs of the versions no live execution uses,
// keeping the active one.
func (n *Node) prune(ctx context.Context) {
	n.mu.RLock()
	held := len(n.programs)
	n.mu.RUnlock()
	if held <= 1 {
		return
	}
	live, err := n.store.LiveProgramVersions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Warn("finding the program versions in use; keeping them all", "err", err)
		}
		return
	}
	keep := make(map[string]bool, len(live))
	for _, v := range live {
		keep[v] = true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for v := range n.programs {
		if !keep[v] && v != n.active.Version {
			delete(n.programs, v)
		}
	}
}

// pruneLoop prunes every pruneEvery until ctx ends.
func (n *Node) pruneLoop(ctx context.Context) {
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n.prune(ctx)
		}
	}
}

// recompile returns the program of a version the node does not hold,
// compiled from the store's copy of its sources, once however many callers
// ask for it at the same time.
func (n *Node) recompile(ctx context.Context, version string) (*compiler.Program, error) {
	n.mu.Lock()
	if p := n.programs[version]; p != nil {
		n.mu.Unlock()
		return p, nil
	}
	c := n.compiling[version]
	if c != nil {
		n.mu.Unlock()
		select {
		case <-c.done:
			return c.prog, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c = &compilation{done: make(chan struct{})}
	if n.compiling == nil {
		n.compiling = map[string]*compilation{}
	}
	n.compiling[version] = c
	n.mu.Unlock()

	// The callers waiting for it may outlive this one's context.
	c.prog, c.err = n.compileStored(context.WithoutCancel(ctx), version)
	n.mu.Lock()
	delete(n.compiling, version)
	if c.err == nil {
		n.programs[version] = c.prog
	}
	n.mu.Unlock()
	close(c.done)
	return c.prog, c.err
}

func (n *Node) compileStored(ctx context.Context, version string) (*compiler.Program, error) {
	stored, err := n.store.GetProgram(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("node: program %s: %w", version, err)
	}
	var sources []compiler.Source
	if err := json.Unmarshal(stored.Source, &sources); err != nil {
		return nil, fmt.Errorf("node: program %s: %w", version, err)
	}
	p, diags := compiler.CompileSources(sources, compiler.Options{})
	if p == nil {
		return nil, fmt.Errorf("node: program %s no longer compiles: %v", version, diags)
	}
	return p, nil
}
