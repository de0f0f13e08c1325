package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

func TestRebind(t *testing.T) {
	for q, want := range map[string]string{
		`SELECT 1`:                            `SELECT 1`,
		`a = ? AND b IN (?, ?)`:               `a = $1 AND b IN ($2, $3)`,
		`x = '?' AND y = ? AND "z?" = ?`:      `x = '?' AND y = $1 AND "z?" = $2`,
		`x = 'it''s ?' AND y = ?`:             `x = 'it''s ?' AND y = $1`,
		`ORDER BY s COLLATE "C" LIMIT ?`:      `ORDER BY s COLLATE "C" LIMIT $1`,
		`? ? ? ? ? ? ? ? ? ? ?`:               `$1 $2 $3 $4 $5 $6 $7 $8 $9 $10 $11`,
		`DELETE FROM t WHERE h = ? RETURNING`: `DELETE FROM t WHERE h = $1 RETURNING`,
	} {
		if got := pgDialect.rebind(q); got != want {
			t.Errorf("rebind(%q) = %q, want %q", q, got, want)
		}
		if got := sqliteDialect.rebind(q); got != q {
			t.Errorf("SQLite rebind(%q) = %q", q, got)
		}
	}
}

// TestDriverErrors checks that an error the store does not map keeps the
// driver's cause, and that unique violations and missing rows map to the
// store's errors on both databases.
func TestDriverErrors(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		// A foreign key violation is neither ErrConflict nor ErrNotFound.
		err := s.CreateAPIKey(ctx, APIKey{ID: "k1", UserID: "nobody", Env: EnvProduction, Prefix: "x", CreatedAt: ts(0)}, "h")
		if err == nil || errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "store: create api key: ") {
			t.Fatalf("key of an unknown user: %v", err)
		}
		var pe *pgconn.PgError
		var se *sqlite.Error
		switch s.(type) {
		case *Postgres:
			if !errors.As(err, &pe) || pe.Code != "23503" { // foreign_key_violation
				t.Fatalf("cause lost: %#v", err)
			}
		case *SQLite:
			if !errors.As(err, &se) {
				t.Fatalf("cause lost: %#v", err)
			}
		}
		must(t, s.CreateUser(ctx, User{ID: "u1", Email: "a@example.com", Role: RoleMember, CreatedAt: ts(0)}))
		err = s.CreateUser(ctx, User{ID: "u2", Email: "A@EXAMPLE.com", Role: RoleMember, CreatedAt: ts(0)})
		isErr(t, "same email", err, ErrConflict)
		if !strings.HasPrefix(err.Error(), "store: create user: ") {
			t.Fatalf("conflict message %q", err)
		}
		_, err = s.Transaction(ctx, "nope")
		isErr(t, "no row", err, ErrNotFound)
		if err.Error() != "store: transaction: "+ErrNotFound.Error() {
			t.Fatalf("not found message %q", err)
		}
	})
}

// TestUserOrderIgnoresASCIICase lists users created at one time by email,
// ASCII letters folded, others by bytes.
func TestUserOrderIgnoresASCIICase(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		for id, email := range map[string]string{"b": "Bob@x", "a": "alice@x", "c": "Carl@x", "z": "zed@x", "e": "Émile@x"} {
			must(t, s.CreateUser(ctx, User{ID: id, Email: email, Role: RoleMember, Teams: []string{"T", "a", "B"}, CreatedAt: ts(0)}))
		}
		users, err := s.ListUsers(ctx)
		must(t, err)
		var ids []string
		for _, u := range users {
			ids = append(ids, u.ID)
			if !reflect.DeepEqual(u.Teams, []string{"B", "T", "a"}) {
				t.Fatalf("teams of %s: %q", u.ID, u.Teams)
			}
		}
		if want := []string{"a", "b", "c", "z", "e"}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("order %v, want %v", ids, want)
		}
		if u, err := s.UserByEmail(ctx, "éMILE@X"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("non-ASCII letters were folded: %+v %v", u, err)
		}
		if u, err := s.UserByEmail(ctx, "ÉMILE@X"); err != nil || u.ID != "e" {
			t.Fatalf("UserByEmail: %+v %v", u, err)
		}
	})
}

func TestWrapHidesSecrets(t *testing.T) {
	s := &sqlStore{secrets: []string{"hunter2secret"}}
	cause := errors.New(`connect to "postgres://u:hunter2secret@h/db" failed`)
	err := s.wrap("op", cause)
	if strings.Contains(err.Error(), "hunter2secret") || !errors.Is(err, cause) {
		t.Fatalf("wrap: %v", err)
	}
}
