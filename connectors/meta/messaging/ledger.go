package messaging

import (
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Bounds of the ledger's memory.
const (
	// LedgerTTL is how long a sent message is remembered: Meta's
	// HUMAN_AGENT window is 7 days, and no receipt comes after it.
	LedgerTTL = 7 * 24 * time.Hour
	// ledgerMax bounds the messages remembered; beyond it the oldest
	// are forgotten.
	ledgerMax = 100_000
)

// ledger remembers the messages an instance sent: by outbound part, so
// that the outbox's retry of a message does not send again the parts Meta
// accepted, and by recipient with their time, so that a watermark receipt
// can name the messages it covers. It is safe for concurrent use.
type ledger struct {
	parts *connectors.Accepted // Outbound.Key + "#" + part → mid

	mu     sync.Mutex
	now    func() time.Time
	sent   map[string][]sentMessage
	order  []ledgerEntry // insertion order, for expiry
	expire int           // index in order of the oldest live entry
}

type sentMessage struct {
	mid      string
	at       time.Time
	reported map[string]bool // status → reported
}

type ledgerEntry struct {
	recipient, mid string
	at             time.Time
}

func newLedger(now func() time.Time) *ledger {
	return &ledger{parts: connectors.NewAccepted(LedgerTTL, ledgerMax, now), now: now, sent: map[string][]sentMessage{}}
}

// accepted returns the mid of a part Meta already accepted.
func (l *ledger) accepted(key string) (string, bool) { return l.parts.Get(key) }

// record remembers that the part key went to recipient as mid; at is
// when its request started, never later than Meta's timestamp for it.
func (l *ledger) record(key, recipient, mid string, at time.Time) {
	l.parts.Put(key, mid)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune()
	l.sent[recipient] = append(l.sent[recipient], sentMessage{mid: mid, at: at})
	l.order = append(l.order, ledgerEntry{recipient: recipient, mid: mid, at: at})
}

// Covered returns the messages sent to recipient at or before at that
// were not reported with status yet, and marks them reported. A read
// message is delivered too: a read receipt marks both.
func (l *ledger) Covered(recipient string, at time.Time, status string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var mids []string
	msgs := l.sent[recipient]
	for i := range msgs {
		m := &msgs[i]
		if m.at.After(at) || m.reported[status] {
			continue
		}
		if m.reported == nil {
			m.reported = map[string]bool{}
		}
		m.reported[status] = true
		if status == StatusRead {
			m.reported[StatusDelivered] = true
		}
		mids = append(mids, m.mid)
	}
	return mids
}

// prune forgets the messages older than LedgerTTL, and the oldest beyond
// ledgerMax; l.parts forgets the parts by the same bounds.
func (l *ledger) prune() {
	cutoff := l.now().Add(-LedgerTTL)
	for l.expire < len(l.order) && (l.order[l.expire].at.Before(cutoff) || len(l.order)-l.expire >= ledgerMax) {
		e := l.order[l.expire]
		l.order[l.expire] = ledgerEntry{}
		l.expire++
		msgs := l.sent[e.recipient]
		for i, m := range msgs {
			if m.mid == e.mid {
				msgs = append(msgs[:i], msgs[i+1:]...)
				break
			}
		}
		if len(msgs) == 0 {
			delete(l.sent, e.recipient)
		} else {
			l.sent[e.recipient] = msgs
		}
	}
	if l.expire > len(l.order)/2 && l.expire > 1024 {
		l.order = append([]ledgerEntry(nil), l.order[l.expire:]...)
		l.expire = 0
	}
}
