-- The PostgreSQL schema of the store: the same tables, columns and
-- semantics as migrations/0001_init.sql (SQLite). Times are milliseconds
-- since the epoch; free-form payloads (params, results, log lines) are
-- bytea so that any bytes a host sends (NUL included) round-trip.

-- ascii_lower folds ASCII letters only, like SQLite's NOCASE collation and
-- lower() (without ICU): the same emails clash or match in both stores,
-- whatever the database's locale.
CREATE FUNCTION ascii_lower(s text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') $$;

CREATE TABLE users (
  id text PRIMARY KEY,
  email text NOT NULL,
  first_name text NOT NULL DEFAULT '',
  last_name text NOT NULL DEFAULT '',
  role text NOT NULL,
  password_hash text NOT NULL DEFAULT '',
  created_at bigint NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (ascii_lower(email));
CREATE TABLE teams (
  slug text PRIMARY KEY,
  name text NOT NULL
);
CREATE TABLE user_teams (
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  team_slug text NOT NULL REFERENCES teams(slug) ON DELETE CASCADE,
  PRIMARY KEY (user_id, team_slug)
);
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  hash text NOT NULL UNIQUE,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  env text NOT NULL,
  label text NOT NULL DEFAULT '',
  prefix text NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX api_keys_user ON api_keys(user_id);
CREATE TABLE sessions (
  hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at bigint NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE login_tokens (
  hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at bigint NOT NULL
);
CREATE INDEX login_tokens_user ON login_tokens(user_id);
CREATE TABLE transactions (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  slug text NOT NULL,
  action_name text NOT NULL DEFAULT '',
  env text NOT NULL,
  user_id text NOT NULL,
  user_email text NOT NULL,
  user_name text NOT NULL DEFAULT '',
  developer_id text NOT NULL DEFAULT '',
  status text NOT NULL,
  result_status text NOT NULL DEFAULT '',
  params bytea NOT NULL DEFAULT '\x7b7d',
  params_meta bytea NOT NULL DEFAULT '\x',
  result bytea NOT NULL DEFAULT '\x',
  host_instance_id text NOT NULL DEFAULT '',
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  completed_at bigint
);
CREATE INDEX transactions_status ON transactions(status);
CREATE TABLE transaction_logs (
  transaction_id text NOT NULL,
  idx integer NOT NULL,
  ts bigint NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (transaction_id, idx)
);
CREATE TABLE queued_actions (
  seq bigserial NOT NULL UNIQUE,
  id text PRIMARY KEY,
  slug text NOT NULL,
  env text NOT NULL,
  developer_id text NOT NULL DEFAULT '',
  assignee text NOT NULL DEFAULT '',
  params bytea NOT NULL DEFAULT '\x',
  params_meta bytea NOT NULL DEFAULT '\x',
  created_at bigint NOT NULL,
  dequeued_at bigint
);
CREATE INDEX queued_actions_waiting ON queued_actions(env, created_at, seq) WHERE dequeued_at IS NULL;
