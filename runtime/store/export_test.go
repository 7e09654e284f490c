package store

// QueuedForTest returns how many units wait for a batch.
func QueuedForTest(g *GroupCommitter) int {
	g.b.mu.Lock()
	defer g.b.mu.Unlock()
	return len(g.b.queue)
}
