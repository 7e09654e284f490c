package inflight

import (
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	l := New(2)
	if l.Room() != 2 {
		t.Fatalf("room %d, want 2", l.Room())
	}
	l.Take()
	l.Take()
	if l.Room() != 0 {
		t.Fatalf("room %d after two takes, want 0", l.Room())
	}
	took := make(chan struct{})
	go func() { l.Take(); close(took) }()
	select {
	case <-took:
		t.Fatal("a third Take did not wait for a slot")
	case <-time.After(20 * time.Millisecond):
	}
	l.Give()
	select {
	case <-took:
	case <-time.After(5 * time.Second):
		t.Fatal("a Give did not let the waiting Take through")
	}
	select {
	case <-l.Freed():
	default:
		t.Fatal("a Give did not say so on Freed")
	}
	l.Signal()
	l.Signal() // coalesced with the first
	<-l.Freed()
	select {
	case <-l.Freed():
		t.Fatal("two signals gave two wake-ups")
	default:
	}
}
