package main

import (
	"encoding/json"
	"fmt"
	"sync"
)

// reaction is what the flow did with one message, as the custom connector's inline answer
// {"replies":[...],"enqueued":[...]} says it.
type reaction int

const (
	reactReply    reaction = iota // one reply: autoReplyText, to the sender (the flow ran and ended)
	reactEnqueue                  // one task to supportWorkflow (the flow ran and now waits for it)
	reactAbsorbed                 // neither: the message joined a conversation that waits for its task
	reactCall                     // calls mode: the IVR answered a new call
	reactions
)

func (r reaction) String() string {
	return [...]string{"reply", "enqueue", "absorbed", "call"}[r]
}

// answer is the part of the custom connector's inline answer the checker reads.
type answer struct {
	Replies []struct {
		ID   string `json:"id"`
		To   string `json:"to"`
		Text string `json:"text"`
	} `json:"replies"`
	Enqueued []struct {
		Task     string `json:"task"`
		Workflow string `json:"workflow"`
	} `json:"enqueued"`
}

// classify reads an answer to a message sent by from and says which reaction it is, or why it is
// none of them (a reply with another text or to someone else, a task to another workflow, several
// of either, both at once, a body that is not the connector's JSON).
func classify(status int, body []byte, from string) (reaction, error) {
	if status != 200 {
		return 0, fmt.Errorf("status %d: %q", status, clip(body))
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, fmt.Errorf("body is not the custom connector's JSON answer: %q", clip(body))
	}
	if a.Replies == nil || a.Enqueued == nil {
		return 0, fmt.Errorf(`answer lacks "replies" or "enqueued": %q`, clip(body))
	}
	switch {
	case len(a.Replies) == 0 && len(a.Enqueued) == 0:
		return reactAbsorbed, nil
	case len(a.Replies) == 1 && len(a.Enqueued) == 0:
		r := a.Replies[0]
		if r.Text != autoReplyText || r.To != from || r.ID == "" {
			return 0, fmt.Errorf("unexpected reply: %q", clip(body))
		}
		return reactReply, nil
	case len(a.Replies) == 0 && len(a.Enqueued) == 1:
		t := a.Enqueued[0]
		if t.Workflow != supportWorkflow || t.Task == "" {
			return 0, fmt.Errorf("unexpected task: %q", clip(body))
		}
		return reactEnqueue, nil
	}
	return 0, fmt.Errorf("%d replies and %d tasks for one message: %q", len(a.Replies), len(a.Enqueued), clip(body))
}

// contactState is what the checker knows of a contact's conversation.
type contactState uint8

const (
	contactIdle    contactState = iota // new, or its last flow ended: the next message starts a flow
	contactWaiting                     // its flow enqueued a task that nothing completes (no router yet)
	contactUnknown                     // a request failed in transport: it may or may not have committed
)

// expect returns the reaction a contact in state st must get for m.
func (st contactState) expect(m message) reaction {
	switch {
	case st == contactWaiting:
		return reactAbsorbed
	case m.enqueue:
		return reactEnqueue
	default:
		return reactReply
	}
}

// next is the contact's state after it got reaction r.
func (st contactState) next(r reaction) contactState {
	switch r {
	case reactReply:
		return contactIdle
	default: // enqueue, or absorbed: its flow waits for the task
		return contactWaiting
	}
}

// check says whether an answer to m from a contact in state st is right, and returns the
// contact's next state. A contact whose state is unknown may get any answer a valid state allows.
func check(st contactState, m message, status int, body []byte, from string) (reaction, contactState, error) {
	got, err := classify(status, body, from)
	if err != nil {
		return 0, contactUnknown, fmt.Errorf("%q: %w", m.text, err)
	}
	if st == contactUnknown {
		if got != reactAbsorbed && got != contactIdle.expect(m) {
			return got, contactUnknown, fmt.Errorf("%q: got %s, want %s or %s: %q", m.text, got, contactIdle.expect(m), reactAbsorbed, clip(body))
		}
	} else if want := st.expect(m); got != want {
		return got, contactUnknown, fmt.Errorf("%q: got %s, want %s: %q", m.text, got, want, clip(body))
	}
	return got, st.next(got), nil
}

func clip(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

// contact is one sender of the -contacts pool. Its mutex is held for the whole of a request, so
// one contact's messages are answered in the order they were sent and its state is exact.
type contact struct {
	mu    sync.Mutex
	from  []byte
	state contactState
}

func newContacts(n int, runID string) []*contact {
	cs := make([]*contact, n)
	for i := range cs {
		cs[i] = &contact{from: fmt.Appendf(nil, "%s-c%d", runID, i)}
	}
	return cs
}
