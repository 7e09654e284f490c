-- The agent desktop's own rows: agents' notes on tasks (internal notes and
-- wrap-ups with their disposition, never sent to the customer) and the
-- canned responses admins write for agents.
CREATE TABLE task_notes (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	task_id         TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	contact_id      TEXT NOT NULL,
	worker_id       TEXT NOT NULL DEFAULT '',
	kind            TEXT NOT NULL CHECK (kind IN ('note', 'wrapup')),
	disposition     TEXT NOT NULL DEFAULT '',
	text            TEXT NOT NULL,
	created_at      INTEGER NOT NULL
);
CREATE INDEX task_notes_task ON task_notes (task_id, seq);
CREATE INDEX task_notes_contact ON task_notes (contact_id, seq);

CREATE TABLE canned_responses (
	id         TEXT PRIMARY KEY,
	title      TEXT NOT NULL,
	text       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
