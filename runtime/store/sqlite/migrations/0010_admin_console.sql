-- Where each live execution is, "flow:state" of its running frame (a
-- subflow's when one runs), written with every step: the console counts
-- the executions waiting at each step of a version from this index
-- instead of reading every payload. Rows written before are filled in
-- from their payloads.
ALTER TABLE executions ADD COLUMN step TEXT NOT NULL DEFAULT '';
UPDATE executions SET step = json_extract(CAST(payload AS TEXT), '$.frames[#-1].flow') || ':' || json_extract(CAST(payload AS TEXT), '$.frames[#-1].state')
	WHERE status IN ('running', 'waiting') AND json_valid(CAST(payload AS TEXT))
	AND json_type(CAST(payload AS TEXT), '$.frames[#-1].flow') = 'text' AND json_type(CAST(payload AS TEXT), '$.frames[#-1].state') = 'integer';
CREATE INDEX executions_waiting_steps ON executions (program_version, step) WHERE status = 'waiting';
