package outbox

import "time"

// SetStaleAfter makes a claimed row stale after d until the test ends.
func SetStaleAfter(t interface{ Cleanup(func()) }, d time.Duration) {
	old := staleAfter
	staleAfter = d
	t.Cleanup(func() { staleAfter = old })
}
