-- Switchboard store, SQLite dialect. Times are INTEGER microseconds since
-- the Unix epoch (0 means none); JSON attributes are TEXT; opaque payloads
-- are BLOBs. seq orders rows for keyset paging.

CREATE TABLE contacts (
	seq         INTEGER PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL DEFAULT '',
	attributes  TEXT NOT NULL DEFAULT '{}',
	-- set when LinkContacts merged this contact into another one
	merged_into TEXT REFERENCES contacts (id),
	merged_at   INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL
);
CREATE INDEX contacts_merged_into ON contacts (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE contact_addresses (
	channel    TEXT NOT NULL,
	address    TEXT NOT NULL,
	contact_id TEXT NOT NULL REFERENCES contacts (id),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (channel, address)
) WITHOUT ROWID;
CREATE INDEX contact_addresses_contact ON contact_addresses (contact_id);

CREATE TABLE conversations (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	contact_id TEXT NOT NULL REFERENCES contacts (id),
	channel    TEXT NOT NULL,
	instance   TEXT NOT NULL,
	status     TEXT NOT NULL CHECK (status IN ('open', 'closed')),
	attributes TEXT NOT NULL DEFAULT '{}',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
-- Not unique: after LinkContacts a contact may hold two open conversations
-- on one channel; OpenConversation's single writer keeps it to one otherwise.
CREATE INDEX conversations_open ON conversations (contact_id, channel, instance) WHERE status = 'open';
CREATE INDEX conversations_contact ON conversations (contact_id, seq);

CREATE TABLE messages (
	seq                 INTEGER PRIMARY KEY,
	id                  TEXT NOT NULL UNIQUE,
	conversation_id     TEXT NOT NULL REFERENCES conversations (id),
	direction           TEXT NOT NULL CHECK (direction IN ('in', 'out')),
	connector           TEXT NOT NULL,
	instance            TEXT NOT NULL,
	platform_message_id TEXT,
	text                TEXT NOT NULL DEFAULT '',
	payload             BLOB,
	created_at          INTEGER NOT NULL
);
-- The inbound dedupe key.
CREATE UNIQUE INDEX messages_dedupe ON messages (connector, instance, platform_message_id)
	WHERE direction = 'in' AND platform_message_id IS NOT NULL;
CREATE INDEX messages_conversation ON messages (conversation_id, seq);

CREATE TABLE executions (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	conversation_id TEXT NOT NULL REFERENCES conversations (id),
	flow            TEXT NOT NULL,
	program_version TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('running', 'waiting', 'ended', 'failed')),
	payload         BLOB,
	version         INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
-- At most one live execution per conversation.
CREATE UNIQUE INDEX executions_live ON executions (conversation_id) WHERE status IN ('running', 'waiting');
CREATE INDEX executions_conversation ON executions (conversation_id, seq);
CREATE INDEX executions_status ON executions (status, seq);

CREATE TABLE effects (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	execution_id    TEXT REFERENCES executions (id),
	kind            TEXT NOT NULL,
	idempotency_key TEXT NOT NULL UNIQUE,
	payload         BLOB,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'leased', 'done', 'dead')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	result          BLOB,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX effects_pending ON effects (next_attempt_at) WHERE status = 'pending';
CREATE INDEX effects_leased ON effects (lease_until) WHERE status = 'leased';
-- Dead letters only: an index on every status would be rewritten at each claim.
CREATE INDEX effects_dead ON effects (seq) WHERE status = 'dead';

CREATE TABLE timers (
	id           TEXT PRIMARY KEY,
	execution_id TEXT REFERENCES executions (id),
	fire_at      INTEGER NOT NULL,
	payload      BLOB,
	lease_owner  TEXT NOT NULL DEFAULT '',
	lease_until  INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX timers_fire_at ON timers (fire_at);

CREATE TABLE tasks (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	conversation_id TEXT NOT NULL REFERENCES conversations (id),
	contact_id      TEXT NOT NULL REFERENCES contacts (id),
	execution_id    TEXT REFERENCES executions (id),
	workflow        TEXT NOT NULL,
	attributes      TEXT NOT NULL DEFAULT '{}',
	priority        INTEGER NOT NULL DEFAULT 0,
	status          TEXT NOT NULL CHECK (status IN ('waiting', 'reserved', 'assigned', 'wrapping', 'completed', 'canceled')),
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
-- One open task per contact and conversation.
CREATE UNIQUE INDEX tasks_open ON tasks (contact_id, conversation_id)
	WHERE status IN ('waiting', 'reserved', 'assigned', 'wrapping');
CREATE INDEX tasks_status ON tasks (status, seq);

CREATE TABLE api_tokens (
	hash       TEXT PRIMARY KEY,
	role       TEXT NOT NULL CHECK (role IN ('admin', 'worker')),
	subject    TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE programs (
	seq        INTEGER PRIMARY KEY,
	version    TEXT NOT NULL UNIQUE,
	source     BLOB NOT NULL,
	active     INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX programs_active ON programs (active) WHERE active = 1;
