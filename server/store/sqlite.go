package store

import (
	"context"
	"database/sql"
	"embed"
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
	sqlStore
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
	dsn := "file:" + uriPath(path) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// One connection: SQLite serializes writers anyway, and this rules out
	// SQLITE_BUSY between our own connections.
	db.SetMaxOpenConns(1)
	s := &SQLite{sqlStore: sqlStore{db: db, d: sqliteDialect, sessions: &sessionCache{}}, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// uriPath escapes what SQLite's URI file names give a meaning to in a
// path ('%' an escape, '?' the start of the parameters, '#' of a
// fragment), so that a data dir named "runs#2" opens runs#2/interval.db,
// not a file "runs" beside it.
func uriPath(path string) string {
	return uriEscaper.Replace(path)
}

var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

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
func (s *SQLite) Close() error {
	s.closeStmts()
	return s.db.Close()
}
