-- The operator's answer the server acknowledged and forwarded to the host,
-- kept until the host proves it has it: after a restart it is delivered
-- again when the host re-sends the call it answers, not asked again.
ALTER TABLE transactions ADD COLUMN pending_answer TEXT NOT NULL DEFAULT '';
