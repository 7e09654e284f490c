// Package inflight bounds the work a loop has started and not finished:
// the timers being fired, the outbox rows being performed and recorded.
// The loop takes a slot for each piece of work it claims and waits for
// Freed when there is too little room; each piece gives its slot back when
// done, whichever goroutine finishes it.
package inflight

// Limit is at most n pieces of work at once.
type Limit struct {
	slots chan struct{}
	freed chan struct{}
}

// New returns a Limit of n.
func New(n int) *Limit {
	return &Limit{slots: make(chan struct{}, n), freed: make(chan struct{}, 1)}
}

// Room is how many more pieces may start now.
func (l *Limit) Room() int { return cap(l.slots) - len(l.slots) }

// Take holds a slot, waiting for one when all are held.
func (l *Limit) Take() { l.slots <- struct{}{} }

// Give returns a slot and says so on Freed.
func (l *Limit) Give() {
	<-l.slots
	l.Signal()
}

// Signal says on Freed that the loop may find room, or other progress,
// without returning a slot. Signals coalesce: the loop sees at least one
// after the last.
func (l *Limit) Signal() {
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// Freed receives after a Give or a Signal.
func (l *Limit) Freed() <-chan struct{} { return l.freed }
