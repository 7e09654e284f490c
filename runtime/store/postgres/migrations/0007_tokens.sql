-- Tokens belong to the worker they were issued for, not to its id, which a
-- new worker may take again: each worker row gets an incarnation when it is
-- created, a worker token records the incarnation it was issued for, and a
-- token whose worker is gone or was created again does not authenticate.
-- Each token gets a public id (lists name it, revocation takes it), an
-- optional expiry and the time it was last used (as in the SQLite store).
ALTER TABLE workers ADD COLUMN incarnation text NOT NULL DEFAULT '';
UPDATE workers SET incarnation = md5(random()::text || id);

ALTER TABLE api_tokens ADD COLUMN id text,
	ADD COLUMN incarnation text NOT NULL DEFAULT '',
	ADD COLUMN expires_at timestamptz,
	ADD COLUMN last_used_at timestamptz;
-- The tokens of workers deleted before this version go now.
DELETE FROM api_tokens t WHERE t.role = 'worker' AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = t.subject);
UPDATE api_tokens t SET id = 'tok_' || upper(substr(md5(random()::text || t.hash), 1, 20)),
	incarnation = coalesce((SELECT w.incarnation FROM workers w WHERE w.id = t.subject AND t.role = 'worker'), '');
ALTER TABLE api_tokens ALTER COLUMN id SET NOT NULL;
CREATE UNIQUE INDEX api_tokens_id ON api_tokens (id);
-- Deleting a worker deletes its tokens.
CREATE INDEX api_tokens_worker ON api_tokens (subject) WHERE role = 'worker';
