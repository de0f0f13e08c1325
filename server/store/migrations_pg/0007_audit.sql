-- The audit trail, as migrations/0007_audit.sql (SQLite).
CREATE TABLE audit_events (
  seq bigserial PRIMARY KEY,
  at bigint NOT NULL,
  actor_id text NOT NULL DEFAULT '',
  actor_email text NOT NULL DEFAULT '',
  action text NOT NULL,
  target text NOT NULL DEFAULT '',
  detail text NOT NULL DEFAULT '{}',
  remote text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_actor ON audit_events (actor_email, seq);
