-- The audit trail: who did what on the server (logins and failures, keys
-- created and revoked, users and their roles and teams changed, runs
-- started and canceled). Rows are only ever added. detail is a JSON object.
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor_id TEXT NOT NULL DEFAULT '',
  actor_email TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '{}',
  remote TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_actor ON audit_events (actor_email, seq);
