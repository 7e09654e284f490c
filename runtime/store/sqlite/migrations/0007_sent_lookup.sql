-- Delivery reports (Twilio's status callbacks) name an outbound message by
-- the platform's id for it: the flow waiting for the send, or the agent
-- whose reply it is, learns its fate through this lookup. Only messages a
-- platform gave an id are in the index.
CREATE INDEX messages_sent ON messages (connector, instance, platform_message_id)
	WHERE direction = 'out' AND platform_message_id IS NOT NULL;
