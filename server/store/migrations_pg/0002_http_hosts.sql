-- Serverless (HTTP) hosts, as migrations/0002_http_hosts.sql (SQLite).
CREATE TABLE http_hosts (
  id text PRIMARY KEY,
  url text NOT NULL,
  env text NOT NULL,
  created_by text NOT NULL DEFAULT '',
  created_at bigint NOT NULL,
  UNIQUE (env, url)
);
