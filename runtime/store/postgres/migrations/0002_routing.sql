-- The router: workers, reservations, the leader's inbox and the event log.

ALTER TABLE tasks ADD COLUMN queue text NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN worker_id text NOT NULL DEFAULT '';
-- 0 new (the leader has not seen it), 1 held by the router, 2 closed.
ALTER TABLE tasks ADD COLUMN routed smallint NOT NULL DEFAULT 0;
CREATE INDEX tasks_unrouted ON tasks (seq) WHERE routed = 0;
CREATE INDEX tasks_last_worker ON tasks (contact_id, seq) WHERE status = 'completed';
CREATE INDEX tasks_closed_outside ON tasks (seq) WHERE routed = 1 AND status IN ('completed', 'canceled');

CREATE TABLE workers (
	seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id         text PRIMARY KEY,
	name       text NOT NULL DEFAULT '',
	attributes jsonb NOT NULL DEFAULT '{}',
	activity   text NOT NULL,
	capacity   jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE reservations (
	seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id         text PRIMARY KEY,
	task_id    text NOT NULL,
	worker_id  text NOT NULL,
	status     text NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE INDEX reservations_worker ON reservations (worker_id, seq);
CREATE INDEX reservations_task ON reservations (task_id, seq);

CREATE TABLE router_commands (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind       text NOT NULL,
	args       jsonb NOT NULL DEFAULT '{}',
	status     text NOT NULL DEFAULT 'pending',
	result     jsonb,
	error      text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL
);
CREATE INDEX router_commands_pending ON router_commands (seq) WHERE status = 'pending';

-- Only the leader appends, one transaction at a time, so seq order is
-- commit order for the readers tailing the log (customers' messages are
-- the exception: a reader re-reads a short window behind its cursor).
CREATE TABLE router_events (
	seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	type           text NOT NULL,
	at             timestamptz NOT NULL,
	task_id        text NOT NULL DEFAULT '',
	reservation_id text NOT NULL DEFAULT '',
	worker_id      text NOT NULL DEFAULT '',
	queue          text NOT NULL DEFAULT '',
	data           jsonb
);
CREATE INDEX router_events_worker ON router_events (worker_id, seq);
CREATE INDEX router_events_task ON router_events (task_id, seq);
