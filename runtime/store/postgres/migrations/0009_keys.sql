-- Secrets the runtime makes once and keeps across restarts and nodes (the
-- webchat's visitor-signing key when none is configured): the first writer
-- of a name wins, every later reader gets its value.
CREATE TABLE runtime_keys (
	name       TEXT PRIMARY KEY,
	value      BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
