package store

import (
	"context"
	"time"
)

// Desk is what the agent desktop keeps beyond routing: agents' notes on
// tasks (internal notes and wrap-ups with their disposition), the canned
// responses admins write for agents, and the look-ups that tell which
// contacts and tasks a worker has served.
type Desk interface {
	// AddTaskNote stores a note under n.ID (a new id when empty) at
	// n.CreatedAt (now when zero) and returns it as stored. TaskID and
	// Kind are required (ErrInvalid), and the task must exist
	// (ErrNotFound); the note takes the task's conversation and contact.
	AddTaskNote(ctx context.Context, n TaskNote) (TaskNote, error)
	// ListTaskNotes returns the notes of a task, or of every task of a
	// contact (merged contacts included), oldest first, at most 1000.
	ListTaskNotes(ctx context.Context, f NoteFilter) ([]TaskNote, error)

	// PutCannedResponse creates a canned response (a new id when c.ID is
	// empty) or replaces the one with that id, and returns it as stored.
	// Title and Text are required (ErrInvalid).
	PutCannedResponse(ctx context.Context, c CannedResponse) (CannedResponse, error)
	GetCannedResponse(ctx context.Context, id string) (CannedResponse, error)
	// ListCannedResponses returns every canned response, by title.
	ListCannedResponses(ctx context.Context) ([]CannedResponse, error)
	// DeleteCannedResponse deletes one: ErrNotFound when there is none.
	DeleteCannedResponse(ctx context.Context, id string) error

	// ServedContact reports whether the worker accepted a task of the
	// contact (merged contacts included): its desktop may show the
	// contact and the contact's history.
	ServedContact(ctx context.Context, workerID, contactID string) (bool, error)
	// WorkerTasks returns the tasks the worker accepted, the most recently
	// changed first, at most limit (1 to 200).
	WorkerTasks(ctx context.Context, workerID string, limit int) ([]Task, error)
}

// NoteKind tells an internal note from a wrap-up.
type NoteKind string

const (
	// NoteInternal is an agent's note for agents: never sent to the customer.
	NoteInternal NoteKind = "note"
	// NoteWrapUp is the outcome an agent recorded when wrapping a task up.
	NoteWrapUp NoteKind = "wrapup"
)

// TaskNote is a note on a task.
type TaskNote struct {
	ID             string    `json:"id"`
	TaskID         string    `json:"task_id"`
	ConversationID string    `json:"conversation_id"`
	ContactID      string    `json:"contact_id"`
	WorkerID       string    `json:"worker_id"` // "" when an admin wrote it
	Kind           NoteKind  `json:"kind"`
	Disposition    string    `json:"disposition,omitempty"` // a wrap-up's code
	Text           string    `json:"text"`
	CreatedAt      time.Time `json:"created_at"`
}

// NoteFilter selects notes: those of a task, or those of a contact.
type NoteFilter struct {
	TaskID    string
	ContactID string
}

// CannedResponse is a reply an admin wrote for agents to insert. Its
// text may hold placeholders ({{contact.name}}) the desktop fills.
type CannedResponse struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
