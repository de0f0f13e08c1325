package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqlStore is the Store methods both databases share, on database/sql.
// SQLite and Postgres embed it; d holds what differs between their SQL.
// Queries are written with ? placeholders and rebound for the database.
type sqlStore struct {
	db *sql.DB
	d  dialect
	// secrets (a PostgreSQL URL's password and the like) are kept out of
	// errors.
	secrets []string
	// prep holds the prepared statements of the hot paths (batch.go).
	prep stmts
	// sessions keeps SessionUser's answers (SQLite only; nil otherwise).
	sessions *sessionCache
}

// dialect is what the SQL of the two databases does differently.
type dialect struct {
	// numbered: placeholders are $1, $2, … (PostgreSQL), not ?.
	numbered bool
	// lower is the function folding ASCII letters (and only them) to lower
	// case: SQLite's lower() without ICU, or PostgreSQL's ascii_lower
	// from the migrations, whatever the database's locale.
	lower string
	// bytewise follows a text expression in ORDER BY to sort it by bytes
	// (SQLite's BINARY collation, the default there).
	bytewise string
	// queueSeq is the column that orders queued actions of one creation
	// time by insertion.
	queueSeq string
	// forUpdate ends a SELECT whose row the transaction then updates
	// (SQLite's write transactions lock the whole database already).
	forUpdate string
	// blob is the value of a free-form payload (params, results, log
	// lines): TEXT in SQLite, bytea in PostgreSQL so that any bytes
	// round-trip.
	blob func(string) any
	// blobText is the text of a payload column (a fmt format of its name),
	// for LIKE: bytes with no valid text escaped, never an error.
	blobText string
	// uninterruptible: a batch of writes runs to its end whatever its
	// context (WriteBatch). SQLite's single-row writes cannot hang where
	// an interrupt reaches them (a stalled fsync is a syscall; a lock
	// held by another process is bounded by busy_timeout), and its driver
	// and database/sql start a goroutine per statement and per transaction
	// to watch a context that can end.
	uninterruptible bool
	// blobTerm, when set, writes a search term as blobText shows the same
	// bytes.
	blobTerm func(string) string
	// noNUL, set for PostgreSQL, whose text type cannot hold a NUL byte
	// (the write fails with "invalid byte sequence"): string arguments
	// have theirs replaced by U+FFFD. JSON from hosts and browsers can
	// carry one ("\u0000" in an action's name or a notification), which
	// must not make a run or a notification impossible. Blobs, which are
	// []byte there, keep every byte.
	noNUL bool
	// owners, set for PostgreSQL: transactions have an owner (the replica
	// holding one, Cluster), written at their creation (Write.Owner).
	owners bool
}

// args returns the arguments of a statement as the dialect stores them.
func (d dialect) args(args []any) []any {
	if !d.noNUL {
		return args
	}
	var out []any
	for i, a := range args {
		if v, ok := a.(string); ok && strings.IndexByte(v, 0) >= 0 {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = strings.ReplaceAll(v, "\x00", "\uFFFD")
		}
	}
	if out == nil {
		return args
	}
	return out
}

var sqliteDialect = dialect{
	lower:           "lower",
	queueSeq:        "rowid",
	uninterruptible: true,
	blob:            func(s string) any { return s },
	blobText:        "CAST(%s AS TEXT)",
}

// rebind turns the ? placeholders of q (outside quoted strings and
// identifiers) into $1, $2, … when the dialect numbers them.
func (d dialect) rebind(q string) string {
	if !d.numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// exec, query and queryRow run q as a prepared statement (cached, so the
// database parses it once), or directly when it cannot be prepared.
func (s *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := s.cached(ctx, q); st != nil {
		return st.ExecContext(ctx, s.d.args(args)...)
	}
	return s.db.ExecContext(ctx, s.d.rebind(q), s.d.args(args)...)
}

func (s *sqlStore) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := s.cached(ctx, q); st != nil {
		return st.QueryContext(ctx, s.d.args(args)...)
	}
	return s.db.QueryContext(ctx, s.d.rebind(q), s.d.args(args)...)
}

func (s *sqlStore) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.cached(ctx, q); st != nil {
		return st.QueryRowContext(ctx, s.d.args(args)...)
	}
	return s.db.QueryRowContext(ctx, s.d.rebind(q), s.d.args(args)...)
}

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

// wrap names the operation in err and maps what the drivers report to the
// store's errors: no row is ErrNotFound, a unique (or primary) key
// violation ErrConflict.
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
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return fmt.Errorf("store: %s: %w", op, ErrConflict)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// wrap is the package's wrap, keeping the store's secrets out of the
// message.
func (s *sqlStore) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if len(s.secrets) > 0 {
		err = redactErr(err, s.secrets)
	}
	return wrap(op, err)
}

// affected is s.wrap(op, err), or ErrNotFound when r changed no row.
func (s *sqlStore) affected(op string, r sql.Result, err error) error {
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return nil
}

// --- users and teams ---

func (s *sqlStore) setTeams(ctx context.Context, tx *sql.Tx, userID string, teams []string) error {
	if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM user_teams WHERE user_id = ?`), userID); err != nil {
		return err
	}
	for _, t := range teams {
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO teams (slug, name) VALUES (?, ?) ON CONFLICT DO NOTHING`), s.d.args([]any{t, t})...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO user_teams (user_id, team_slug) VALUES (?, ?) ON CONFLICT DO NOTHING`), s.d.args([]any{userID, t})...); err != nil {
			return err
		}
	}
	return nil
}

// CreateUser inserts u with its teams (teams that do not exist are created).
func (s *sqlStore) CreateUser(ctx context.Context, u User) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("create user", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO users (id, email, first_name, last_name, role, password_hash, created_at) VALUES (?,?,?,?,?,?,?)`),
		s.d.args([]any{u.ID, u.Email, u.FirstName, u.LastName, u.Role, u.PasswordHash, ms(u.CreatedAt)})...); err != nil {
		return s.wrap("create user", err)
	}
	if err := s.setTeams(ctx, tx, u.ID, u.Teams); err != nil {
		return s.wrap("create user", err)
	}
	return s.wrap("create user", tx.Commit())
}

// UpdateUser writes every field of u (by id) and replaces its teams.
func (s *sqlStore) UpdateUser(ctx context.Context, u User) error {
	defer s.sessions.invalidate()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("update user", err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE users SET email=?, first_name=?, last_name=?, role=?, password_hash=? WHERE id=?`),
		s.d.args([]any{u.Email, u.FirstName, u.LastName, u.Role, u.PasswordHash, u.ID})...)
	if err := s.affected("update user", r, err); err != nil {
		return err
	}
	if err := s.setTeams(ctx, tx, u.ID, u.Teams); err != nil {
		return s.wrap("update user", err)
	}
	return s.wrap("update user", tx.Commit())
}

// SetPassword sets a user's password hash and deletes their other sessions
// and their login tokens, in one transaction.
func (s *sqlStore) SetPassword(ctx context.Context, userID, hash, keepSession string) error {
	defer s.sessions.invalidate()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("set password", err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE users SET password_hash=? WHERE id=?`), s.d.args([]any{hash, userID})...)
	if err := s.affected("set password", r, err); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM sessions WHERE user_id = ? AND hash <> ?`), s.d.args([]any{userID, keepSession})...); err != nil {
		return s.wrap("set password: ending sessions", err)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM login_tokens WHERE user_id = ?`), s.d.args([]any{userID})...); err != nil {
		return s.wrap("set password: deleting login tokens", err)
	}
	return s.wrap("set password", tx.Commit())
}

// DeleteUser deletes a user with its sessions, keys and team memberships.
func (s *sqlStore) DeleteUser(ctx context.Context, id string) error {
	defer s.sessions.invalidate()
	r, err := s.exec(ctx, `DELETE FROM users WHERE id = ?`, id)
	return s.affected("delete user", r, err)
}

const userCols = `id, email, first_name, last_name, role, password_hash, created_at`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	if err := sc.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash, &created); err != nil {
		return User{}, err
	}
	u.CreatedAt = fromMS(created)
	return u, nil
}

// user returns the one user q selects, with its teams.
func (s *sqlStore) user(ctx context.Context, q string, arg any) (User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE `+q, arg))
	if err != nil {
		return User{}, err
	}
	teams, err := s.teamsOf(ctx, u.ID)
	if err != nil {
		return User{}, err
	}
	u.Teams = teams[u.ID]
	if u.Teams == nil {
		u.Teams = []string{}
	}
	return u, nil
}

// teamsOf returns the team slugs of the user with that id, or of every user
// when id is empty, by user id; each user's slugs are sorted bytewise.
func (s *sqlStore) teamsOf(ctx context.Context, id string) (map[string][]string, error) {
	q, args := `SELECT user_id, team_slug FROM user_teams`, []any{}
	if id != "" {
		q += ` WHERE user_id = ?`
		args = append(args, id)
	}
	rows, err := s.query(ctx, q+` ORDER BY team_slug`+s.d.bytewise, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	teams := map[string][]string{}
	for rows.Next() {
		var u, t string
		if err := rows.Scan(&u, &t); err != nil {
			return nil, err
		}
		teams[u] = append(teams[u], t)
	}
	return teams, rows.Err()
}

// UserByID returns the user with that id.
func (s *sqlStore) UserByID(ctx context.Context, id string) (User, error) {
	u, err := s.user(ctx, `id = ?`, id)
	return u, s.wrap("user by id", err)
}

// UserByEmail returns the user with that email (case-insensitive for ASCII
// letters).
func (s *sqlStore) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := s.user(ctx, s.d.lower+`(email) = `+s.d.lower+`(?)`, email)
	return u, s.wrap("user by email", err)
}

// ListUsers returns every user, oldest first (then by email, ignoring the
// case of ASCII letters).
func (s *sqlStore) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users ORDER BY created_at, `+
		s.d.lower+`(email)`+s.d.bytewise+`, email`+s.d.bytewise)
	if err != nil {
		return nil, s.wrap("list users", err)
	}
	var users []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrap("list users", err)
		}
		users = append(users, u)
	}
	err = rows.Err()
	rows.Close() // before the next query: SQLite has one connection
	if err != nil {
		return nil, s.wrap("list users", err)
	}
	teams, err := s.teamsOf(ctx, "")
	if err != nil {
		return nil, s.wrap("list users", err)
	}
	for i := range users {
		if users[i].Teams = teams[users[i].ID]; users[i].Teams == nil {
			users[i].Teams = []string{}
		}
	}
	return users, nil
}

// CountUsers returns the number of users.
func (s *sqlStore) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, s.wrap("count users", err)
}

// CreateTeam inserts a team; ErrConflict when the slug is taken.
func (s *sqlStore) CreateTeam(ctx context.Context, t Team) error {
	_, err := s.exec(ctx, `INSERT INTO teams (slug, name) VALUES (?, ?)`, t.Slug, t.Name)
	return s.wrap("create team", err)
}

// ListTeams returns every team by slug.
func (s *sqlStore) ListTeams(ctx context.Context) ([]Team, error) {
	rows, err := s.query(ctx, `SELECT slug, name FROM teams ORDER BY slug`+s.d.bytewise)
	if err != nil {
		return nil, s.wrap("list teams", err)
	}
	defer rows.Close()
	teams := []Team{}
	for rows.Next() {
		var t Team
		if err := rows.Scan(&t.Slug, &t.Name); err != nil {
			return nil, s.wrap("list teams", err)
		}
		teams = append(teams, t)
	}
	return teams, s.wrap("list teams", rows.Err())
}

// --- API keys ---

// CreateAPIKey stores k with the hash of the key.
func (s *sqlStore) CreateAPIKey(ctx context.Context, k APIKey, hash string) error {
	_, err := s.exec(ctx, `INSERT INTO api_keys (id, hash, user_id, env, label, prefix, created_at) VALUES (?,?,?,?,?,?,?)`,
		k.ID, hash, k.UserID, k.Env, k.Label, k.Prefix, ms(k.CreatedAt))
	return s.wrap("create api key", err)
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
func (s *sqlStore) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	k, err := scanKey(s.queryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = ?`, hash))
	return k, s.wrap("api key", err)
}

// APIKeyByID returns the key with that id.
func (s *sqlStore) APIKeyByID(ctx context.Context, id string) (APIKey, error) {
	k, err := scanKey(s.queryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = ?`, id))
	return k, s.wrap("api key", err)
}

// ListAPIKeys returns every key, newest first.
func (s *sqlStore) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.query(ctx, `SELECT `+keyCols+` FROM api_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, s.wrap("list api keys", err)
	}
	defer rows.Close()
	keys := []APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, s.wrap("list api keys", err)
		}
		keys = append(keys, k)
	}
	return keys, s.wrap("list api keys", rows.Err())
}

// RevokeAPIKey marks a key revoked; ErrNotFound when it does not exist or
// was revoked already.
func (s *sqlStore) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	r, err := s.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(at), id)
	return s.affected("revoke api key", r, err)
}

// --- sessions and login tokens ---

// CreateSession stores a session by the hash of its token.
func (s *sqlStore) CreateSession(ctx context.Context, hash, userID string, expires time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (hash, user_id, expires_at) VALUES (?,?,?)`, hash, userID, ms(expires))
	return s.wrap("create session", err)
}

// SessionUserID returns the user of an unexpired session.
func (s *sqlStore) SessionUserID(ctx context.Context, hash string, now time.Time) (string, error) {
	var id string
	err := s.queryRow(ctx, `SELECT user_id FROM sessions WHERE hash = ? AND expires_at > ?`, hash, ms(now)).Scan(&id)
	return id, s.wrap("session", err)
}

// qSessionUser selects the user of an unexpired session with each of its
// teams, one row per team (one row with a NULL team when it has none):
// one query where the session, the user and the teams were three.
const qSessionUser = `SELECT u.id, u.email, u.first_name, u.last_name, u.role, u.password_hash, u.created_at, t.team_slug, s.expires_at
	FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN user_teams t ON t.user_id = u.id
	WHERE s.hash = ? AND s.expires_at > ?`

// SessionUser returns the user, with its teams, of a session unexpired at
// now, as it is in the store at the call (one query, or none when a SQLite
// store kept the answer: sessionCache).
func (s *sqlStore) SessionUser(ctx context.Context, hash string, now time.Time) (User, error) {
	c := s.sessions
	if c == nil {
		u, _, err := s.sessionUser(ctx, hash, now)
		return u, err
	}
	if u, ok := c.get(hash, now); ok {
		return u, nil
	}
	gen := c.generation()
	u, expires, err := s.sessionUser(ctx, hash, now)
	if err == nil {
		c.put(hash, gen, u, expires)
	}
	return u, err
}

// sessionUser is SessionUser's query; it returns the session's expiry too.
func (s *sqlStore) sessionUser(ctx context.Context, hash string, now time.Time) (User, time.Time, error) {
	rows, err := s.query(ctx, qSessionUser, hash, ms(now))
	if err != nil {
		return User{}, time.Time{}, s.wrap("session user", err)
	}
	defer rows.Close()
	var u User
	var expires int64
	found := false
	for rows.Next() {
		var created int64
		var team sql.NullString
		if err := rows.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash, &created, &team, &expires); err != nil {
			return User{}, time.Time{}, s.wrap("session user", err)
		}
		u.CreatedAt = fromMS(created)
		if team.Valid {
			u.Teams = append(u.Teams, team.String)
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return User{}, time.Time{}, s.wrap("session user", err)
	}
	if !found {
		return User{}, time.Time{}, s.wrap("session user", sql.ErrNoRows)
	}
	if u.Teams == nil {
		u.Teams = []string{}
	}
	slices.Sort(u.Teams) // bytewise, as teamsOf orders them
	return u, fromMS(expires), nil
}

// DeleteSession deletes a session.
func (s *sqlStore) DeleteSession(ctx context.Context, hash string) error {
	defer s.sessions.invalidate()
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return s.wrap("delete session", err)
}

// DeleteExpired deletes sessions and login tokens expired at now.
func (s *sqlStore) DeleteExpired(ctx context.Context, now time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(now)); err != nil {
		return s.wrap("delete expired sessions", err)
	}
	_, err := s.exec(ctx, `DELETE FROM login_tokens WHERE expires_at <= ?`, ms(now))
	return s.wrap("delete expired login tokens", err)
}

// CreateLoginToken stores a one-time login token by hash.
func (s *sqlStore) CreateLoginToken(ctx context.Context, hash, userID string, expires time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO login_tokens (hash, user_id, expires_at) VALUES (?,?,?)`, hash, userID, ms(expires))
	return s.wrap("create login token", err)
}

// ConsumeLoginToken deletes the token and returns its user if it was
// valid; of concurrent calls with one token (from any process), one at
// most succeeds: the DELETE that removes the row is the one that sees it.
func (s *sqlStore) ConsumeLoginToken(ctx context.Context, hash string, now time.Time) (string, error) {
	var id string
	var exp int64
	err := s.queryRow(ctx, `DELETE FROM login_tokens WHERE hash = ? RETURNING user_id, expires_at`, hash).Scan(&id, &exp)
	if err != nil {
		return "", s.wrap("login token", err)
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

// CreateTransaction inserts t; ErrConflict when its id is taken.
func (s *sqlStore) CreateTransaction(ctx context.Context, t Transaction) error {
	_, err := s.createTx(ctx, nil, qCreateTx, t, "")
	return s.wrap("create transaction", err)
}

// UpdateTransaction writes t's mutable fields.
func (s *sqlStore) UpdateTransaction(ctx context.Context, t Transaction) error {
	r, err := s.updateTx(ctx, nil, t, "")
	return s.txUpdated(ctx, nil, t.ID, "", r, err)
}

const txCols = `id, slug, action_name, env, user_id, user_email, user_name, developer_id, status, result_status,
	params, params_meta, result, host_instance_id, created_at, updated_at, completed_at, via_http_host, host_key_id, pending_answer`

func scanTx(sc interface{ Scan(...any) error }) (Transaction, error) {
	var t Transaction
	var params, meta string
	var created, updated int64
	var completed sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Slug, &t.ActionName, &t.Env, &t.UserID, &t.UserEmail, &t.UserName, &t.DeveloperID,
		&t.Status, &t.ResultStatus, &params, &meta, &t.Result, &t.HostInstanceID, &created, &updated, &completed, &t.ViaHTTPHost, &t.HostKeyID, &t.PendingAnswer); err != nil {
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
func (s *sqlStore) Transaction(ctx context.Context, id string) (Transaction, error) {
	st, err := s.stmt(ctx, qTx)
	if err != nil {
		return Transaction{}, s.wrap("transaction", err)
	}
	t, err := scanTx(st.QueryRowContext(ctx, s.d.args([]any{id})...))
	return t, s.wrap("transaction", err)
}

func (s *sqlStore) queryTxs(ctx context.Context, op, q string, args ...any) ([]Transaction, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []Transaction{}
	for rows.Next() {
		t, err := scanTx(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, t)
	}
	return out, s.wrap(op, rows.Err())
}

// ListTransactions returns matching transactions, newest first (by
// creation order); Before pages past a transaction, Limit defaults to 50
// and is at most 500.
func (s *sqlStore) ListTransactions(ctx context.Context, f TransactionFilter) ([]Transaction, error) {
	where, args := s.txWhere(f)
	if f.Before != "" {
		where += ` AND seq < coalesce((SELECT seq FROM transactions WHERE id = ?), -1)`
		args = append(args, f.Before)
	}
	if f.Limit <= 0 || f.Limit > MaxListTransactions {
		f.Limit = 50
	}
	q := `SELECT ` + txCols + ` FROM transactions WHERE ` + where + ` ORDER BY seq DESC LIMIT ?`
	args = append(args, f.Limit)
	if f.Offset > 0 {
		q += ` OFFSET ?`
		args = append(args, f.Offset)
	}
	return s.queryTxs(ctx, "list transactions", q, args...)
}

// MaxListTransactions is the most transactions one ListTransactions returns.
const MaxListTransactions = 500

// CountTransactions counts the transactions f selects.
func (s *sqlStore) CountTransactions(ctx context.Context, f TransactionFilter) (int, error) {
	where, args := s.txWhere(f)
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM transactions WHERE `+where, args...).Scan(&n)
	return n, s.wrap("count transactions", err)
}

// asciiLower folds ASCII letters, and only them, to lower case.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// likeEscaper escapes LIKE's wildcards (with \ as the ESCAPE character).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// txWhere is the WHERE clause (and its arguments) of f's selection.
func (s *sqlStore) txWhere(f TransactionFilter) (string, []any) {
	q := `1=1`
	var args []any
	if f.Slug != "" {
		q += ` AND slug = ?`
		args = append(args, f.Slug)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	switch f.ResultStatus {
	case "":
	case "SUCCESS":
		q += ` AND status = ? AND (result_status = ? OR result_status = '' OR result_status IS NULL)`
		args = append(args, StatusCompleted, f.ResultStatus)
	default:
		q += ` AND status = ? AND result_status = ?`
		args = append(args, StatusCompleted, f.ResultStatus)
	}
	if f.UserEmail != "" {
		q += ` AND ` + s.d.lower + `(user_email) = ` + s.d.lower + `(?)`
		args = append(args, f.UserEmail)
	}
	if f.Env != "" {
		q += ` AND env = ?`
		args = append(args, f.Env)
	}
	if f.VisibleTo != "" {
		q += ` AND (env <> ? OR user_id = ?)`
		args = append(args, EnvDevelopment, f.VisibleTo)
	}
	if f.From > 0 {
		q += ` AND created_at >= ?`
		args = append(args, f.From)
	}
	if f.To > 0 {
		q += ` AND created_at < ?`
		args = append(args, f.To)
	}
	if term := asciiLower(strings.TrimSpace(f.Search)); term != "" {
		// The columns are folded to lower case in ASCII only (s.d.lower),
		// so is the term.
		like := "%" + likeEscaper.Replace(term) + "%"
		blobLike := like
		if s.d.blobTerm != nil {
			blobLike = "%" + likeEscaper.Replace(s.d.blobTerm(term)) + "%"
		}
		l := s.d.lower
		q += ` AND (` + l + `(action_name) LIKE ? ESCAPE '\' OR ` + l + `(slug) LIKE ? ESCAPE '\' OR ` + l + `(user_email) LIKE ? ESCAPE '\' OR ` +
			l + `(user_name) LIKE ? ESCAPE '\' OR ` + l + `(` + fmt.Sprintf(s.d.blobText, "params") + `) LIKE ? ESCAPE '\')`
		args = append(args, like, like, like, like, blobLike)
	}
	return q, args
}

// UnfinishedTransactions returns transactions that are neither completed
// nor canceled, oldest first.
func (s *sqlStore) UnfinishedTransactions(ctx context.Context) ([]Transaction, error) {
	return s.queryTxs(ctx, "unfinished transactions", `SELECT `+txCols+` FROM transactions WHERE status NOT IN (?, ?) ORDER BY seq`,
		StatusCompleted, StatusCanceled)
}

// AppendLog stores a log line (a repeated index replaces the line).
func (s *sqlStore) AppendLog(ctx context.Context, txID string, l Log) error {
	return s.wrap("append log", s.appendLog(ctx, nil, txID, l))
}

// Logs returns a transaction's logs by index.
func (s *sqlStore) Logs(ctx context.Context, txID string) ([]Log, error) {
	rows, err := s.query(ctx, `SELECT idx, ts, data FROM transaction_logs WHERE transaction_id = ? ORDER BY idx`, txID)
	if err != nil {
		return nil, s.wrap("logs", err)
	}
	defer rows.Close()
	logs := []Log{}
	for rows.Next() {
		var l Log
		if err := rows.Scan(&l.Index, &l.Timestamp, &l.Data); err != nil {
			return nil, s.wrap("logs", err)
		}
		logs = append(logs, l)
	}
	return logs, s.wrap("logs", rows.Err())
}

// --- queued actions ---

// Enqueue stores a queued action; ErrConflict when its id is taken.
func (s *sqlStore) Enqueue(ctx context.Context, q QueuedAction) error {
	_, err := s.exec(ctx, `INSERT INTO queued_actions (id, slug, env, developer_id, assignee, params, params_meta, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		q.ID, q.Slug, q.Env, q.DeveloperID, q.Assignee, s.d.blob(rawOr(q.Params, "")), s.d.blob(rawOr(q.ParamsMeta, "")), ms(q.CreatedAt))
	return s.wrap("enqueue", err)
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

// Dequeue marks a queued action dequeued and returns it; of concurrent
// calls for one action (from any process), exactly one succeeds: the
// UPDATE rechecks dequeued_at IS NULL on the row it locked.
func (s *sqlStore) Dequeue(ctx context.Context, id string, at time.Time) (QueuedAction, error) {
	q, err := scanQueued(s.queryRow(ctx, `UPDATE queued_actions SET dequeued_at = ? WHERE id = ? AND dequeued_at IS NULL RETURNING `+queueCols, ms(at), id))
	return q, s.wrap("dequeue", err)
}

// Queued returns the action still queued with that id.
func (s *sqlStore) Queued(ctx context.Context, id string) (QueuedAction, error) {
	q, err := scanQueued(s.queryRow(ctx, `SELECT `+queueCols+` FROM queued_actions WHERE id = ? AND dequeued_at IS NULL`, id))
	return q, s.wrap("queued", err)
}

// ListQueued returns the actions still queued in env, oldest first (in
// the order they were enqueued).
func (s *sqlStore) ListQueued(ctx context.Context, env string) ([]QueuedAction, error) {
	rows, err := s.query(ctx, `SELECT `+queueCols+` FROM queued_actions WHERE env = ? AND dequeued_at IS NULL ORDER BY created_at, `+s.d.queueSeq, env)
	if err != nil {
		return nil, s.wrap("list queued", err)
	}
	defer rows.Close()
	out := []QueuedAction{}
	for rows.Next() {
		q, err := scanQueued(rows)
		if err != nil {
			return nil, s.wrap("list queued", err)
		}
		out = append(out, q)
	}
	return out, s.wrap("list queued", rows.Err())
}

// Setting returns the value stored under key; ErrNotFound when none.
func (s *sqlStore) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, s.wrap("setting", err)
}

// SetSetting stores value under key.
func (s *sqlStore) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return s.wrap("set setting", err)
}
