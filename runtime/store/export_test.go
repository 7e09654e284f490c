package store

// QueuedForTest returns how many units wait for a batch.
func QueuedForTest(g *GroupCommitter) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}
