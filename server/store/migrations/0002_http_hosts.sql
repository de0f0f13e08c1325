CREATE TABLE http_hosts (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  env TEXT NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  UNIQUE (env, url)
);
