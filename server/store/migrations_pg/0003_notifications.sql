-- Notifications, as migrations/0003_notifications.sql (SQLite).
CREATE TABLE notifications (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  env text NOT NULL,
  idempotency_key text NOT NULL DEFAULT '',
  title text NOT NULL DEFAULT '',
  message text NOT NULL,
  transaction_id text NOT NULL DEFAULT '',
  action_slug text NOT NULL DEFAULT '',
  deliveries text NOT NULL DEFAULT '[]',
  created_at bigint NOT NULL
);
CREATE UNIQUE INDEX notifications_idempotency ON notifications (env, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE notification_recipients (
  notification_id text NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  user_id text NOT NULL,
  created_at bigint NOT NULL,
  read_at bigint,
  PRIMARY KEY (notification_id, user_id)
);
CREATE INDEX notification_recipients_user ON notification_recipients (user_id, created_at);
