-- Two indexes every inbound message wrote to and nothing needs (as in the
-- SQLite store): an open conversation is found through conversations_contact
-- (a contact has few conversations), and executions are listed by status
-- through an index only when unfinished; ended ones, the bulk, are listed in
-- seq order with their status checked row by row.
DROP INDEX conversations_open;
DROP INDEX executions_status;
CREATE INDEX executions_unfinished ON executions (status, seq) WHERE status IN ('running', 'waiting', 'failed');
