-- Two indexes every inbound message wrote to and nothing needs:
-- an open conversation is found through conversations_contact (a contact
-- has few conversations), and executions are listed by status only to find
-- the unfinished ones: ended executions, the bulk, are listed in seq order
-- with their status checked row by row.
DROP INDEX conversations_open;
DROP INDEX executions_status;
CREATE INDEX executions_unfinished ON executions (status, seq)
	WHERE status = 'running' OR status = 'waiting' OR status = 'failed';
