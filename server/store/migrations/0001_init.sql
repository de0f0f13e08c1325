CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  first_name TEXT NOT NULL DEFAULT '',
  last_name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE TABLE teams (
  slug TEXT PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE user_teams (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  team_slug TEXT NOT NULL REFERENCES teams(slug) ON DELETE CASCADE,
  PRIMARY KEY (user_id, team_slug)
);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  env TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE sessions (
  hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL
);
CREATE TABLE login_tokens (
  hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL
);
CREATE TABLE transactions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  slug TEXT NOT NULL,
  action_name TEXT NOT NULL DEFAULT '',
  env TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user_email TEXT NOT NULL,
  user_name TEXT NOT NULL DEFAULT '',
  developer_id TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  result_status TEXT NOT NULL DEFAULT '',
  params TEXT NOT NULL DEFAULT '{}',
  params_meta TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  host_instance_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE INDEX transactions_status ON transactions(status);
CREATE TABLE transaction_logs (
  transaction_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (transaction_id, idx)
);
CREATE TABLE queued_actions (
  id TEXT PRIMARY KEY,
  slug TEXT NOT NULL,
  env TEXT NOT NULL,
  developer_id TEXT NOT NULL DEFAULT '',
  assignee TEXT NOT NULL DEFAULT '',
  params TEXT NOT NULL DEFAULT '',
  params_meta TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  dequeued_at INTEGER
);
