package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
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
//
// Its methods are those of sqlStore, on a database/sql handle over the pool
// (pgx's stdlib); the pool itself serves what is PostgreSQL's own: the
// migrations under their advisory lock and the claim (claim.go).
type Postgres struct {
	sqlStore
	pool *pgxpool.Pool
}

// pgDialect is PostgreSQL's SQL where it differs from SQLite's.
var pgDialect = dialect{
	numbered:  true,
	lower:     "ascii_lower",
	bytewise:  ` COLLATE "C"`,
	queueSeq:  "seq",
	forUpdate: " FOR UPDATE",
	blob:      func(s string) any { return []byte(s) }, // never nil, which pgx would send as NULL
	blobText:  "encode(%s, 'escape')",
	blobTerm:  byteaEscape,
	noNUL:     true,
	owners:    true,
}

var _ Store = (*Postgres)(nil)

// idleInTransaction is the idle_in_transaction_session_timeout of the
// store's sessions, unless the database URL sets one.
const idleInTransaction = 10 * time.Second

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
	if _, ok := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		// A server whose process stops in the middle of a transaction
		// (frozen by its VM, stopped by a debugger) keeps its row locks
		// only this long: the runs it was writing are left to the other
		// replicas' claims until then (skipLocked). Our transactions
		// never wait on anything but the database between statements.
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.Itoa(int(idleInTransaction.Milliseconds()))
	}
	// Connections are made as needed, up to 16 unless the URL sets
	// pool_max_conns: pgx's default (4 on a small machine) let the
	// connections a dead network path holds (until their statements time
	// out) take the whole pool, and the replica out of service, although
	// new connections worked (TestReplicaRejoinsPastFrozenConnections).
	if !strings.Contains(databaseURL, "pool_max_conns") && cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fail(err)
	}
	s := &Postgres{sqlStore: sqlStore{d: pgDialect, secrets: secrets}, pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fail(err)
	}
	s.db = stdlib.OpenDBFromPool(pool)
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
	s.closeStmts()
	err := s.db.Close()
	s.pool.Close()
	return err
}

// byteaEscape writes s as PostgreSQL's encode(…, 'escape') writes its
// bytes: a byte from 0x80 up (and NUL) as \ooo in octal, a backslash
// doubled.
func byteaEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == 0 || c >= 0x80:
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
