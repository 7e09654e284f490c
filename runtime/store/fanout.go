package store

import (
	"strconv"
	"strings"
	"sync"
)

// Fanout delivers coalesced wake-ups to the subscribers of a topic inside
// one process: a subscriber with a wake-up pending gets no second one, so a
// slow subscriber never blocks the notifier. A notification may say whom it
// is about (see About); a subscriber interested in one party only is woken
// by the notifications about it, and by those about everyone. Notifier
// implementations use it.
//
// Subscribers are kept by party, so a notification about a few parties
// costs the same with one agent's stream open or twenty thousand.
type Fanout struct {
	mu   sync.Mutex
	subs map[string]*topicSubs
}

type topicSubs struct {
	all     map[chan struct{}]struct{}            // subscribed to every notification
	parties map[string]map[chan struct{}]struct{} // by the one party they want
}

func wake(chans map[chan struct{}]struct{}) {
	for ch := range chans {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// Notify wakes the subscribers of topic that about concerns: about is ""
// (everyone) or a list made by About.
func (f *Fanout) Notify(topic, about string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.subs[topic]
	if t == nil {
		return
	}
	wake(t.all)
	if about == "" {
		for _, chans := range t.parties {
			wake(chans)
		}
		return
	}
	for about != "" {
		var p string
		p, about, _ = strings.Cut(about, ",")
		wake(t.parties[p])
	}
}

// NotifyAll wakes every subscriber (after notifications may have been missed).
func (f *Fanout) NotifyAll() {
	f.mu.Lock()
	topics := make([]string, 0, len(f.subs))
	for t := range f.subs {
		topics = append(topics, t)
	}
	f.mu.Unlock()
	for _, t := range topics {
		f.Notify(t, "")
	}
}

// Subscribe returns a wake-up channel for the notifications of topic about
// party (every notification when party is ""), and the function that ends
// the subscription.
func (f *Fanout) Subscribe(topic, party string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[string]*topicSubs{}
	}
	t := f.subs[topic]
	if t == nil {
		t = &topicSubs{all: map[chan struct{}]struct{}{}, parties: map[string]map[chan struct{}]struct{}{}}
		f.subs[topic] = t
	}
	chans := t.all
	if party != "" {
		if chans = t.parties[party]; chans == nil {
			chans = map[chan struct{}]struct{}{}
			t.parties[party] = chans
		}
	}
	chans[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(chans, ch)
		if party != "" && len(t.parties[party]) == 0 {
			delete(t.parties, party) // the party's last stream went away
		}
		f.mu.Unlock()
	}
}

// Parties of the event log's notifications.
func WorkerParty(id string) string  { return "w:" + id }
func CommandParty(seq int64) string { return "c:" + strconv.FormatInt(seq, 10) }

// maxAbout keeps a notification's list within PostgreSQL's NOTIFY payload
// (8000 bytes); a longer one becomes "" (everyone).
const maxAbout = 7000

// About is the notification of a routing write: the workers its events
// name and the commands it answers; "" (everyone) when the list is too long.
// Events that name no worker (a task queued) concern no party: a write of
// only those wakes only the subscribers of every notification.
func About(events []RouterEvent, commands []Command) string {
	seen := map[string]bool{}
	var b strings.Builder
	add := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p)
	}
	for _, e := range events {
		if e.WorkerID != "" {
			add(WorkerParty(e.WorkerID))
		}
	}
	for _, c := range commands {
		add(CommandParty(c.Seq))
	}
	switch {
	case b.Len() > maxAbout:
		return ""
	case b.Len() == 0:
		return nobody
	}
	return b.String()
}

// nobody is a notification that names no party.
const nobody = "-"
