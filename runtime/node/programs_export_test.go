package node

import (
	"maps"
	"slices"
	"time"
)

// SetPruneEvery sets how often nodes started after it check the versions
// in use, and returns the previous period.
func SetPruneEvery(d time.Duration) time.Duration {
	old := pruneEvery
	pruneEvery = d
	return old
}

// HeldVersions returns the versions the node holds compiled, sorted.
func (n *Node) HeldVersions() []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return slices.Sorted(maps.Keys(n.programs))
}
