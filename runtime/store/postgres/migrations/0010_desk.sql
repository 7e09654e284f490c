-- The agent desktop's own rows: agents' notes on tasks (internal notes and
-- wrap-ups with their disposition, never sent to the customer) and the
-- canned responses admins write for agents.
CREATE TABLE task_notes (
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id              text PRIMARY KEY,
	task_id         text NOT NULL,
	conversation_id text NOT NULL,
	contact_id      text NOT NULL,
	worker_id       text NOT NULL DEFAULT '',
	kind            text NOT NULL CHECK (kind IN ('note', 'wrapup')),
	disposition     text NOT NULL DEFAULT '',
	text            text NOT NULL,
	created_at      timestamptz NOT NULL
);
CREATE INDEX task_notes_task ON task_notes (task_id, seq);
CREATE INDEX task_notes_contact ON task_notes (contact_id, seq);

CREATE TABLE canned_responses (
	id         text PRIMARY KEY,
	title      text NOT NULL,
	text       text NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
