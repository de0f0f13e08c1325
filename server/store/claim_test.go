package store

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"testing"
)

// TestClaimOneServer: while one server holds the claim on a store, a second
// process (here: a second opening of the same database) cannot claim it;
// once released, it can.
func TestClaimOneServer(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		a, b := open(t), open(t)
		release, err := a.(Claimer).Claim(ctx)
		if err != nil {
			t.Fatalf("first claim: %v", err)
		}
		if _, err := b.(Claimer).Claim(ctx); !errors.Is(err, ErrInUse) {
			t.Fatalf("second claim while held: %v, want ErrInUse", err)
		}
		release()
		release2, err := b.(Claimer).Claim(ctx)
		if err != nil {
			t.Fatalf("claim after release: %v", err)
		}
		release2()
	})
}

// openAtOnce opens a store n times at once, each writing the same team
// (one of them creates it); any other failure fails the test.
func openAtOnce(t *testing.T, n int, open func() (Store, error)) {
	t.Helper()
	ctx := context.Background()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := open()
			if err == nil {
				err = s.CreateTeam(ctx, Team{Slug: "t", Name: "x"})
				if errors.Is(err, ErrConflict) {
					err = nil
				}
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSQLiteConcurrentOpen opens one new database file from several
// connections at once (as a server's first start and an `interval-server
// key create` might): each migration runs once and every opener works.
func TestSQLiteConcurrentOpen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	openAtOnce(t, 6, func() (Store, error) { return Open(ctx, dir) })
	s, err := Open(ctx, dir)
	must(t, err)
	defer s.Close()
	var applied int
	must(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied))
	files, err := fs.Glob(migrations, "migrations/*.sql")
	must(t, err)
	if applied != len(files) {
		t.Fatalf("%d migrations recorded, want %d", applied, len(files))
	}
}
