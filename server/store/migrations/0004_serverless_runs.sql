-- Transactions run by a serverless host over a request's connection: such a
-- connection never comes back, so a server restart fails them at once.
ALTER TABLE transactions ADD COLUMN via_http_host INTEGER NOT NULL DEFAULT 0;
