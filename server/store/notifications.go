package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Notifications (migration 0003 of both databases).

const notificationCols = `n.id, n.env, n.idempotency_key, n.title, n.message, n.transaction_id, n.action_slug, n.deliveries, n.created_at`

func encodeDeliveries(d []NotificationDelivery) (string, error) {
	if d == nil {
		d = []NotificationDelivery{}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encoding deliveries: %w", err)
	}
	return string(b), nil
}

func decodeDeliveries(s string, n *Notification) error {
	if err := json.Unmarshal([]byte(s), &n.Deliveries); err != nil {
		return fmt.Errorf("decoding deliveries of %s: %w", n.ID, err)
	}
	if n.Deliveries == nil {
		n.Deliveries = []NotificationDelivery{}
	}
	return nil
}

func scanNotification(sc interface{ Scan(...any) error }, withRead bool) (Notification, error) {
	var n Notification
	var deliveries string
	var created int64
	var read sql.NullInt64
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
	n.CreatedAt, n.ReadAt = fromMS(created), ptrMS(read)
	return n, nil
}

// CreateNotification stores n for recipients, or returns the notification
// with n's idempotency key in n's environment.
func (s *sqlStore) CreateNotification(ctx context.Context, n Notification, recipients []string) (Notification, bool, error) {
	const op = "create notification"
	deliveries, err := encodeDeliveries(n.Deliveries)
	if err != nil {
		return Notification{}, false, s.wrap(op, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Notification{}, false, s.wrap(op, err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO notifications (id, env, idempotency_key, title, message, transaction_id, action_slug, deliveries, created_at)
		VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (env, idempotency_key) WHERE idempotency_key <> '' DO NOTHING`),
		s.d.args([]any{n.ID, n.Env, n.IdempotencyKey, n.Title, n.Message, n.TransactionID, n.ActionSlug, deliveries, ms(n.CreatedAt)})...)
	if err != nil {
		return Notification{}, false, s.wrap(op, err)
	}
	if c, err := r.RowsAffected(); err != nil {
		return Notification{}, false, s.wrap(op, err)
	} else if c == 0 {
		old, err := scanNotification(tx.QueryRowContext(ctx, s.d.rebind(`SELECT `+notificationCols+` FROM notifications n WHERE n.env = ? AND n.idempotency_key = ?`),
			s.d.args([]any{n.Env, n.IdempotencyKey})...), false)
		return old, false, s.wrap(op, err)
	}
	for _, u := range recipients {
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO notification_recipients (notification_id, user_id, created_at) VALUES (?,?,?) ON CONFLICT DO NOTHING`),
			n.ID, u, ms(n.CreatedAt)); err != nil {
			return Notification{}, false, s.wrap(op, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Notification{}, false, s.wrap(op, err)
	}
	if n.Deliveries == nil {
		n.Deliveries = []NotificationDelivery{}
	}
	n.CreatedAt, n.ReadAt = fromMS(ms(n.CreatedAt)), nil
	return n, true, nil
}

// applyNotes sets the notes on the deliveries JSON text d.
func applyNotes(id, d string, notes map[int]string) (string, error) {
	n := Notification{ID: id}
	if err := decodeDeliveries(d, &n); err != nil {
		return "", err
	}
	for i, note := range notes {
		if i >= 0 && i < len(n.Deliveries) {
			n.Deliveries[i].Note = note
		}
	}
	return encodeDeliveries(n.Deliveries)
}

// NoteDeliveries sets the notes of some of a notification's deliveries.
func (s *sqlStore) NoteDeliveries(ctx context.Context, id string, notes map[int]string) error {
	const op = "note deliveries"
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	defer tx.Rollback()
	var d string
	if err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT deliveries FROM notifications WHERE id = ?`+s.d.forUpdate), id).Scan(&d); err != nil {
		return s.wrap(op, err)
	}
	if d, err = applyNotes(id, d, notes); err != nil {
		return s.wrap(op, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE notifications SET deliveries = ? WHERE id = ?`), d, id); err != nil {
		return s.wrap(op, err)
	}
	return s.wrap(op, tx.Commit())
}

// ListNotifications returns a page of the user's notifications, newest
// first, and the number of unread ones.
func (s *sqlStore) ListNotifications(ctx context.Context, userID string, offset, limit int) ([]Notification, int, error) {
	const op = "list notifications"
	if limit <= 0 {
		limit = math.MaxInt // no limit: SQLite takes -1, PostgreSQL NULL, both this
	}
	rows, err := s.query(ctx, `SELECT `+notificationCols+`, r.read_at FROM notification_recipients r
		JOIN notifications n ON n.id = r.notification_id
		WHERE r.user_id = ? ORDER BY r.created_at DESC, n.seq DESC LIMIT ? OFFSET ?`, userID, limit, max(offset, 0))
	if err != nil {
		return nil, 0, s.wrap(op, err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		n, err := scanNotification(rows, true)
		if err != nil {
			return nil, 0, s.wrap(op, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.wrap(op, err)
	}
	var unread int
	err = s.queryRow(ctx, `SELECT count(*) FROM notification_recipients WHERE user_id = ? AND read_at IS NULL`, userID).Scan(&unread)
	return out, unread, s.wrap(op, err)
}

// MarkNotificationRead marks one of the user's notifications read (a
// notification read already keeps its first read time).
func (s *sqlStore) MarkNotificationRead(ctx context.Context, userID, id string, at time.Time) error {
	r, err := s.exec(ctx, `UPDATE notification_recipients SET read_at = coalesce(read_at, ?) WHERE user_id = ? AND notification_id = ?`,
		ms(at), userID, id)
	return s.affected("mark notification read", r, err)
}

// MarkAllNotificationsRead marks every unread notification of the user read.
func (s *sqlStore) MarkAllNotificationsRead(ctx context.Context, userID string, at time.Time) (int, error) {
	r, err := s.exec(ctx, `UPDATE notification_recipients SET read_at = ? WHERE user_id = ? AND read_at IS NULL`, ms(at), userID)
	if err != nil {
		return 0, s.wrap("mark all notifications read", err)
	}
	n, err := r.RowsAffected()
	return int(n), s.wrap("mark all notifications read", err)
}
