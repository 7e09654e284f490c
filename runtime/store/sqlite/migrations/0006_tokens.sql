-- Tokens belong to the worker they were issued for, not to its id, which a
-- new worker may take again: each worker row gets an incarnation when it is
-- created, a worker token records the incarnation it was issued for, and a
-- token whose worker is gone or was created again does not authenticate.
-- Each token gets a public id (lists name it, revocation takes it), an
-- optional expiry and the time it was last used (0: never).
ALTER TABLE workers ADD COLUMN incarnation TEXT NOT NULL DEFAULT '';
UPDATE workers SET incarnation = lower(hex(randomblob(16)));

ALTER TABLE api_tokens ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN incarnation TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
-- The tokens of workers deleted before this version go now.
DELETE FROM api_tokens WHERE role = 'worker' AND subject NOT IN (SELECT id FROM workers);
UPDATE api_tokens SET id = 'tok_' || upper(hex(randomblob(10))),
	incarnation = coalesce((SELECT w.incarnation FROM workers w
		WHERE w.id = api_tokens.subject AND api_tokens.role = 'worker'), '');
CREATE UNIQUE INDEX api_tokens_id ON api_tokens (id);
-- Deleting a worker deletes its tokens.
CREATE INDEX api_tokens_worker ON api_tokens (subject) WHERE role = 'worker';
