package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the name of the SQLite database file inside the data dir.
const FileName = "interval.db"

// SQLite is the Store on an SQLite file (WAL mode, synchronous FULL).
type SQLite struct {
	db   *sql.DB
	path string
}

var _ Store = (*SQLite)(nil)

// Open opens (creating if needed) the database file FileName in dataDir
// and applies the embedded migrations.
func Open(ctx context.Context, dataDir string) (*SQLite, error) {
	return OpenFile(ctx, filepath.Join(dataDir, FileName))
}

// OpenFile opens the SQLite database at path and applies the migrations.
func OpenFile(ctx context.Context, path string) (*SQLite, error) {
	// busy_timeout first: switching a new file to WAL takes a lock that
	// other processes opening it at the same moment must wait for.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// One connection: SQLite serializes writers anyway, and this rules out
	// SQLITE_BUSY between our own connections.
	db.SetMaxOpenConns(1)
	s := &SQLite{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	// In a write transaction (BEGIN IMMEDIATE waits for the lock): a
	// plain statement would start as a reader and fail at once with
	// SQLITE_BUSY when another process wrote meanwhile.
	tx, err := s.beginFirst(ctx)
	if err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		tx.Rollback()
		return fmt.Errorf("store: migrations table: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration name %s: %w", base, err)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		// The check and the migration share one write transaction
		// (BEGIN IMMEDIATE, see the DSN), so processes opening a new
		// file at once take turns and each migration runs once.
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: reading migrations: %w", err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
	}
	return nil
}

// beginFirst begins the first transaction of a new connection. Its set-up
// switches a new file to WAL, which SQLite refuses at once (SQLITE_BUSY,
// without waiting on busy_timeout) while another process does the same:
// that case is retried for up to ten seconds.
func (s *SQLite) beginFirst(ctx context.Context) (*sql.Tx, error) {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		tx, err := s.db.BeginTx(ctx, nil)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return tx, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func ptrMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("store: %s: %w", op, ErrConflict)
		}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

func affected(op string, r sql.Result, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return nil
}

// --- users and teams ---

func (s *SQLite) setTeams(ctx context.Context, tx *sql.Tx, userID string, teams []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_teams WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, t := range teams {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO teams (slug, name) VALUES (?, ?)`, t, t); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO user_teams (user_id, team_slug) VALUES (?, ?)`, userID, t); err != nil {
			return err
		}
	}
	return nil
}

// CreateUser inserts u with its teams (teams that do not exist are created).
func (s *SQLite) CreateUser(ctx context.Context, u User) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("create user", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, first_name, last_name, role, password_hash, created_at) VALUES (?,?,?,?,?,?,?)`,
		u.ID, u.Email, u.FirstName, u.LastName, u.Role, u.PasswordHash, ms(u.CreatedAt)); err != nil {
		return wrap("create user", err)
	}
	if err := s.setTeams(ctx, tx, u.ID, u.Teams); err != nil {
		return wrap("create user", err)
	}
	return wrap("create user", tx.Commit())
}

// UpdateUser writes every field of u (by id) and replaces its teams.
func (s *SQLite) UpdateUser(ctx context.Context, u User) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("update user", err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, `UPDATE users SET email=?, first_name=?, last_name=?, role=?, password_hash=? WHERE id=?`,
		u.Email, u.FirstName, u.LastName, u.Role, u.PasswordHash, u.ID)
	if err := affected("update user", r, err); err != nil {
		return err
	}
	if err := s.setTeams(ctx, tx, u.ID, u.Teams); err != nil {
		return wrap("update user", err)
	}
	return wrap("update user", tx.Commit())
}

// DeleteUser deletes a user with its sessions, keys and team memberships.
func (s *SQLite) DeleteUser(ctx context.Context, id string) error {
	r, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	return affected("delete user", r, err)
}

const userCols = `id, email, first_name, last_name, role, password_hash, created_at`

func (s *SQLite) scanUser(ctx context.Context, row *sql.Row) (User, error) {
	var u User
	var created int64
	if err := row.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash, &created); err != nil {
		return User{}, err
	}
	u.CreatedAt = fromMS(created)
	teams, err := s.userTeams(ctx, u.ID)
	if err != nil {
		return User{}, err
	}
	u.Teams = teams
	return u, nil
}

func (s *SQLite) userTeams(ctx context.Context, id string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT team_slug FROM user_teams WHERE user_id = ? ORDER BY team_slug`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	teams := []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		teams = append(teams, t)
	}
	return teams, rows.Err()
}

// UserByID returns the user with that id.
func (s *SQLite) UserByID(ctx context.Context, id string) (User, error) {
	u, err := s.scanUser(ctx, s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, wrap("user by id", err)
}

// UserByEmail returns the user with that email (case-insensitive).
func (s *SQLite) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := s.scanUser(ctx, s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE lower(email) = lower(?)`, email))
	return u, wrap("user by email", err)
}

// ListUsers returns every user, oldest first.
func (s *SQLite) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY created_at, email`)
	if err != nil {
		return nil, wrap("list users", err)
	}
	var users []User
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash, &created); err != nil {
			rows.Close()
			return nil, wrap("list users", err)
		}
		u.CreatedAt = fromMS(created)
		users = append(users, u)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, wrap("list users", err)
	}
	for i := range users {
		if users[i].Teams, err = s.userTeams(ctx, users[i].ID); err != nil {
			return nil, wrap("list users", err)
		}
	}
	return users, nil
}

// CountUsers returns the number of users.
func (s *SQLite) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, wrap("count users", err)
}

// CreateTeam inserts a team; ErrConflict when the slug is taken.
func (s *SQLite) CreateTeam(ctx context.Context, t Team) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO teams (slug, name) VALUES (?, ?)`, t.Slug, t.Name)
	return wrap("create team", err)
}

// ListTeams returns every team by slug.
func (s *SQLite) ListTeams(ctx context.Context) ([]Team, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT slug, name FROM teams ORDER BY slug`)
	if err != nil {
		return nil, wrap("list teams", err)
	}
	defer rows.Close()
	teams := []Team{}
	for rows.Next() {
		var t Team
		if err := rows.Scan(&t.Slug, &t.Name); err != nil {
			return nil, wrap("list teams", err)
		}
		teams = append(teams, t)
	}
	return teams, wrap("list teams", rows.Err())
}

// --- API keys ---

// CreateAPIKey stores k with the hash of the key.
func (s *SQLite) CreateAPIKey(ctx context.Context, k APIKey, hash string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (id, hash, user_id, env, label, prefix, created_at) VALUES (?,?,?,?,?,?,?)`,
		k.ID, hash, k.UserID, k.Env, k.Label, k.Prefix, ms(k.CreatedAt))
	return wrap("create api key", err)
}

const keyCols = `id, user_id, env, label, prefix, created_at, revoked_at`

func scanKey(sc interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&k.ID, &k.UserID, &k.Env, &k.Label, &k.Prefix, &created, &revoked); err != nil {
		return APIKey{}, err
	}
	k.CreatedAt = fromMS(created)
	k.RevokedAt = ptrMS(revoked)
	return k, nil
}

// APIKeyByHash returns the key (revoked or not) with that hash.
func (s *SQLite) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = ?`, hash))
	return k, wrap("api key", err)
}

// APIKeyByID returns the key with that id.
func (s *SQLite) APIKeyByID(ctx context.Context, id string) (APIKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = ?`, id))
	return k, wrap("api key", err)
}

// ListAPIKeys returns every key, newest first.
func (s *SQLite) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyCols+` FROM api_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, wrap("list api keys", err)
	}
	defer rows.Close()
	keys := []APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, wrap("list api keys", err)
		}
		keys = append(keys, k)
	}
	return keys, wrap("list api keys", rows.Err())
}

// RevokeAPIKey marks a key revoked.
func (s *SQLite) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	r, err := s.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(at), id)
	return affected("revoke api key", r, err)
}

// --- sessions and login tokens ---

// CreateSession stores a session by the hash of its token.
func (s *SQLite) CreateSession(ctx context.Context, hash, userID string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, expires_at) VALUES (?,?,?)`, hash, userID, ms(expires))
	return wrap("create session", err)
}

// SessionUserID returns the user of an unexpired session.
func (s *SQLite) SessionUserID(ctx context.Context, hash string, now time.Time) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT user_id FROM sessions WHERE hash = ? AND expires_at > ?`, hash, ms(now)).Scan(&id)
	return id, wrap("session", err)
}

// DeleteSession deletes a session.
func (s *SQLite) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return wrap("delete session", err)
}

// DeleteExpired deletes sessions and login tokens expired at now.
func (s *SQLite) DeleteExpired(ctx context.Context, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(now)); err != nil {
		return wrap("delete expired sessions", err)
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM login_tokens WHERE expires_at <= ?`, ms(now))
	return wrap("delete expired login tokens", err)
}

// CreateLoginToken stores a one-time login token by hash.
func (s *SQLite) CreateLoginToken(ctx context.Context, hash, userID string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO login_tokens (hash, user_id, expires_at) VALUES (?,?,?)`, hash, userID, ms(expires))
	return wrap("create login token", err)
}

// ConsumeLoginToken deletes the token and returns its user if it was valid.
func (s *SQLite) ConsumeLoginToken(ctx context.Context, hash string, now time.Time) (string, error) {
	var id string
	var exp int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM login_tokens WHERE hash = ? RETURNING user_id, expires_at`, hash).Scan(&id, &exp)
	if err != nil {
		return "", wrap("login token", err)
	}
	if exp <= ms(now) {
		return "", fmt.Errorf("store: login token expired: %w", ErrNotFound)
	}
	return id, nil
}

// --- transactions ---

func rawOr(v json.RawMessage, def string) string {
	if len(v) == 0 {
		return def
	}
	return string(v)
}

// CreateTransaction inserts t.
func (s *SQLite) CreateTransaction(ctx context.Context, t Transaction) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO transactions (id, slug, action_name, env, user_id, user_email, user_name, developer_id,
		status, result_status, params, params_meta, result, host_instance_id, created_at, updated_at, completed_at, via_http_host)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.Slug, t.ActionName, t.Env, t.UserID, t.UserEmail, t.UserName, t.DeveloperID,
		t.Status, t.ResultStatus, rawOr(t.Params, "{}"), rawOr(t.ParamsMeta, ""), t.Result, t.HostInstanceID,
		ms(t.CreatedAt), ms(t.UpdatedAt), nullMS(t.CompletedAt), t.ViaHTTPHost)
	return wrap("create transaction", err)
}

// UpdateTransaction writes t's mutable fields.
func (s *SQLite) UpdateTransaction(ctx context.Context, t Transaction) error {
	r, err := s.db.ExecContext(ctx, `UPDATE transactions SET status=?, result_status=?, result=?, host_instance_id=?, via_http_host=?, updated_at=?, completed_at=? WHERE id=?`,
		t.Status, t.ResultStatus, t.Result, t.HostInstanceID, t.ViaHTTPHost, ms(t.UpdatedAt), nullMS(t.CompletedAt), t.ID)
	return affected("update transaction", r, err)
}

const txCols = `id, slug, action_name, env, user_id, user_email, user_name, developer_id, status, result_status,
	params, params_meta, result, host_instance_id, created_at, updated_at, completed_at, via_http_host`

func scanTx(sc interface{ Scan(...any) error }) (Transaction, error) {
	var t Transaction
	var params, meta string
	var created, updated int64
	var completed sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Slug, &t.ActionName, &t.Env, &t.UserID, &t.UserEmail, &t.UserName, &t.DeveloperID,
		&t.Status, &t.ResultStatus, &params, &meta, &t.Result, &t.HostInstanceID, &created, &updated, &completed, &t.ViaHTTPHost); err != nil {
		return Transaction{}, err
	}
	t.Params = json.RawMessage(params)
	if meta != "" {
		t.ParamsMeta = json.RawMessage(meta)
	}
	t.CreatedAt, t.UpdatedAt, t.CompletedAt = fromMS(created), fromMS(updated), ptrMS(completed)
	return t, nil
}

// Transaction returns the transaction with that id.
func (s *SQLite) Transaction(ctx context.Context, id string) (Transaction, error) {
	t, err := scanTx(s.db.QueryRowContext(ctx, `SELECT `+txCols+` FROM transactions WHERE id = ?`, id))
	return t, wrap("transaction", err)
}

func (s *SQLite) queryTxs(ctx context.Context, op, q string, args ...any) ([]Transaction, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := []Transaction{}
	for rows.Next() {
		t, err := scanTx(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, t)
	}
	return out, wrap(op, rows.Err())
}

// ListTransactions returns matching transactions, newest first.
func (s *SQLite) ListTransactions(ctx context.Context, f TransactionFilter) ([]Transaction, error) {
	q := `SELECT ` + txCols + ` FROM transactions WHERE 1=1`
	var args []any
	if f.Slug != "" {
		q += ` AND slug = ?`
		args = append(args, f.Slug)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.UserEmail != "" {
		q += ` AND lower(user_email) = lower(?)`
		args = append(args, f.UserEmail)
	}
	if f.Env != "" {
		q += ` AND env = ?`
		args = append(args, f.Env)
	}
	if f.Before != "" {
		q += ` AND seq < coalesce((SELECT seq FROM transactions WHERE id = ?), -1)`
		args = append(args, f.Before)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, f.Limit)
	return s.queryTxs(ctx, "list transactions", q, args...)
}

// UnfinishedTransactions returns transactions that are neither completed
// nor canceled.
func (s *SQLite) UnfinishedTransactions(ctx context.Context) ([]Transaction, error) {
	return s.queryTxs(ctx, "unfinished transactions", `SELECT `+txCols+` FROM transactions WHERE status NOT IN (?, ?) ORDER BY seq`,
		StatusCompleted, StatusCanceled)
}

// AppendLog stores a log line (a repeated index replaces the line).
func (s *SQLite) AppendLog(ctx context.Context, txID string, l Log) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO transaction_logs (transaction_id, idx, ts, data) VALUES (?,?,?,?)`,
		txID, l.Index, l.Timestamp, l.Data)
	return wrap("append log", err)
}

// Logs returns a transaction's logs by index.
func (s *SQLite) Logs(ctx context.Context, txID string) ([]Log, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT idx, ts, data FROM transaction_logs WHERE transaction_id = ? ORDER BY idx`, txID)
	if err != nil {
		return nil, wrap("logs", err)
	}
	defer rows.Close()
	logs := []Log{}
	for rows.Next() {
		var l Log
		if err := rows.Scan(&l.Index, &l.Timestamp, &l.Data); err != nil {
			return nil, wrap("logs", err)
		}
		logs = append(logs, l)
	}
	return logs, wrap("logs", rows.Err())
}

// --- queued actions ---

// Enqueue stores a queued action.
func (s *SQLite) Enqueue(ctx context.Context, q QueuedAction) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO queued_actions (id, slug, env, developer_id, assignee, params, params_meta, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		q.ID, q.Slug, q.Env, q.DeveloperID, q.Assignee, rawOr(q.Params, ""), rawOr(q.ParamsMeta, ""), ms(q.CreatedAt))
	return wrap("enqueue", err)
}

const queueCols = `id, slug, env, developer_id, assignee, params, params_meta, created_at, dequeued_at`

func scanQueued(sc interface{ Scan(...any) error }) (QueuedAction, error) {
	var q QueuedAction
	var params, meta string
	var created int64
	var deq sql.NullInt64
	if err := sc.Scan(&q.ID, &q.Slug, &q.Env, &q.DeveloperID, &q.Assignee, &params, &meta, &created, &deq); err != nil {
		return QueuedAction{}, err
	}
	if params != "" {
		q.Params = json.RawMessage(params)
	}
	if meta != "" {
		q.ParamsMeta = json.RawMessage(meta)
	}
	q.CreatedAt, q.DequeuedAt = fromMS(created), ptrMS(deq)
	return q, nil
}

// Dequeue marks a queued action dequeued and returns it.
func (s *SQLite) Dequeue(ctx context.Context, id string, at time.Time) (QueuedAction, error) {
	q, err := scanQueued(s.db.QueryRowContext(ctx, `UPDATE queued_actions SET dequeued_at = ? WHERE id = ? AND dequeued_at IS NULL RETURNING `+queueCols, ms(at), id))
	return q, wrap("dequeue", err)
}

// Queued returns the action still queued with that id.
func (s *SQLite) Queued(ctx context.Context, id string) (QueuedAction, error) {
	q, err := scanQueued(s.db.QueryRowContext(ctx, `SELECT `+queueCols+` FROM queued_actions WHERE id = ? AND dequeued_at IS NULL`, id))
	return q, wrap("queued", err)
}

// ListQueued returns the actions still queued in env, oldest first.
func (s *SQLite) ListQueued(ctx context.Context, env string) ([]QueuedAction, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+queueCols+` FROM queued_actions WHERE env = ? AND dequeued_at IS NULL ORDER BY created_at`, env)
	if err != nil {
		return nil, wrap("list queued", err)
	}
	defer rows.Close()
	out := []QueuedAction{}
	for rows.Next() {
		q, err := scanQueued(rows)
		if err != nil {
			return nil, wrap("list queued", err)
		}
		out = append(out, q)
	}
	return out, wrap("list queued", rows.Err())
}

// Setting returns the value stored under key; ErrNotFound when none.
func (s *SQLite) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, wrap("setting", err)
}

// SetSetting stores value under key.
func (s *SQLite) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return wrap("set setting", err)
}
