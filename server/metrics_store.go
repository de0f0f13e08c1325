package server

import (
	"context"
	"errors"
	"time"

	"github.com/interval-go/sdk/server/store"
)

// instrumentedStore times the store's writes and counts its failures
// (interval_server_store_write_duration_seconds,
// interval_server_store_errors_total{operation}). Not found and conflict
// answers are not failures. Methods a later Store gains pass through
// uncounted until listed here.
type instrumentedStore struct {
	store.Store
	m *metrics
}

// unwrapStore returns the store an instrumentedStore wraps, for type
// assertions on optional interfaces (store.Claimer).
func unwrapStore(st store.Store) store.Store {
	if i, ok := st.(*instrumentedStore); ok {
		st = i.Store
	}
	if g, ok := st.(*store.GroupCommit); ok {
		st = g.Unwrap()
	}
	return st
}

func (s *instrumentedStore) observe(op string, write bool, start time.Time, err *error) {
	if write {
		s.m.storeWrite.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
	if e := *err; e != nil && !errors.Is(e, store.ErrNotFound) && !errors.Is(e, store.ErrConflict) {
		s.m.storeErrors.WithLabelValues(op).Inc()
	}
}

func (s *instrumentedStore) CreateUser(ctx context.Context, u store.User) (err error) {
	defer s.observe("create_user", true, time.Now(), &err)
	return s.Store.CreateUser(ctx, u)
}

func (s *instrumentedStore) UpdateUser(ctx context.Context, u store.User) (err error) {
	defer s.observe("update_user", true, time.Now(), &err)
	return s.Store.UpdateUser(ctx, u)
}

func (s *instrumentedStore) DeleteUser(ctx context.Context, id string) (err error) {
	defer s.observe("delete_user", true, time.Now(), &err)
	return s.Store.DeleteUser(ctx, id)
}

func (s *instrumentedStore) UserByID(ctx context.Context, id string) (r0 store.User, err error) {
	defer s.observe("user_by_id", false, time.Now(), &err)
	return s.Store.UserByID(ctx, id)
}

func (s *instrumentedStore) UserByEmail(ctx context.Context, email string) (r0 store.User, err error) {
	defer s.observe("user_by_email", false, time.Now(), &err)
	return s.Store.UserByEmail(ctx, email)
}

func (s *instrumentedStore) ListUsers(ctx context.Context) (r0 []store.User, err error) {
	defer s.observe("list_users", false, time.Now(), &err)
	return s.Store.ListUsers(ctx)
}

func (s *instrumentedStore) CountUsers(ctx context.Context) (r0 int, err error) {
	defer s.observe("count_users", false, time.Now(), &err)
	return s.Store.CountUsers(ctx)
}

func (s *instrumentedStore) CreateTeam(ctx context.Context, t store.Team) (err error) {
	defer s.observe("create_team", true, time.Now(), &err)
	return s.Store.CreateTeam(ctx, t)
}

func (s *instrumentedStore) ListTeams(ctx context.Context) (r0 []store.Team, err error) {
	defer s.observe("list_teams", false, time.Now(), &err)
	return s.Store.ListTeams(ctx)
}

func (s *instrumentedStore) CreateAPIKey(ctx context.Context, k store.APIKey, hash string) (err error) {
	defer s.observe("create_api_key", true, time.Now(), &err)
	return s.Store.CreateAPIKey(ctx, k, hash)
}

func (s *instrumentedStore) APIKeyByHash(ctx context.Context, hash string) (r0 store.APIKey, err error) {
	defer s.observe("api_key_by_hash", false, time.Now(), &err)
	return s.Store.APIKeyByHash(ctx, hash)
}

func (s *instrumentedStore) APIKeyByID(ctx context.Context, id string) (r0 store.APIKey, err error) {
	defer s.observe("api_key_by_id", false, time.Now(), &err)
	return s.Store.APIKeyByID(ctx, id)
}

func (s *instrumentedStore) ListAPIKeys(ctx context.Context) (r0 []store.APIKey, err error) {
	defer s.observe("list_api_keys", false, time.Now(), &err)
	return s.Store.ListAPIKeys(ctx)
}

func (s *instrumentedStore) RevokeAPIKey(ctx context.Context, id string, at time.Time) (err error) {
	defer s.observe("revoke_api_key", true, time.Now(), &err)
	return s.Store.RevokeAPIKey(ctx, id, at)
}

func (s *instrumentedStore) CreateSession(ctx context.Context, hash string, userID string, expires time.Time) (err error) {
	defer s.observe("create_session", true, time.Now(), &err)
	return s.Store.CreateSession(ctx, hash, userID, expires)
}

func (s *instrumentedStore) SessionUserID(ctx context.Context, hash string, now time.Time) (r0 string, err error) {
	defer s.observe("session_user_id", false, time.Now(), &err)
	return s.Store.SessionUserID(ctx, hash, now)
}

func (s *instrumentedStore) SessionUser(ctx context.Context, hash string, now time.Time) (r0 store.User, err error) {
	defer s.observe("session_user", false, time.Now(), &err)
	return s.Store.SessionUser(ctx, hash, now)
}

func (s *instrumentedStore) DeleteSession(ctx context.Context, hash string) (err error) {
	defer s.observe("delete_session", true, time.Now(), &err)
	return s.Store.DeleteSession(ctx, hash)
}

func (s *instrumentedStore) DeleteExpired(ctx context.Context, now time.Time) (err error) {
	defer s.observe("delete_expired", true, time.Now(), &err)
	return s.Store.DeleteExpired(ctx, now)
}

func (s *instrumentedStore) CreateLoginToken(ctx context.Context, hash string, userID string, expires time.Time) (err error) {
	defer s.observe("create_login_token", true, time.Now(), &err)
	return s.Store.CreateLoginToken(ctx, hash, userID, expires)
}

func (s *instrumentedStore) ConsumeLoginToken(ctx context.Context, hash string, now time.Time) (r0 string, err error) {
	defer s.observe("consume_login_token", true, time.Now(), &err)
	return s.Store.ConsumeLoginToken(ctx, hash, now)
}

func (s *instrumentedStore) CreateTransaction(ctx context.Context, t store.Transaction) (err error) {
	defer s.observe("create_transaction", true, time.Now(), &err)
	return s.Store.CreateTransaction(ctx, t)
}

func (s *instrumentedStore) UpdateTransaction(ctx context.Context, t store.Transaction) (err error) {
	defer s.observe("update_transaction", true, time.Now(), &err)
	return s.Store.UpdateTransaction(ctx, t)
}

func (s *instrumentedStore) Transaction(ctx context.Context, id string) (r0 store.Transaction, err error) {
	defer s.observe("transaction", false, time.Now(), &err)
	return s.Store.Transaction(ctx, id)
}

func (s *instrumentedStore) ListTransactions(ctx context.Context, f store.TransactionFilter) (r0 []store.Transaction, err error) {
	defer s.observe("list_transactions", false, time.Now(), &err)
	return s.Store.ListTransactions(ctx, f)
}

func (s *instrumentedStore) UnfinishedTransactions(ctx context.Context) (r0 []store.Transaction, err error) {
	defer s.observe("unfinished_transactions", false, time.Now(), &err)
	return s.Store.UnfinishedTransactions(ctx)
}

func (s *instrumentedStore) AppendLog(ctx context.Context, txID string, l store.Log) (err error) {
	defer s.observe("append_log", true, time.Now(), &err)
	return s.Store.AppendLog(ctx, txID, l)
}

func (s *instrumentedStore) Logs(ctx context.Context, txID string) (r0 []store.Log, err error) {
	defer s.observe("logs", false, time.Now(), &err)
	return s.Store.Logs(ctx, txID)
}

func (s *instrumentedStore) Enqueue(ctx context.Context, q store.QueuedAction) (err error) {
	defer s.observe("enqueue", true, time.Now(), &err)
	return s.Store.Enqueue(ctx, q)
}

func (s *instrumentedStore) Dequeue(ctx context.Context, id string, at time.Time) (r0 store.QueuedAction, err error) {
	defer s.observe("dequeue", true, time.Now(), &err)
	return s.Store.Dequeue(ctx, id, at)
}

func (s *instrumentedStore) Queued(ctx context.Context, id string) (r0 store.QueuedAction, err error) {
	defer s.observe("queued", false, time.Now(), &err)
	return s.Store.Queued(ctx, id)
}

func (s *instrumentedStore) ListQueued(ctx context.Context, env string) (r0 []store.QueuedAction, err error) {
	defer s.observe("list_queued", false, time.Now(), &err)
	return s.Store.ListQueued(ctx, env)
}

func (s *instrumentedStore) CreateHTTPHost(ctx context.Context, h store.HTTPHost) (err error) {
	defer s.observe("create_http_host", true, time.Now(), &err)
	return s.Store.CreateHTTPHost(ctx, h)
}

func (s *instrumentedStore) HTTPHost(ctx context.Context, id string) (r0 store.HTTPHost, err error) {
	defer s.observe("http_host", false, time.Now(), &err)
	return s.Store.HTTPHost(ctx, id)
}

func (s *instrumentedStore) ListHTTPHosts(ctx context.Context) (r0 []store.HTTPHost, err error) {
	defer s.observe("list_http_hosts", false, time.Now(), &err)
	return s.Store.ListHTTPHosts(ctx)
}

func (s *instrumentedStore) DeleteHTTPHost(ctx context.Context, id string) (err error) {
	defer s.observe("delete_http_host", true, time.Now(), &err)
	return s.Store.DeleteHTTPHost(ctx, id)
}

func (s *instrumentedStore) CreateNotification(ctx context.Context, n store.Notification, recipients []string) (r0 store.Notification, r1 bool, err error) {
	defer s.observe("create_notification", true, time.Now(), &err)
	return s.Store.CreateNotification(ctx, n, recipients)
}

func (s *instrumentedStore) NoteDeliveries(ctx context.Context, id string, notes map[int]string) (err error) {
	defer s.observe("note_deliveries", true, time.Now(), &err)
	return s.Store.NoteDeliveries(ctx, id, notes)
}

func (s *instrumentedStore) ListNotifications(ctx context.Context, userID string, offset int, limit int) (r0 []store.Notification, r1 int, err error) {
	defer s.observe("list_notifications", false, time.Now(), &err)
	return s.Store.ListNotifications(ctx, userID, offset, limit)
}

func (s *instrumentedStore) MarkNotificationRead(ctx context.Context, userID string, id string, at time.Time) (err error) {
	defer s.observe("mark_notification_read", true, time.Now(), &err)
	return s.Store.MarkNotificationRead(ctx, userID, id, at)
}

func (s *instrumentedStore) MarkAllNotificationsRead(ctx context.Context, userID string, at time.Time) (r0 int, err error) {
	defer s.observe("mark_all_notifications_read", true, time.Now(), &err)
	return s.Store.MarkAllNotificationsRead(ctx, userID, at)
}

func (s *instrumentedStore) Setting(ctx context.Context, key string) (r0 string, err error) {
	defer s.observe("setting", false, time.Now(), &err)
	return s.Store.Setting(ctx, key)
}

func (s *instrumentedStore) SetSetting(ctx context.Context, key string, value string) (err error) {
	defer s.observe("set_setting", true, time.Now(), &err)
	return s.Store.SetSetting(ctx, key, value)
}

func (s *instrumentedStore) AppendAudit(ctx context.Context, e store.AuditEvent) (err error) {
	defer s.observe("append_audit", true, time.Now(), &err)
	return s.Store.AppendAudit(ctx, e)
}

func (s *instrumentedStore) ListAudit(ctx context.Context, f store.AuditFilter) (r0 []store.AuditEvent, err error) {
	defer s.observe("list_audit", false, time.Now(), &err)
	return s.Store.ListAudit(ctx, f)
}
