-- Messages are only ever listed by conversation (messages_conversation, on
-- (conversation_id, seq)); the identity column keeps seq unique without an
-- index of its own, which every stored message paid for.
ALTER TABLE messages DROP CONSTRAINT messages_seq_key;
