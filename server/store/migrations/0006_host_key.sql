-- The API key of the host a transaction started on, so that after a
-- restart only a host with that key can take the transaction over.
ALTER TABLE transactions ADD COLUMN host_key_id TEXT NOT NULL DEFAULT '';
