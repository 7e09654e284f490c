-- The references a message's commit writes most are checked by the store
-- instead of by foreign keys. A foreign key check is a query and a row
-- lock on the referenced row for every inserted row, and for a new
-- contact's first message (address, conversation, inbound message,
-- execution, reply) those checks were about half of the server's time.
-- Contacts, conversations and executions are never deleted, so a row that
-- exists when Commit looks stays: Commit probes the conversations its
-- messages and executions name, a new conversation's insert joins its
-- contact, and an address is only written beside its contact (Commit,
-- FindOrCreateContact) or moved to a contact that exists (LinkContacts).
-- The foreign keys of tasks, effects and timers stay.
ALTER TABLE contact_addresses DROP CONSTRAINT contact_addresses_contact_id_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_contact_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_fkey;
ALTER TABLE executions DROP CONSTRAINT executions_conversation_id_fkey;
