package node

import (
	"maps"
	"slices"
)

// HeldVersions returns the versions the node holds compiled, sorted.
func (n *Node) HeldVersions() []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return slices.Sorted(maps.Keys(n.programs))
}
