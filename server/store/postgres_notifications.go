package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notifications of the PostgreSQL store (migrations_pg 0003), the same as
// those of the SQLite store (notifications.go).

func pgScanNotification(sc pgx.Row, withRead bool) (Notification, error) {
	var n Notification
	var deliveries string
	var created int64
	var read *int64
	dest := []any{&n.ID, &n.Env, &n.IdempotencyKey, &n.Title, &n.Message, &n.TransactionID, &n.ActionSlug, &deliveries, &created}
	if withRead {
		dest = append(dest, &read)
	}
	if err := sc.Scan(dest...); err != nil {
		return Notification{}, err
	}
	if err := decodeDeliveries(deliveries, &n); err != nil {
		return Notification{}, err
	}
	n.CreatedAt, n.ReadAt = fromMS(created), ptrMSPg(read)
	return n, nil
}

// CreateNotification stores n for recipients, or returns the notification
// with n's idempotency key in n's environment.
func (s *Postgres) CreateNotification(ctx context.Context, n Notification, recipients []string) (Notification, bool, error) {
	const op = "create notification"
	deliveries, err := encodeDeliveries(n.Deliveries)
	if err != nil {
		return Notification{}, false, pgWrap(op, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Notification{}, false, pgWrap(op, err)
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `INSERT INTO notifications (id, env, idempotency_key, title, message, transaction_id, action_slug, deliveries, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (env, idempotency_key) WHERE idempotency_key <> '' DO NOTHING`,
		n.ID, n.Env, n.IdempotencyKey, n.Title, n.Message, n.TransactionID, n.ActionSlug, deliveries, ms(n.CreatedAt))
	if err != nil {
		return Notification{}, false, pgWrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		old, err := pgScanNotification(tx.QueryRow(ctx, `SELECT `+notificationCols+` FROM notifications n WHERE n.env = $1 AND n.idempotency_key = $2`,
			n.Env, n.IdempotencyKey), false)
		return old, false, pgWrap(op, err)
	}
	for _, u := range recipients {
		if _, err := tx.Exec(ctx, `INSERT INTO notification_recipients (notification_id, user_id, created_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
			n.ID, u, ms(n.CreatedAt)); err != nil {
			return Notification{}, false, pgWrap(op, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return Notification{}, false, pgWrap(op, err)
	}
	if n.Deliveries == nil {
		n.Deliveries = []NotificationDelivery{}
	}
	n.CreatedAt, n.ReadAt = fromMS(ms(n.CreatedAt)), nil
	return n, true, nil
}

// ListNotifications returns a page of the user's notifications, newest
// first, and the number of unread ones.
func (s *Postgres) ListNotifications(ctx context.Context, userID string, offset, limit int) ([]Notification, int, error) {
	const op = "list notifications"
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+notificationCols+`, r.read_at FROM notification_recipients r
		JOIN notifications n ON n.id = r.notification_id
		WHERE r.user_id = $1 ORDER BY r.created_at DESC, n.seq DESC LIMIT $2 OFFSET $3`, userID, lim, max(offset, 0))
	if err != nil {
		return nil, 0, pgWrap(op, err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		n, err := pgScanNotification(rows, true)
		if err != nil {
			return nil, 0, pgWrap(op, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, pgWrap(op, err)
	}
	var unread int
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM notification_recipients WHERE user_id = $1 AND read_at IS NULL`, userID).Scan(&unread)
	return out, unread, pgWrap(op, err)
}

// MarkNotificationRead marks one of the user's notifications read (a
// notification read already keeps its first read time).
func (s *Postgres) MarkNotificationRead(ctx context.Context, userID, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE notification_recipients SET read_at = coalesce(read_at, $1) WHERE user_id = $2 AND notification_id = $3`,
		ms(at), userID, id)
	return pgAffected("mark notification read", tag, err)
}

// MarkAllNotificationsRead marks every unread notification of the user read.
func (s *Postgres) MarkAllNotificationsRead(ctx context.Context, userID string, at time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE notification_recipients SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL`, ms(at), userID)
	if err != nil {
		return 0, pgWrap("mark all notifications read", err)
	}
	return int(tag.RowsAffected()), nil
}

// NoteDeliveries sets the notes of some of a notification's deliveries.
func (s *Postgres) NoteDeliveries(ctx context.Context, id string, notes map[int]string) error {
	const op = "note deliveries"
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return pgWrap(op, err)
	}
	defer tx.Rollback(ctx)
	var d string
	if err := tx.QueryRow(ctx, `SELECT deliveries FROM notifications WHERE id = $1 FOR UPDATE`, id).Scan(&d); err != nil {
		return pgWrap(op, err)
	}
	if d, err = applyNotes(id, d, notes); err != nil {
		return pgWrap(op, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE notifications SET deliveries = $1 WHERE id = $2`, d, id); err != nil {
		return pgWrap(op, err)
	}
	return pgWrap(op, tx.Commit(ctx))
}
