package execution

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

// A compiled program is large (about 15 MB of heap for 5,000 steps) and
// every deploy adds one, while the executions on an old version end within
// hours. So the node keeps only the active program and the versions live
// executions use (store.LiveProgramVersions), checked after each deploy and
// periodically (PruneLoop). Dropping a version too early is safe, only slower: an
// execution on a version the node no longer holds (one that started on the
// old version while the deploy checked, one run by another node, one
// stepped after a restart) has it compiled again from its stored sources.

// compilation is a version being compiled again: the callers that need it
// meanwhile wait for this one instead of compiling it each.
type compilation struct {
	done chan struct{}
	prog *compiler.Program
	err  error
}

// prune drops the compiled programs of the versions no live execution uses,
// keeping the active one.
func (c *Core) prune(ctx context.Context) {
	c.mu.RLock()
	held := len(c.programs)
	c.mu.RUnlock()
	if held <= 1 {
		return
	}
	live, err := c.store.LiveProgramVersions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("finding the program versions in use; keeping them all", "err", err)
		}
		return
	}
	keep := make(map[string]bool, len(live))
	for _, v := range live {
		keep[v] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for v := range c.programs {
		if !keep[v] && v != c.active.Version {
			delete(c.programs, v)
		}
	}
}

// PruneLoop forgets, every period until ctx ends, the versions whose last
// executions ended since a deploy.
func (c *Core) PruneLoop(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.prune(ctx)
		}
	}
}

// recompile returns the program of a version the node does not hold,
// compiled from the store's copy of its sources, once however many callers
// ask for it at the same time.
func (c *Core) recompile(ctx context.Context, version string) (*compiler.Program, error) {
	c.mu.Lock()
	if p := c.programs[version]; p != nil {
		c.mu.Unlock()
		return p, nil
	}
	pc := c.compiling[version]
	if pc != nil {
		c.mu.Unlock()
		select {
		case <-pc.done:
			return pc.prog, pc.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	pc = &compilation{done: make(chan struct{})}
	if c.compiling == nil {
		c.compiling = map[string]*compilation{}
	}
	c.compiling[version] = pc
	c.mu.Unlock()

	// The callers waiting for it may outlive this one's context.
	pc.prog, pc.err = c.compileStored(context.WithoutCancel(ctx), version)
	c.mu.Lock()
	delete(c.compiling, version)
	if pc.err == nil {
		c.programs[version] = pc.prog
	}
	c.mu.Unlock()
	close(pc.done)
	return pc.prog, pc.err
}

func (c *Core) compileStored(ctx context.Context, version string) (*compiler.Program, error) {
	stored, err := c.store.GetProgram(ctx, version)
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

// HeldVersions returns the versions the node holds compiled, sorted.
func (c *Core) HeldVersions() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Sorted(maps.Keys(c.programs))
}
