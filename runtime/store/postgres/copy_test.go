package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/postgres"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// TestCopyViolations commits batches whose COPY (copy.go) meets a row the
// plan did not read: the unique violation must send the batch to the slow
// path, which decides each unit as before, on a connection still in step
// with the server although the COPYs after the failing one were sent too.
func TestCopyViolations(t *testing.T) {
	requireDSN(t)
	ctx := context.Background()
	tests := []struct {
		name string
		// second(first) is committed after first, a new contact with a
		// reply and an open task, in a batch after another new contact.
		second func(first *store.Unit, seq uint64) *store.Unit
		want   store.Outcome
		reason string
	}{
		{"a stored message id, which the reply keeps", func(first *store.Unit, seq uint64) *store.Unit {
			u := storetest.NewContactUnit(seq)
			u.Messages[0].ID = first.Messages[0].ID
			return u
		}, store.Committed, ""},
		{"a stored contact id, in the first COPY of the batch", func(first *store.Unit, seq uint64) *store.Unit {
			u := storetest.NewContactUnit(seq)
			u.Contact.ID = first.Contact.ID
			return u
		}, store.Failed, ""},
		{"a second open task, in the last COPY", func(first *store.Unit, seq uint64) *store.Unit {
			return &store.Unit{
				Messages: []store.Message{{ID: store.NewID(), ConversationID: first.Conversation.ID, Direction: store.Outbound,
					Connector: "custom", Instance: "default", Text: "again"}},
				Tasks: []store.Task{{ID: store.NewID(), ConversationID: first.Conversation.ID, ContactID: first.Contact.ID,
					Workflow: "support_routing"}},
			}
		}, store.Conflict, store.ReasonOpenTask},
	}
	s := open(t).(*postgres.Store)
	seq := uint64(100) // NewContactUnit(seq) has a task instead of a reply when seq%10 == 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq += 10
			first := storetest.NewContactUnit(seq + 1)
			first.Tasks = []store.Task{{ID: store.NewID(), ConversationID: first.Conversation.ID, ContactID: first.Contact.ID,
				Workflow: "support_routing"}}
			res, err := s.Commit(ctx, batchOf(first))
			if err != nil || res[0].Outcome != store.Committed {
				t.Fatalf("first unit: %v %v", res, err)
			}
			fresh, second := storetest.NewContactUnit(seq+2), tt.second(first, seq+3)
			res, err = s.Commit(ctx, batchOf(fresh, second))
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if res[0].Outcome != store.Committed {
				t.Errorf("the other unit: %v %s %v, want Committed", res[0].Outcome, res[0].Reason, res[0].Err)
			}
			if r := res[1]; r.Outcome != tt.want || r.Reason != tt.reason {
				t.Errorf("got %v %q (%v), want %v %q", r.Outcome, r.Reason, r.Err, tt.want, tt.reason)
			}
			var text string
			if err := s.Pool().QueryRow(ctx, `SELECT text FROM messages WHERE id = $1`, first.Messages[0].ID).Scan(&text); err != nil ||
				text != first.Messages[0].Text {
				t.Errorf("the first unit's reply: %q, %v; want %q", text, err, first.Messages[0].Text)
			}
			// Every connection of the pool still answers in step.
			for i := range 4 {
				res, err := s.Commit(ctx, batchOf(storetest.NewContactUnit(seq+4+uint64(i))))
				if err != nil || res[0].Outcome != store.Committed {
					t.Fatalf("a later batch: %v %v", res, err)
				}
			}
		})
	}
}

func batchOf(units ...*store.Unit) *store.Batch {
	b := &store.Batch{}
	for _, u := range units {
		b.Add(u)
	}
	return b
}

// TestCopyValues reads back what the COPYs wrote for the values that
// their binary encoding spells out: NULLs, times, constants and integers.
func TestCopyValues(t *testing.T) {
	requireDSN(t)
	ctx := context.Background()
	s := open(t).(*postgres.Store)
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
	u := storetest.NewContactUnit(10) // with a task
	u.At = at
	u.Inbound.PlatformMessageID, u.Execution.Execution.Payload = "", nil
	u.Tasks[0].Priority, u.Tasks[0].Quiet, u.Tasks[0].Attributes = -7, true, json.RawMessage(`{"skill":"billing"}`)
	res, err := s.Commit(ctx, batchOf(u, storetest.NewContactUnit(11)))
	if err != nil || res[0].Outcome != store.Committed {
		t.Fatalf("Commit: %v %v", res, err)
	}
	tests := []struct{ query, want string }{
		{`SELECT created_at = $2 FROM contacts WHERE id = $1`, "true"},
		{`SELECT platform_message_id IS NULL AND created_at = $2 FROM messages WHERE conversation_id = $1 AND direction = 'in'`, "true"},
		{`SELECT attributes::text || status || (created_at = $2 AND updated_at = $2) FROM conversations WHERE contact_id = $1`, "{}opentrue"},
		{`SELECT payload IS NULL AND version = 1 AND updated_at = $2 FROM executions WHERE conversation_id = $1`, "true"},
		{`SELECT priority || ' ' || quiet || ' ' || attributes::text || ' ' || status FROM tasks WHERE contact_id = $1 AND created_at = $2`, `-7 1 {"skill": "billing"} waiting`},
	}
	for _, tt := range tests {
		key := u.Contact.ID
		if strings.Contains(tt.query, "conversation_id = $1") {
			key = u.Conversation.ID
		}
		var got string
		if err := s.Pool().QueryRow(ctx, "SELECT ("+tt.query+")::text", key, at).Scan(&got); err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.query, got, err, tt.want)
		}
	}
}

// TestCopyOutOfRange: a task priority that the integer column cannot hold
// is not written truncated by the COPY; the unit's own statement refuses it.
func TestCopyOutOfRange(t *testing.T) {
	requireDSN(t)
	ctx := context.Background()
	s := open(t).(*postgres.Store)
	u := storetest.NewContactUnit(10)
	u.Tasks[0].Priority = 1<<32 + 5
	res, err := s.Commit(ctx, batchOf(u))
	if err == nil && res[0].Outcome == store.Committed {
		t.Errorf("committed a task of priority %d", u.Tasks[0].Priority)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM tasks`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tasks (%v), want none", n, err)
	}
}
