-- A task's references are checked by the store, as 0012 made those of
-- messages and executions: each foreign key check locked its referenced
-- row (FOR KEY SHARE writes the row's lock into its heap page, with WAL),
-- and the three of them made a task's insert cost 220–230 µs of the
-- server's CPU against 77–87 without them (BenchmarkTableRows, tasks by
-- COPY). Conversations, contacts and executions are never deleted, and
-- LinkContacts moves tasks only to a contact that exists: Commit probes
-- the rows its new tasks name after the batch's other inserts.
ALTER TABLE tasks DROP CONSTRAINT tasks_conversation_id_fkey;
ALTER TABLE tasks DROP CONSTRAINT tasks_contact_id_fkey;
ALTER TABLE tasks DROP CONSTRAINT tasks_execution_id_fkey;
