-- Notifications hosts send (ctx.notify / POST /api/notify), kept for the
-- console's inbox. One row per notification; one recipient row per user
-- who sees it, with its read time. deliveries is the JSON of the delivery
-- instructions with what became of each.
CREATE TABLE notifications (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  env TEXT NOT NULL,
  idempotency_key TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL,
  transaction_id TEXT NOT NULL DEFAULT '',
  action_slug TEXT NOT NULL DEFAULT '',
  deliveries TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX notifications_idempotency ON notifications (env, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE notification_recipients (
  notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  read_at INTEGER,
  PRIMARY KEY (notification_id, user_id)
);
CREATE INDEX notification_recipients_user ON notification_recipients (user_id, created_at);
