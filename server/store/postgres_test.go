package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/interval-go/sdk/server/store/pgtest"
)

// TestPostgresConcurrentOpen opens one new database from several servers at
// once: the advisory lock lets each migration run once.
func TestPostgresConcurrentOpen(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	openAtOnce(t, 6, func() (Store, error) { return OpenPostgres(ctx, url) })
	c, err := pgx.Connect(ctx, url)
	must(t, err)
	defer c.Close(ctx)
	var applied, files int
	must(t, c.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied))
	names, _ := filepath.Glob("migrations_pg/*.sql")
	files = len(names)
	if applied != files || files == 0 {
		t.Fatalf("%d migrations recorded, %d files", applied, files)
	}
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	open := func(raw string) Store {
		t.Helper()
		s, err := OpenURL(ctx, dir, raw)
		if err != nil {
			t.Fatalf("OpenURL(%q): %v", raw, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	if _, ok := open("").(*SQLite); !ok {
		t.Fatal("empty URL is not SQLite")
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("default file: %v", err)
	}
	for i, raw := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		"file:" + filepath.Join(dir, "c.db"),
		"SQLite:" + filepath.Join(dir, "d.db"),
	} {
		if _, ok := open(raw).(*SQLite); !ok {
			t.Fatalf("%q is not SQLite", raw)
		}
		if _, err := os.Stat(filepath.Join(dir, string(rune('a'+i))+".db")); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
	}
	if _, ok := open("sqlite:").(*SQLite); !ok {
		t.Fatal("sqlite: is not SQLite")
	}
	url := pgtest.NewDatabase(t)
	if _, ok := open(url).(*Postgres); !ok {
		t.Fatal("postgres:// is not PostgreSQL")
	}
	if _, ok := open("postgresql" + strings.TrimPrefix(url, "postgres")).(*Postgres); !ok {
		t.Fatal("postgresql:// is not PostgreSQL")
	}
	for _, raw := range []string{
		"mysql://root:hunter2secret@db/app",
		"sqlite:" + filepath.Join(dir, "x.db") + "?mode=ro",
		"/var/lib/interval.db",
		"redis://:hunter2secret@cache",
	} {
		_, err := OpenURL(ctx, dir, raw)
		isErr(t, raw, err, ErrUnsupportedURL)
		if strings.Contains(err.Error(), "hunter2secret") {
			t.Fatalf("password in %q", err)
		}
	}
}

// TestPostgresErrorsHideThePassword opens bad URLs with passwords: every
// error names the URL without its password.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := pgtest.Shared(t)
	good := pgtest.NewDatabase(t)
	wrongPW := strings.Replace(good, srv.Password, "hunter2secret", 1)
	for _, raw := range []string{
		wrongPW, // authentication fails
		"postgres://postgres:hunter2secret@/nodb?host=" + srv.Dir + "&sslmode=disable", // no such database
		"postgres://postgres:hunter2secret@/x?host=/nonexistent-dir&sslmode=disable",   // no server
		"postgres://postgres:hunter2secret@localhost:notaport/x",                       // unparsable
		"postgres://postgres@/x?host=/nonexistent-dir&password=hunter2secret",
		"host=/nonexistent-dir user=postgres password=hunter2secret dbname=x",
		"postgres://postgres:hunter2secret@/x?host=" + srv.Dir + "&sslmode=bogus",
	} {
		_, err := OpenPostgres(ctx, raw)
		if err == nil {
			t.Fatalf("%s: opened", RedactURL(raw))
		}
		if strings.Contains(err.Error(), "hunter2secret") || strings.Contains(err.Error(), srv.Password) {
			t.Fatalf("password in the error: %v", err)
		}
		t.Log(err)
	}
	var pgErr interface{ SQLState() string }
	_, err := OpenPostgres(ctx, wrongPW)
	if !errors.As(err, &pgErr) || pgErr.SQLState() != "28P01" {
		t.Fatalf("wrapped cause lost: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=require": "postgres://u:xxxxx@h:5432/db?sslmode=require",
		"postgres://u@h/db?password=pw&x=1":         "postgres://u@h/db?password=xxxxx&x=1",
		"postgres://h/db?sslpassword=pw":            "postgres://h/db?sslpassword=xxxxx",
		"host=h password=pw user=u":                 "host=h password=xxxxx user=u",
		"host=h password='p w' user=u":              "host=h password=xxxxx user=u",
		"sqlite:/var/lib/x.db":                      "sqlite:/var/lib/x.db",
		"postgres://u:pw@h:port/db":                 "(unparsable URL)",
	} {
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
