-- Switchboard store, PostgreSQL dialect. JSON attributes are jsonb (queryable);
-- opaque payloads are bytea, returned byte for byte. seq orders rows for
-- keyset paging. Objects are created in the current schema (search_path).
-- Tables whose rows are updated again and again (an execution at every step,
-- an effect at each claim) leave room in their pages, so updates stay HOT
-- (no new index entries) and old row versions are pruned as pages are read.

CREATE TABLE contacts (
	seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id          text PRIMARY KEY,
	name        text NOT NULL DEFAULT '',
	attributes  jsonb NOT NULL DEFAULT '{}',
	-- set when LinkContacts merged this contact into another one
	merged_into text REFERENCES contacts (id),
	merged_at   timestamptz,
	created_at  timestamptz NOT NULL
);
CREATE INDEX contacts_merged_into ON contacts (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE contact_addresses (
	channel    text NOT NULL,
	address    text NOT NULL,
	contact_id text NOT NULL REFERENCES contacts (id),
	created_at timestamptz NOT NULL,
	PRIMARY KEY (channel, address)
);
CREATE INDEX contact_addresses_contact ON contact_addresses (contact_id);

CREATE TABLE conversations (
	seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id         text PRIMARY KEY,
	contact_id text NOT NULL REFERENCES contacts (id),
	channel    text NOT NULL,
	instance   text NOT NULL,
	status     text NOT NULL CHECK (status IN ('open', 'closed')),
	attributes jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
-- Not unique: after LinkContacts a contact may hold two open conversations on
-- one channel; OpenConversation serializes its find-or-create with a lock.
CREATE INDEX conversations_open ON conversations (contact_id, channel, instance) WHERE status = 'open';
CREATE INDEX conversations_contact ON conversations (contact_id, seq);

CREATE TABLE messages (
	seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id                  text PRIMARY KEY,
	conversation_id     text NOT NULL REFERENCES conversations (id),
	direction           text NOT NULL CHECK (direction IN ('in', 'out')),
	connector           text NOT NULL,
	instance            text NOT NULL,
	platform_message_id text,
	text                text NOT NULL DEFAULT '',
	payload             bytea,
	created_at          timestamptz NOT NULL
);
-- The inbound dedupe key.
CREATE UNIQUE INDEX messages_dedupe ON messages (connector, instance, platform_message_id)
	WHERE direction = 'in' AND platform_message_id IS NOT NULL;
CREATE INDEX messages_conversation ON messages (conversation_id, seq);

CREATE TABLE executions (
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id              text PRIMARY KEY,
	conversation_id text NOT NULL REFERENCES conversations (id),
	flow            text NOT NULL,
	program_version text NOT NULL,
	status          text NOT NULL CHECK (status IN ('running', 'waiting', 'ended', 'failed')),
	payload         bytea,
	version         bigint NOT NULL,
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL
) WITH (fillfactor = 70);
-- At most one live execution per conversation.
CREATE UNIQUE INDEX executions_live ON executions (conversation_id) WHERE status IN ('running', 'waiting');
CREATE INDEX executions_conversation ON executions (conversation_id, seq);
CREATE INDEX executions_status ON executions (status, seq);

CREATE TABLE effects (
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id              text PRIMARY KEY,
	execution_id    text REFERENCES executions (id),
	kind            text NOT NULL,
	idempotency_key text NOT NULL UNIQUE,
	payload         bytea,
	status          text NOT NULL CHECK (status IN ('pending', 'leased', 'done', 'dead')),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	lease_owner     text NOT NULL DEFAULT '',
	lease_until     timestamptz,
	last_error      text NOT NULL DEFAULT '',
	result          bytea,
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX effects_pending ON effects (next_attempt_at) WHERE status = 'pending';
CREATE INDEX effects_leased ON effects (lease_until) WHERE status = 'leased';
CREATE INDEX effects_dead ON effects (seq) WHERE status = 'dead';

CREATE TABLE timers (
	id           text PRIMARY KEY,
	execution_id text REFERENCES executions (id),
	fire_at      timestamptz NOT NULL,
	payload      bytea,
	lease_owner  text NOT NULL DEFAULT '',
	lease_until  timestamptz,
	created_at   timestamptz NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX timers_fire_at ON timers (fire_at);

CREATE TABLE tasks (
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id              text PRIMARY KEY,
	conversation_id text NOT NULL REFERENCES conversations (id),
	contact_id      text NOT NULL REFERENCES contacts (id),
	execution_id    text REFERENCES executions (id),
	workflow        text NOT NULL,
	attributes      jsonb NOT NULL DEFAULT '{}',
	priority        integer NOT NULL DEFAULT 0,
	status          text NOT NULL CHECK (status IN ('waiting', 'reserved', 'assigned', 'wrapping', 'completed', 'canceled')),
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL
) WITH (fillfactor = 70);
-- One open task per contact and conversation.
CREATE UNIQUE INDEX tasks_open ON tasks (contact_id, conversation_id)
	WHERE status IN ('waiting', 'reserved', 'assigned', 'wrapping');
CREATE INDEX tasks_status ON tasks (status, seq);

CREATE TABLE api_tokens (
	hash       text PRIMARY KEY,
	role       text NOT NULL CHECK (role IN ('admin', 'worker')),
	subject    text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL
);

CREATE TABLE programs (
	seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	version    text PRIMARY KEY,
	source     bytea NOT NULL,
	active     boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX programs_active ON programs (active) WHERE active;
