package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations_pg/*.sql
var pgMigrations embed.FS

// pgMigrationLock is the key of the advisory lock that serializes the
// migrations of servers opening the same database at once ("interval").
const pgMigrationLock int64 = 0x696e74657276616c

// Postgres is the Store on a PostgreSQL database. It keeps the semantics
// of the SQLite store: the same errors, orderings and case-insensitive
// emails (ASCII letters only, as SQLite's NOCASE), and every write is
// committed before its method returns. Several processes may share one
// database: migrations take turns on an advisory lock, and one-time
// operations (Dequeue, ConsumeLoginToken) succeed once across all of them.
type Postgres struct {
	pool    *pgxpool.Pool
	secrets []string // the URL's password and the like, kept out of errors
}

var _ Store = (*Postgres)(nil)

// OpenPostgres connects to the PostgreSQL database at databaseURL
// (postgres://user:password@host:port/db?sslmode=…, or any connection
// string pgx accepts) and applies the embedded migrations. Servers opening
// the same database at once take turns on an advisory lock, so each
// migration runs once. Give the store a database of its own (or a schema
// of its own, with search_path=… in the URL); the role needs the right to
// create tables there (the owner has it). Errors never contain the
// password.
func OpenPostgres(ctx context.Context, databaseURL string) (*Postgres, error) {
	secrets := urlSecrets(databaseURL)
	fail := func(err error) error {
		return fmt.Errorf("store: postgres %s: %w", RedactURL(databaseURL), redactErr(err, secrets))
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fail(err)
	}
	if cfg.ConnConfig.Password != "" {
		secrets = append(secrets, cfg.ConnConfig.Password)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "interval-server"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fail(err)
	}
	s := &Postgres{pool: pool, secrets: secrets}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fail(err)
	}
	return s, nil
}

// migrate applies the migrations not applied yet, all in one transaction
// holding the migration lock.
func (s *Postgres) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgMigrationLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("reading migrations: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("reading migrations: %w", err)
	}
	done := map[int]bool{}
	for _, v := range applied {
		done[v] = true
	}
	names, err := fs.Glob(pgMigrations, "migrations_pg/*.sql")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration name %s: %w", base, err)
		}
		if done[v] {
			continue
		}
		body, err := pgMigrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		// No arguments: pgx sends it with the simple protocol, which runs
		// several statements.
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, v, ms(time.Now())); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

func pgWrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return fmt.Errorf("store: %s: %w", op, ErrConflict)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

func pgAffected(op string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return pgWrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return nil
}

// bytesOr is the bytea value of v, or def when v is empty; never nil, which
// pgx would send as NULL.
func bytesOr(v []byte, def string) []byte {
	if len(v) == 0 {
		return []byte(def)
	}
	return v
}

func ptrMSPg(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMS(*v)
	return &t
}

// --- users and teams ---

func (s *Postgres) setTeams(ctx context.Context, tx pgx.Tx, userID string, teams []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM user_teams WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, t := range teams {
		if _, err := tx.Exec(ctx, `INSERT INTO teams (slug, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, t); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_teams (user_id, team_slug) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, t); err != nil {
			return err
		}
	}
	return nil
}

// CreateUser inserts u with its teams (teams that do not exist are created).
func (s *Postgres) CreateUser(ctx context.Context, u User) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return pgWrap("create user", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO users (id, email, first_name, last_name, role, password_hash, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		u.ID, u.Email, u.FirstName, u.LastName, u.Role, u.PasswordHash, ms(u.CreatedAt)); err != nil {
		return pgWrap("create user", err)
	}
	if err := s.setTeams(ctx, tx, u.ID, u.Teams); err != nil {
		return pgWrap("create user", err)
	}
	return pgWrap("create user", tx.Commit(ctx))
}

// UpdateUser writes every field of u (by id) and replaces its teams.
func (s *Postgres) UpdateUser(ctx context.Context, u User) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return pgWrap("update user", err)
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `UPDATE users SET email=$1, first_name=$2, last_name=$3, role=$4, password_hash=$5 WHERE id=$6`,
		u.Email, u.FirstName, u.LastName, u.Role, u.PasswordHash, u.ID)
	if err := pgAffected("update user", tag, err); err != nil {
		return err
	}
	if err := s.setTeams(ctx, tx, u.ID, u.Teams); err != nil {
		return pgWrap("update user", err)
	}
	return pgWrap("update user", tx.Commit(ctx))
}

// DeleteUser deletes a user with its sessions, keys and team memberships.
func (s *Postgres) DeleteUser(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	return pgAffected("delete user", tag, err)
}

// pgUserCols selects a user with its team slugs (sorted bytewise, as in
// SQLite).
const pgUserCols = `id, email, first_name, last_name, role, password_hash, created_at,
	coalesce((SELECT array_agg(team_slug ORDER BY team_slug COLLATE "C") FROM user_teams WHERE user_id = users.id), '{}')`

func pgScanUser(sc pgx.Row) (User, error) {
	var u User
	var created int64
	if err := sc.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash, &created, &u.Teams); err != nil {
		return User{}, err
	}
	if u.Teams == nil {
		u.Teams = []string{}
	}
	u.CreatedAt = fromMS(created)
	return u, nil
}

// UserByID returns the user with that id.
func (s *Postgres) UserByID(ctx context.Context, id string) (User, error) {
	u, err := pgScanUser(s.pool.QueryRow(ctx, `SELECT `+pgUserCols+` FROM users WHERE id = $1`, id))
	return u, pgWrap("user by id", err)
}

// UserByEmail returns the user with that email (case-insensitive for ASCII
// letters).
func (s *Postgres) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := pgScanUser(s.pool.QueryRow(ctx, `SELECT `+pgUserCols+` FROM users WHERE ascii_lower(email) = ascii_lower($1)`, email))
	return u, pgWrap("user by email", err)
}

// ListUsers returns every user, oldest first (then by email).
func (s *Postgres) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+pgUserCols+` FROM users ORDER BY created_at, ascii_lower(email) COLLATE "C", email COLLATE "C"`)
	if err != nil {
		return nil, pgWrap("list users", err)
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		u, err := pgScanUser(rows)
		if err != nil {
			return nil, pgWrap("list users", err)
		}
		users = append(users, u)
	}
	return users, pgWrap("list users", rows.Err())
}

// CountUsers returns the number of users.
func (s *Postgres) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, pgWrap("count users", err)
}

// CreateTeam inserts a team; ErrConflict when the slug is taken.
func (s *Postgres) CreateTeam(ctx context.Context, t Team) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO teams (slug, name) VALUES ($1, $2)`, t.Slug, t.Name)
	return pgWrap("create team", err)
}

// ListTeams returns every team by slug.
func (s *Postgres) ListTeams(ctx context.Context) ([]Team, error) {
	rows, err := s.pool.Query(ctx, `SELECT slug, name FROM teams ORDER BY slug COLLATE "C"`)
	if err != nil {
		return nil, pgWrap("list teams", err)
	}
	defer rows.Close()
	teams := []Team{}
	for rows.Next() {
		var t Team
		if err := rows.Scan(&t.Slug, &t.Name); err != nil {
			return nil, pgWrap("list teams", err)
		}
		teams = append(teams, t)
	}
	return teams, pgWrap("list teams", rows.Err())
}

// --- API keys ---

// CreateAPIKey stores k with the hash of the key.
func (s *Postgres) CreateAPIKey(ctx context.Context, k APIKey, hash string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (id, hash, user_id, env, label, prefix, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		k.ID, hash, k.UserID, k.Env, k.Label, k.Prefix, ms(k.CreatedAt))
	return pgWrap("create api key", err)
}

func pgScanKey(sc pgx.Row) (APIKey, error) {
	var k APIKey
	var created int64
	var revoked *int64
	if err := sc.Scan(&k.ID, &k.UserID, &k.Env, &k.Label, &k.Prefix, &created, &revoked); err != nil {
		return APIKey{}, err
	}
	k.CreatedAt = fromMS(created)
	k.RevokedAt = ptrMSPg(revoked)
	return k, nil
}

// APIKeyByHash returns the key (revoked or not) with that hash.
func (s *Postgres) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	k, err := pgScanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = $1`, hash))
	return k, pgWrap("api key", err)
}

// APIKeyByID returns the key with that id.
func (s *Postgres) APIKeyByID(ctx context.Context, id string) (APIKey, error) {
	k, err := pgScanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = $1`, id))
	return k, pgWrap("api key", err)
}

// ListAPIKeys returns every key, newest first.
func (s *Postgres) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM api_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, pgWrap("list api keys", err)
	}
	defer rows.Close()
	keys := []APIKey{}
	for rows.Next() {
		k, err := pgScanKey(rows)
		if err != nil {
			return nil, pgWrap("list api keys", err)
		}
		keys = append(keys, k)
	}
	return keys, pgWrap("list api keys", rows.Err())
}

// RevokeAPIKey marks a key revoked; ErrNotFound when it does not exist or
// was revoked already.
func (s *Postgres) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ms(at), id)
	return pgAffected("revoke api key", tag, err)
}

// --- sessions and login tokens ---

// CreateSession stores a session by the hash of its token.
func (s *Postgres) CreateSession(ctx context.Context, hash, userID string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (hash, user_id, expires_at) VALUES ($1,$2,$3)`, hash, userID, ms(expires))
	return pgWrap("create session", err)
}

// SessionUserID returns the user of an unexpired session.
func (s *Postgres) SessionUserID(ctx context.Context, hash string, now time.Time) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT user_id FROM sessions WHERE hash = $1 AND expires_at > $2`, hash, ms(now)).Scan(&id)
	return id, pgWrap("session", err)
}

// DeleteSession deletes a session.
func (s *Postgres) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return pgWrap("delete session", err)
}

// DeleteExpired deletes sessions and login tokens expired at now.
func (s *Postgres) DeleteExpired(ctx context.Context, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ms(now)); err != nil {
		return pgWrap("delete expired sessions", err)
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM login_tokens WHERE expires_at <= $1`, ms(now))
	return pgWrap("delete expired login tokens", err)
}

// CreateLoginToken stores a one-time login token by hash.
func (s *Postgres) CreateLoginToken(ctx context.Context, hash, userID string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO login_tokens (hash, user_id, expires_at) VALUES ($1,$2,$3)`, hash, userID, ms(expires))
	return pgWrap("create login token", err)
}

// ConsumeLoginToken deletes the token and returns its user if it was
// valid; of concurrent calls with one token, one at most succeeds.
func (s *Postgres) ConsumeLoginToken(ctx context.Context, hash string, now time.Time) (string, error) {
	var id string
	var exp int64
	err := s.pool.QueryRow(ctx, `DELETE FROM login_tokens WHERE hash = $1 RETURNING user_id, expires_at`, hash).Scan(&id, &exp)
	if err != nil {
		return "", pgWrap("login token", err)
	}
	if exp <= ms(now) {
		return "", fmt.Errorf("store: login token expired: %w", ErrNotFound)
	}
	return id, nil
}

// --- transactions ---

// CreateTransaction inserts t; ErrConflict when its id is taken.
func (s *Postgres) CreateTransaction(ctx context.Context, t Transaction) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO transactions (id, slug, action_name, env, user_id, user_email, user_name, developer_id,
		status, result_status, params, params_meta, result, host_instance_id, created_at, updated_at, completed_at, via_http_host)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`,
		t.ID, t.Slug, t.ActionName, t.Env, t.UserID, t.UserEmail, t.UserName, t.DeveloperID,
		t.Status, t.ResultStatus, bytesOr(t.Params, "{}"), bytesOr(t.ParamsMeta, ""), []byte(t.Result), t.HostInstanceID,
		ms(t.CreatedAt), ms(t.UpdatedAt), nullMS(t.CompletedAt), t.ViaHTTPHost)
	return pgWrap("create transaction", err)
}

// UpdateTransaction writes t's mutable fields.
func (s *Postgres) UpdateTransaction(ctx context.Context, t Transaction) error {
	tag, err := s.pool.Exec(ctx, `UPDATE transactions SET status=$1, result_status=$2, result=$3, host_instance_id=$4, via_http_host=$5, updated_at=$6, completed_at=$7 WHERE id=$8`,
		t.Status, t.ResultStatus, []byte(t.Result), t.HostInstanceID, t.ViaHTTPHost, ms(t.UpdatedAt), nullMS(t.CompletedAt), t.ID)
	return pgAffected("update transaction", tag, err)
}

func pgScanTx(sc pgx.Row) (Transaction, error) {
	var t Transaction
	var params, meta, result []byte
	var created, updated int64
	var completed *int64
	if err := sc.Scan(&t.ID, &t.Slug, &t.ActionName, &t.Env, &t.UserID, &t.UserEmail, &t.UserName, &t.DeveloperID,
		&t.Status, &t.ResultStatus, &params, &meta, &result, &t.HostInstanceID, &created, &updated, &completed, &t.ViaHTTPHost); err != nil {
		return Transaction{}, err
	}
	t.Params = json.RawMessage(params)
	if len(meta) > 0 {
		t.ParamsMeta = json.RawMessage(meta)
	}
	t.Result = string(result)
	t.CreatedAt, t.UpdatedAt, t.CompletedAt = fromMS(created), fromMS(updated), ptrMSPg(completed)
	return t, nil
}

// Transaction returns the transaction with that id.
func (s *Postgres) Transaction(ctx context.Context, id string) (Transaction, error) {
	t, err := pgScanTx(s.pool.QueryRow(ctx, `SELECT `+txCols+` FROM transactions WHERE id = $1`, id))
	return t, pgWrap("transaction", err)
}

func (s *Postgres) queryTxs(ctx context.Context, op, q string, args ...any) ([]Transaction, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, pgWrap(op, err)
	}
	defer rows.Close()
	out := []Transaction{}
	for rows.Next() {
		t, err := pgScanTx(rows)
		if err != nil {
			return nil, pgWrap(op, err)
		}
		out = append(out, t)
	}
	return out, pgWrap(op, rows.Err())
}

// ListTransactions returns matching transactions, newest first (by
// creation order); Before pages past a transaction, Limit defaults to 50
// and is at most 500.
func (s *Postgres) ListTransactions(ctx context.Context, f TransactionFilter) ([]Transaction, error) {
	q := `SELECT ` + txCols + ` FROM transactions WHERE true`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Slug != "" {
		q += ` AND slug = ` + arg(f.Slug)
	}
	if f.Status != "" {
		q += ` AND status = ` + arg(f.Status)
	}
	if f.UserEmail != "" {
		q += ` AND ascii_lower(user_email) = ascii_lower(` + arg(f.UserEmail) + `)`
	}
	if f.Env != "" {
		q += ` AND env = ` + arg(f.Env)
	}
	if f.Before != "" {
		q += ` AND seq < coalesce((SELECT seq FROM transactions WHERE id = ` + arg(f.Before) + `), -1)`
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q += ` ORDER BY seq DESC LIMIT ` + arg(f.Limit)
	return s.queryTxs(ctx, "list transactions", q, args...)
}

// UnfinishedTransactions returns transactions that are neither completed
// nor canceled, oldest first.
func (s *Postgres) UnfinishedTransactions(ctx context.Context) ([]Transaction, error) {
	return s.queryTxs(ctx, "unfinished transactions", `SELECT `+txCols+` FROM transactions WHERE status NOT IN ($1, $2) ORDER BY seq`,
		StatusCompleted, StatusCanceled)
}

// AppendLog stores a log line (a repeated index replaces the line).
func (s *Postgres) AppendLog(ctx context.Context, txID string, l Log) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO transaction_logs (transaction_id, idx, ts, data) VALUES ($1,$2,$3,$4)
		ON CONFLICT (transaction_id, idx) DO UPDATE SET ts = excluded.ts, data = excluded.data`,
		txID, l.Index, l.Timestamp, []byte(l.Data))
	return pgWrap("append log", err)
}

// Logs returns a transaction's logs by index.
func (s *Postgres) Logs(ctx context.Context, txID string) ([]Log, error) {
	rows, err := s.pool.Query(ctx, `SELECT idx, ts, data FROM transaction_logs WHERE transaction_id = $1 ORDER BY idx`, txID)
	if err != nil {
		return nil, pgWrap("logs", err)
	}
	defer rows.Close()
	logs := []Log{}
	for rows.Next() {
		var l Log
		var data []byte
		if err := rows.Scan(&l.Index, &l.Timestamp, &data); err != nil {
			return nil, pgWrap("logs", err)
		}
		l.Data = string(data)
		logs = append(logs, l)
	}
	return logs, pgWrap("logs", rows.Err())
}

// --- queued actions ---

// Enqueue stores a queued action; ErrConflict when its id is taken.
func (s *Postgres) Enqueue(ctx context.Context, q QueuedAction) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO queued_actions (id, slug, env, developer_id, assignee, params, params_meta, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		q.ID, q.Slug, q.Env, q.DeveloperID, q.Assignee, bytesOr(q.Params, ""), bytesOr(q.ParamsMeta, ""), ms(q.CreatedAt))
	return pgWrap("enqueue", err)
}

func pgScanQueued(sc pgx.Row) (QueuedAction, error) {
	var q QueuedAction
	var params, meta []byte
	var created int64
	var deq *int64
	if err := sc.Scan(&q.ID, &q.Slug, &q.Env, &q.DeveloperID, &q.Assignee, &params, &meta, &created, &deq); err != nil {
		return QueuedAction{}, err
	}
	if len(params) > 0 {
		q.Params = json.RawMessage(params)
	}
	if len(meta) > 0 {
		q.ParamsMeta = json.RawMessage(meta)
	}
	q.CreatedAt, q.DequeuedAt = fromMS(created), ptrMSPg(deq)
	return q, nil
}

// Dequeue marks a queued action dequeued and returns it; of concurrent
// calls for one action (from any replica), exactly one succeeds.
func (s *Postgres) Dequeue(ctx context.Context, id string, at time.Time) (QueuedAction, error) {
	q, err := pgScanQueued(s.pool.QueryRow(ctx, `UPDATE queued_actions SET dequeued_at = $1 WHERE id = $2 AND dequeued_at IS NULL RETURNING `+queueCols, ms(at), id))
	return q, pgWrap("dequeue", err)
}

// Queued returns the action still queued with that id.
func (s *Postgres) Queued(ctx context.Context, id string) (QueuedAction, error) {
	q, err := pgScanQueued(s.pool.QueryRow(ctx, `SELECT `+queueCols+` FROM queued_actions WHERE id = $1 AND dequeued_at IS NULL`, id))
	return q, pgWrap("queued", err)
}

// ListQueued returns the actions still queued in env, oldest first.
func (s *Postgres) ListQueued(ctx context.Context, env string) ([]QueuedAction, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+queueCols+` FROM queued_actions WHERE env = $1 AND dequeued_at IS NULL ORDER BY created_at, seq`, env)
	if err != nil {
		return nil, pgWrap("list queued", err)
	}
	defer rows.Close()
	out := []QueuedAction{}
	for rows.Next() {
		q, err := pgScanQueued(rows)
		if err != nil {
			return nil, pgWrap("list queued", err)
		}
		out = append(out, q)
	}
	return out, pgWrap("list queued", rows.Err())
}

// Setting returns the value stored under key; ErrNotFound when none.
func (s *Postgres) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	return v, pgWrap("setting", err)
}

// SetSetting stores value under key.
func (s *Postgres) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return pgWrap("set setting", err)
}
