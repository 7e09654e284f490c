-- What one node relays to the others (connectors.Relay): short-lived rows,
-- read by every node after a NOTIFY, deleted after a few minutes.
CREATE TABLE relay (
	seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	topic   text NOT NULL,
	payload bytea NOT NULL,
	at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relay_at ON relay (at);
