-- A task's router channel (the capacity it takes: chat, voice, email), as
-- its enqueue step decided it. Tasks stored before it get the default the
-- engine gives: voice for calls, email for email, chat otherwise.
ALTER TABLE tasks ADD COLUMN channel TEXT NOT NULL DEFAULT '';
UPDATE tasks SET channel = CASE (SELECT c.channel FROM conversations c WHERE c.id = tasks.conversation_id)
	WHEN 'voice' THEN 'voice' WHEN 'email' THEN 'email' ELSE 'chat' END;
