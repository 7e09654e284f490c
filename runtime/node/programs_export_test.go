package node

import "time"

// SetPruneEvery sets how often nodes started after it check the versions
// in use, and returns the previous period.
func SetPruneEvery(d time.Duration) time.Duration {
	old := pruneEvery
	pruneEvery = d
	return old
}

// HeldVersions returns the versions the node holds compiled, sorted.
func (n *Node) HeldVersions() []string {
	return n.core.HeldVersions()
}
