-- Leaderships and their epochs: each takeover raises the epoch, and the
-- leader's writes name the epoch they were made under (fencing).
CREATE TABLE leaders (
	name  TEXT PRIMARY KEY,
	epoch BIGINT NOT NULL
);
