-- The router: workers, reservations, the leader's inbox and the event log.

ALTER TABLE tasks ADD COLUMN queue TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN worker_id TEXT NOT NULL DEFAULT '';
-- 0 new (the leader has not seen it), 1 held by the router, 2 closed.
ALTER TABLE tasks ADD COLUMN routed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tasks_unrouted ON tasks (seq) WHERE routed = 0;
CREATE INDEX tasks_last_worker ON tasks (contact_id, seq) WHERE status = 'completed';
CREATE INDEX tasks_closed_outside ON tasks (seq) WHERE routed = 1 AND status IN ('completed', 'canceled');

CREATE TABLE workers (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL DEFAULT '',
	attributes TEXT NOT NULL DEFAULT '{}',
	activity   TEXT NOT NULL,
	capacity   TEXT NOT NULL DEFAULT '{}',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE reservations (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	task_id    TEXT NOT NULL,
	worker_id  TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX reservations_worker ON reservations (worker_id, seq);
CREATE INDEX reservations_task ON reservations (task_id, seq);

CREATE TABLE router_commands (
	seq        INTEGER PRIMARY KEY,
	kind       TEXT NOT NULL,
	args       TEXT NOT NULL DEFAULT '{}',
	status     TEXT NOT NULL DEFAULT 'pending',
	result     TEXT,
	error      TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);
CREATE INDEX router_commands_pending ON router_commands (seq) WHERE status = 'pending';

CREATE TABLE router_events (
	seq            INTEGER PRIMARY KEY,
	type           TEXT NOT NULL,
	at             INTEGER NOT NULL,
	task_id        TEXT NOT NULL DEFAULT '',
	reservation_id TEXT NOT NULL DEFAULT '',
	worker_id      TEXT NOT NULL DEFAULT '',
	queue          TEXT NOT NULL DEFAULT '',
	data           TEXT
);
CREATE INDEX router_events_worker ON router_events (worker_id, seq);
CREATE INDEX router_events_task ON router_events (task_id, seq);
