-- Where each live execution is, "flow:state" of its running frame (a
-- subflow's when one runs), written with every step: the console counts
-- the executions waiting at each step of a version from this index
-- instead of reading every payload. Rows written before are filled in
-- from their payloads (PostgreSQL's JSON functions refuse a \u0000
-- escape, which a customer's text may hold: it is read as U+FFFD).
ALTER TABLE executions ADD COLUMN step text NOT NULL DEFAULT '';
UPDATE executions e SET step = w.flow || ':' || w.state
	FROM (SELECT id, p->'frames'->-1->>'flow' AS flow, p->'frames'->-1->>'state' AS state
		FROM (SELECT id, replace(convert_from(payload, 'UTF8'), '\u0000', '\ufffd')::json AS p FROM executions
			WHERE status IN ('running', 'waiting') AND payload IS NOT NULL) x) w
	WHERE e.id = w.id AND w.flow IS NOT NULL AND w.state ~ '^[0-9]+$';
CREATE INDEX executions_waiting_steps ON executions (program_version, step) WHERE status = 'waiting';
