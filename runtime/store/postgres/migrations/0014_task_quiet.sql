-- Whether the task's conversation shows notices is known where the task
-- is enqueued; kept on the task so that the router writes no joined or
-- left notices for a channel that shows none (1: quiet).
ALTER TABLE tasks ADD COLUMN quiet integer NOT NULL DEFAULT 0;
