package connectors

import (
	"context"
	"time"
)

// Notice is something that happens to a customer's conversation besides
// the messages, for channels that can show it (the webchat shows "Ana
// joined", a place in the queue, "Ana is typing…").
type Notice struct {
	Kind NoticeKind
	// Channel and To address the customer, as an Outbound's do;
	// ConversationID is the conversation.
	Channel, To    string
	ConversationID string
	// Key is unique per notice and stable across retries (typing notices
	// have none: they are never retried).
	Key string
	// Agent is the worker the notice is about (joined, left, typing) and
	// AgentName what the customer sees of them: the worker's `name`
	// attribute, else its id.
	Agent, AgentName string
	// Position is a waiting conversation's place in the queue, 1 next; 0
	// when unknown. Wait is how long the task has waited so far.
	Position int
	Wait     time.Duration
	At       time.Time
}

// NoticeKind names what a Notice says.
type NoticeKind string

// What notices say.
const (
	NoticeQueued NoticeKind = "queued" // the conversation waits for an agent
	NoticeJoined NoticeKind = "joined" // an agent accepted it
	NoticeLeft   NoticeKind = "left"   // the agent finished (the flow may go on: a survey)
	NoticeClosed NoticeKind = "closed" // the conversation is closed: the next message starts another
	NoticeTyping NoticeKind = "typing" // the agent is typing (best effort, never stored)
)

// Notifier is implemented by connectors whose channel shows notices. The
// runtime calls Notify through the outbox (queued, joined, left, closed:
// retried like Send, so a notice may arrive twice with the same Key) or
// directly (typing: once, best effort). Channels without notices do not
// implement it and their customers see nothing of them.
type Notifier interface {
	Notify(ctx context.Context, n *Notice) error
}
