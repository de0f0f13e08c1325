package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/server/store/pgtest"
)

// TestMain stops the PostgreSQL server the tests share, then looks for
// leaked goroutines.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// opener opens one store location (an SQLite data dir, a PostgreSQL
// database) again and again; each store is closed when the test ends.
type opener func(t *testing.T) Store

// backend makes a new, empty store location.
type backend struct {
	name  string
	fresh func(t *testing.T) opener
}

var backends = []backend{
	{"sqlite", func(t *testing.T) opener {
		dir := t.TempDir()
		return func(t *testing.T) Store {
			t.Helper()
			s, err := Open(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}},
	{"postgres", func(t *testing.T) opener {
		url := pgtest.NewDatabase(t)
		return func(t *testing.T) Store {
			t.Helper()
			s, err := OpenPostgres(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}},
}

// each runs f once per backend, on a new location.
func each(t *testing.T, f func(t *testing.T, open opener)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.fresh(t))
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

// ts is a time with millisecond precision, what the stores keep.
func ts(sec int) time.Time { return time.UnixMilli(1_700_000_000_000 + int64(sec)*1000 + 123).UTC() }

func TestRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		now := time.Now()
		u := User{ID: "u1", Email: "a@example.com", Role: RoleMember, Teams: []string{"support"}, CreatedAt: now}
		must(t, s.CreateUser(ctx, u))
		isErr(t, "duplicate email", s.CreateUser(ctx, User{ID: "u3", Email: "A@Example.com", Role: RoleMember, CreatedAt: now}), ErrConflict)
		isErr(t, "duplicate team", s.CreateTeam(ctx, Team{Slug: "support", Name: "x"}), ErrConflict)
		must(t, s.CreateLoginToken(ctx, "h", "u1", now.Add(time.Hour)))
		if id, err := s.ConsumeLoginToken(ctx, "h", now); err != nil || id != "u1" {
			t.Fatalf("consume: %v %v", id, err)
		}
		_, err := s.ConsumeLoginToken(ctx, "h", now)
		isErr(t, "second consume", err, ErrNotFound)
		must(t, s.CreateSession(ctx, "old", "u1", now.Add(-time.Second)))
		must(t, s.CreateSession(ctx, "new", "u1", now.Add(time.Hour)))
		must(t, s.DeleteExpired(ctx, now))
		_, err = s.SessionUserID(ctx, "old", now.Add(-time.Hour))
		isErr(t, "expired session kept", err, ErrNotFound)
		if id, err := s.SessionUserID(ctx, "new", now); err != nil || id != "u1" {
			t.Fatalf("session: %v %v", id, err)
		}
		tx := Transaction{ID: "t1", Slug: "s", Env: EnvProduction, UserID: "u1", UserEmail: u.Email, Status: StatusPending,
			Params: json.RawMessage(`{"a":1}`), CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateTransaction(ctx, tx))
		tx.Status, tx.Result = StatusCompleted, `{"x":1}`
		tx.CompletedAt = &now
		must(t, s.UpdateTransaction(ctx, tx))
		must(t, s.AppendLog(ctx, "t1", Log{Index: 0, Timestamp: 1, Data: "hi"}))
		must(t, s.Enqueue(ctx, QueuedAction{ID: "q1", Slug: "s", Env: EnvProduction, CreatedAt: now}))
		_, err = s.Dequeue(ctx, "q1", now)
		must(t, err)
		_, err = s.Dequeue(ctx, "q1", now)
		isErr(t, "second dequeue", err, ErrNotFound)
		must(t, s.Close())

		// Reopen: migrations are not re-applied, data is there.
		s = open(t)
		got, err := s.UserByEmail(ctx, "A@EXAMPLE.COM")
		if err != nil || got.ID != "u1" || len(got.Teams) != 1 || got.Teams[0] != "support" {
			t.Fatalf("user after reopen: %+v %v", got, err)
		}
		gt, err := s.Transaction(ctx, "t1")
		if err != nil || gt.Status != StatusCompleted || gt.Result != `{"x":1}` || string(gt.Params) != `{"a":1}` || gt.CompletedAt == nil {
			t.Fatalf("transaction after reopen: %+v %v", gt, err)
		}
		logs, err := s.Logs(ctx, "t1")
		if err != nil || len(logs) != 1 || logs[0].Data != "hi" {
			t.Fatalf("logs: %+v %v", logs, err)
		}
		list, err := s.ListTransactions(ctx, TransactionFilter{UserEmail: "a@example.com"})
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %+v %v", list, err)
		}
		_, err = s.Transaction(ctx, "nope")
		isErr(t, "missing transaction", err, ErrNotFound)
	})
}

func TestUsers(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		if users, err := s.ListUsers(ctx); err != nil || len(users) != 0 {
			t.Fatalf("empty store: %v %v", users, err)
		}
		ada := User{ID: "u1", Email: "Ada@example.com", FirstName: "Ada", LastName: "L", Role: RoleAdmin,
			Teams: []string{"ops", "eng"}, PasswordHash: "h1", CreatedAt: ts(2)}
		must(t, s.CreateUser(ctx, ada))
		must(t, s.CreateUser(ctx, User{ID: "u2", Email: "bob@example.com", Role: RoleMember, CreatedAt: ts(1)}))
		must(t, s.CreateUser(ctx, User{ID: "u3", Email: "carl@example.com", Role: RoleDeveloper, CreatedAt: ts(2)}))
		isErr(t, "same id", s.CreateUser(ctx, User{ID: "u1", Email: "x@example.com", Role: RoleMember, CreatedAt: ts(3)}), ErrConflict)
		isErr(t, "same email, other case", s.CreateUser(ctx, User{ID: "u4", Email: "ADA@EXAMPLE.COM", Role: RoleMember, CreatedAt: ts(3)}), ErrConflict)
		// Only ASCII letters fold, as with SQLite's NOCASE.
		must(t, s.CreateUser(ctx, User{ID: "u5", Email: "élodie@example.com", Role: RoleMember, CreatedAt: ts(3)}))
		must(t, s.CreateUser(ctx, User{ID: "u6", Email: "Élodie@example.com", Role: RoleMember, CreatedAt: ts(3)}))
		if n, err := s.CountUsers(ctx); err != nil || n != 5 {
			t.Fatalf("count %d %v", n, err)
		}

		got, err := s.UserByID(ctx, "u1")
		must(t, err)
		ada.Teams = []string{"eng", "ops"}
		if !reflect.DeepEqual(got, ada) {
			t.Fatalf("UserByID\n got %+v\nwant %+v", got, ada)
		}
		if got, err := s.UserByEmail(ctx, "ada@EXAMPLE.com"); err != nil || got.ID != "u1" {
			t.Fatalf("UserByEmail %+v %v", got, err)
		}
		if got, err := s.UserByEmail(ctx, "Élodie@example.com"); err != nil || got.ID != "u6" {
			t.Fatalf("UserByEmail (non-ASCII) %+v %v", got, err)
		}
		_, err = s.UserByID(ctx, "nope")
		isErr(t, "UserByID", err, ErrNotFound)
		_, err = s.UserByEmail(ctx, "nope@example.com")
		isErr(t, "UserByEmail", err, ErrNotFound)

		users, err := s.ListUsers(ctx)
		must(t, err)
		var ids []string
		for _, u := range users {
			ids = append(ids, u.ID)
			if u.Teams == nil {
				t.Fatalf("nil teams for %s", u.ID)
			}
		}
		if want := []string{"u2", "u1", "u3", "u6", "u5"}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("ListUsers order %v, want %v", ids, want)
		}
		if !reflect.DeepEqual(users[1], ada) {
			t.Fatalf("ListUsers entry %+v", users[1])
		}

		// Update: fields and teams replaced; a taken email conflicts and
		// changes nothing.
		ada.FirstName, ada.Role, ada.PasswordHash, ada.Teams = "Augusta", RoleDeveloper, "h2", []string{"support"}
		must(t, s.UpdateUser(ctx, ada))
		if got, _ := s.UserByID(ctx, "u1"); !reflect.DeepEqual(got, ada) {
			t.Fatalf("after update %+v", got)
		}
		bad := ada
		bad.Email, bad.Teams = "BOB@example.com", []string{"x"}
		isErr(t, "update to a taken email", s.UpdateUser(ctx, bad), ErrConflict)
		if got, _ := s.UserByID(ctx, "u1"); !reflect.DeepEqual(got, ada) {
			t.Fatalf("failed update changed the user: %+v", got)
		}
		isErr(t, "update unknown", s.UpdateUser(ctx, User{ID: "nope", Email: "n@example.com", Role: RoleMember}), ErrNotFound)

		// Delete cascades to sessions, keys, tokens and memberships.
		must(t, s.CreateSession(ctx, "sess", "u1", ts(100000)))
		must(t, s.CreateLoginToken(ctx, "tok", "u1", ts(100000)))
		must(t, s.CreateAPIKey(ctx, APIKey{ID: "k1", UserID: "u1", Env: EnvDevelopment, Prefix: "dev_", CreatedAt: ts(1)}, "kh"))
		must(t, s.DeleteUser(ctx, "u1"))
		isErr(t, "delete twice", s.DeleteUser(ctx, "u1"), ErrNotFound)
		_, err = s.SessionUserID(ctx, "sess", ts(0))
		isErr(t, "session of a deleted user", err, ErrNotFound)
		_, err = s.ConsumeLoginToken(ctx, "tok", ts(0))
		isErr(t, "token of a deleted user", err, ErrNotFound)
		_, err = s.APIKeyByHash(ctx, "kh")
		isErr(t, "key of a deleted user", err, ErrNotFound)
		if n, _ := s.CountUsers(ctx); n != 4 {
			t.Fatalf("count after delete %d", n)
		}
		// The team created with the user stays.
		teams, err := s.ListTeams(ctx)
		must(t, err)
		if len(teams) != 3 {
			t.Fatalf("teams %+v", teams)
		}
	})
}

func TestTeams(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		if teams, err := s.ListTeams(ctx); err != nil || teams == nil || len(teams) != 0 {
			t.Fatalf("no teams: %#v %v", teams, err)
		}
		for _, slug := range []string{"ops", "Zed", "eng", "a-b", "a_b"} {
			must(t, s.CreateTeam(ctx, Team{Slug: slug, Name: "Team " + slug}))
		}
		isErr(t, "taken slug", s.CreateTeam(ctx, Team{Slug: "ops", Name: "again"}), ErrConflict)
		teams, err := s.ListTeams(ctx)
		must(t, err)
		var slugs []string
		for _, tm := range teams {
			slugs = append(slugs, tm.Slug)
		}
		// Bytewise, as SQLite's default collation.
		if want := []string{"Zed", "a-b", "a_b", "eng", "ops"}; !reflect.DeepEqual(slugs, want) {
			t.Fatalf("order %v, want %v", slugs, want)
		}
		if teams[4].Name != "Team ops" {
			t.Fatalf("name %q", teams[4].Name)
		}
	})
}

func TestSettings(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		_, err := s.Setting(ctx, SettingPublicURL)
		isErr(t, "unset setting", err, ErrNotFound)
		must(t, s.SetSetting(ctx, SettingPublicURL, "http://127.0.0.1:1234"))
		must(t, s.SetSetting(ctx, SettingPublicURL, "http://127.0.0.1:5678"))
		must(t, s.SetSetting(ctx, "other", "x"))
		// Kept across a reopen, the last value wins, keys stay apart.
		s2 := open(t)
		if v, err := s2.Setting(ctx, SettingPublicURL); err != nil || v != "http://127.0.0.1:5678" {
			t.Fatalf("setting after reopen: %q %v", v, err)
		}
		if v, err := s2.Setting(ctx, "other"); err != nil || v != "x" {
			t.Fatalf("other setting: %q %v", v, err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		must(t, s.CreateUser(ctx, User{ID: "u1", Email: "a@example.com", Role: RoleAdmin, CreatedAt: ts(0)}))
		k1 := APIKey{ID: "k1", UserID: "u1", Env: EnvDevelopment, Label: "laptop", Prefix: "dev_ab", CreatedAt: ts(1)}
		k2 := APIKey{ID: "k2", UserID: "u1", Env: EnvProduction, Prefix: "live_cd", CreatedAt: ts(2)}
		must(t, s.CreateAPIKey(ctx, k1, "hash1"))
		must(t, s.CreateAPIKey(ctx, k2, "hash2"))
		isErr(t, "same hash", s.CreateAPIKey(ctx, APIKey{ID: "k3", UserID: "u1", Env: EnvProduction, Prefix: "x", CreatedAt: ts(3)}, "hash1"), ErrConflict)
		isErr(t, "same id", s.CreateAPIKey(ctx, APIKey{ID: "k1", UserID: "u1", Env: EnvProduction, Prefix: "x", CreatedAt: ts(3)}, "hash3"), ErrConflict)
		if err := s.CreateAPIKey(ctx, APIKey{ID: "k4", UserID: "nobody", Env: EnvProduction, Prefix: "x", CreatedAt: ts(3)}, "hash4"); err == nil {
			t.Fatal("key of an unknown user accepted")
		}
		if got, err := s.APIKeyByHash(ctx, "hash1"); err != nil || !reflect.DeepEqual(got, k1) {
			t.Fatalf("by hash %+v %v", got, err)
		}
		if got, err := s.APIKeyByID(ctx, "k2"); err != nil || !reflect.DeepEqual(got, k2) {
			t.Fatalf("by id %+v %v", got, err)
		}
		_, err := s.APIKeyByHash(ctx, "nope")
		isErr(t, "unknown hash", err, ErrNotFound)
		_, err = s.APIKeyByID(ctx, "nope")
		isErr(t, "unknown id", err, ErrNotFound)

		must(t, s.RevokeAPIKey(ctx, "k1", ts(5)))
		isErr(t, "revoke twice", s.RevokeAPIKey(ctx, "k1", ts(6)), ErrNotFound)
		isErr(t, "revoke unknown", s.RevokeAPIKey(ctx, "nope", ts(6)), ErrNotFound)
		got, err := s.APIKeyByHash(ctx, "hash1")
		if err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(ts(5)) {
			t.Fatalf("revoked key %+v %v", got, err)
		}
		keys, err := s.ListAPIKeys(ctx)
		must(t, err)
		if len(keys) != 2 || keys[0].ID != "k2" || keys[1].ID != "k1" || keys[1].RevokedAt == nil {
			t.Fatalf("ListAPIKeys (newest first) %+v", keys)
		}
	})
}

func TestSessionsAndLoginTokens(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		must(t, s.CreateUser(ctx, User{ID: "u1", Email: "a@example.com", Role: RoleAdmin, CreatedAt: ts(0)}))
		must(t, s.CreateSession(ctx, "s1", "u1", ts(10)))
		isErr(t, "same session hash", s.CreateSession(ctx, "s1", "u1", ts(10)), ErrConflict)
		if id, err := s.SessionUserID(ctx, "s1", ts(9)); err != nil || id != "u1" {
			t.Fatalf("session %q %v", id, err)
		}
		_, err := s.SessionUserID(ctx, "s1", ts(10))
		isErr(t, "session at its expiry", err, ErrNotFound)
		must(t, s.DeleteSession(ctx, "s1"))
		must(t, s.DeleteSession(ctx, "s1")) // deleting nothing is fine
		_, err = s.SessionUserID(ctx, "s1", ts(0))
		isErr(t, "deleted session", err, ErrNotFound)

		must(t, s.CreateLoginToken(ctx, "old", "u1", ts(5)))
		must(t, s.CreateLoginToken(ctx, "late", "u1", ts(5)))
		must(t, s.CreateLoginToken(ctx, "new", "u1", ts(50)))
		_, err = s.ConsumeLoginToken(ctx, "late", ts(5))
		isErr(t, "expired token", err, ErrNotFound)
		_, err = s.ConsumeLoginToken(ctx, "late", ts(0))
		isErr(t, "expired token is consumed", err, ErrNotFound)
		must(t, s.DeleteExpired(ctx, ts(6)))
		_, err = s.ConsumeLoginToken(ctx, "old", ts(0))
		isErr(t, "token deleted by DeleteExpired", err, ErrNotFound)
		if id, err := s.ConsumeLoginToken(ctx, "new", ts(6)); err != nil || id != "u1" {
			t.Fatalf("token kept %q %v", id, err)
		}
	})
}

// SetPassword ends the user's other sessions and unused login tokens with
// the same write; the kept session and other users' are untouched.
func TestSetPasswordEndsOtherSessions(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		must(t, s.CreateUser(ctx, User{ID: "u1", Email: "a@example.com", Role: RoleAdmin, Teams: []string{"ops"}, CreatedAt: ts(0)}))
		must(t, s.CreateUser(ctx, User{ID: "u2", Email: "b@example.com", Role: RoleMember, CreatedAt: ts(0)}))
		for _, h := range []string{"mine", "other", "stolen"} {
			must(t, s.CreateSession(ctx, h, "u1", ts(100)))
		}
		must(t, s.CreateSession(ctx, "theirs", "u2", ts(100)))
		must(t, s.CreateLoginToken(ctx, "link", "u1", ts(100)))
		must(t, s.CreateLoginToken(ctx, "their-link", "u2", ts(100)))

		must(t, s.SetPassword(ctx, "u1", "new-hash", "mine"))
		if u, err := s.UserByID(ctx, "u1"); err != nil || u.PasswordHash != "new-hash" || u.Role != RoleAdmin || len(u.Teams) != 1 {
			t.Fatalf("user after SetPassword %+v %v", u, err)
		}
		if id, err := s.SessionUserID(ctx, "mine", ts(1)); err != nil || id != "u1" {
			t.Fatalf("kept session: %q %v", id, err)
		}
		for _, h := range []string{"other", "stolen"} {
			_, err := s.SessionUserID(ctx, h, ts(1))
			isErr(t, "other session "+h, err, ErrNotFound)
		}
		_, err := s.ConsumeLoginToken(ctx, "link", ts(1))
		isErr(t, "login token", err, ErrNotFound)
		if id, err := s.SessionUserID(ctx, "theirs", ts(1)); err != nil || id != "u2" {
			t.Fatalf("another user's session: %q %v", id, err)
		}
		if id, err := s.ConsumeLoginToken(ctx, "their-link", ts(1)); err != nil || id != "u2" {
			t.Fatalf("another user's login token: %q %v", id, err)
		}
		must(t, s.SetPassword(ctx, "u1", "newer", ""))
		_, err = s.SessionUserID(ctx, "mine", ts(1))
		isErr(t, "no session kept", err, ErrNotFound)
		isErr(t, "unknown user", s.SetPassword(ctx, "nope", "h", ""), ErrNotFound)
	})
}

func TestTransactionFields(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		done := ts(9)
		full := Transaction{ID: "t1", Slug: "grp/act", ActionName: "Act", Env: EnvDevelopment, UserID: "u1",
			UserEmail: "a@example.com", UserName: "Ada L", DeveloperID: "u1", Status: StatusCompleted, ResultStatus: "SUCCESS",
			Params: json.RawMessage(`{"n":1,"s":"é"}`), ParamsMeta: json.RawMessage(`{"n":"number"}`),
			Result: "{\"data\":\"a\\u0000b\"}\x00 raw NUL and \xff", HostInstanceID: "h1", HostKeyID: "k1",
			CreatedAt: ts(1), UpdatedAt: ts(2), CompletedAt: &done}
		must(t, s.CreateTransaction(ctx, full))
		got, err := s.Transaction(ctx, "t1")
		must(t, err)
		if !reflect.DeepEqual(got, full) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, full)
		}
		isErr(t, "same id", s.CreateTransaction(ctx, full), ErrConflict)

		// Defaults: no params are {}, no meta stays nil.
		bare := Transaction{ID: "t2", Slug: "s", Env: EnvProduction, UserID: "u1", UserEmail: "a@example.com",
			Status: StatusPending, CreatedAt: ts(3), UpdatedAt: ts(3)}
		must(t, s.CreateTransaction(ctx, bare))
		got, err = s.Transaction(ctx, "t2")
		must(t, err)
		if string(got.Params) != "{}" || got.ParamsMeta != nil || got.Result != "" || got.CompletedAt != nil {
			t.Fatalf("defaults %+v", got)
		}

		// Update writes only the mutable fields.
		upd := bare
		upd.Slug, upd.UserEmail = "changed", "changed@example.com"
		upd.Status, upd.ResultStatus, upd.Result, upd.HostInstanceID, upd.UpdatedAt, upd.CompletedAt = StatusCompleted, "FAILURE", "oops", "h2", ts(4), &done
		upd.ViaHTTPHost, upd.HostKeyID, upd.PendingAnswer = true, "k2", `{"id":"a","values":["Ada"]}`
		must(t, s.UpdateTransaction(ctx, upd))
		got, err = s.Transaction(ctx, "t2")
		must(t, err)
		want := bare
		want.Params = json.RawMessage("{}")
		want.Status, want.ResultStatus, want.Result, want.HostInstanceID, want.UpdatedAt, want.CompletedAt = StatusCompleted, "FAILURE", "oops", "h2", ts(4), &done
		want.ViaHTTPHost, want.HostKeyID, want.PendingAnswer = true, "k2", `{"id":"a","values":["Ada"]}`
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after update\n got %+v\nwant %+v", got, want)
		}
		upd.CompletedAt = nil
		must(t, s.UpdateTransaction(ctx, upd))
		if got, _ := s.Transaction(ctx, "t2"); got.CompletedAt != nil {
			t.Fatalf("completedAt not cleared: %v", got.CompletedAt)
		}
		isErr(t, "update unknown", s.UpdateTransaction(ctx, Transaction{ID: "nope", Status: StatusCanceled}), ErrNotFound)
	})
}

func TestListTransactions(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		type row struct{ id, slug, status, email, env string }
		rows := []row{
			{"a", "refund", StatusCompleted, "ada@example.com", EnvProduction},
			{"b", "refund", StatusRunning, "bob@example.com", EnvProduction},
			{"c", "export", StatusCompleted, "Ada@Example.com", EnvDevelopment},
			{"d", "refund", StatusCanceled, "ada@example.com", EnvDevelopment},
			{"e", "export", StatusHostDropped, "bob@example.com", EnvProduction},
			{"f", "refund", StatusAwaitingInput, "ADA@example.com", EnvProduction},
			{"g", "export", StatusPending, "carl@example.com", EnvProduction},
		}
		for i, r := range rows {
			// Equal creation times: the order is the order of creation.
			must(t, s.CreateTransaction(ctx, Transaction{ID: r.id, Slug: r.slug, Env: r.env, UserID: "u", UserEmail: r.email,
				Status: r.status, CreatedAt: ts(1), UpdatedAt: ts(i)}))
		}
		ids := func(f TransactionFilter) string {
			t.Helper()
			list, err := s.ListTransactions(ctx, f)
			must(t, err)
			out := ""
			for _, x := range list {
				out += x.ID
			}
			return out
		}
		for _, c := range []struct {
			f    TransactionFilter
			want string
		}{
			{TransactionFilter{}, "gfedcba"},
			{TransactionFilter{Slug: "refund"}, "fdba"},
			{TransactionFilter{Status: StatusCompleted}, "ca"},
			{TransactionFilter{UserEmail: "ADA@EXAMPLE.COM"}, "fdca"},
			{TransactionFilter{Env: EnvDevelopment}, "dc"},
			{TransactionFilter{Slug: "refund", Env: EnvProduction, UserEmail: "ada@example.com"}, "fa"},
			{TransactionFilter{Slug: "refund", Status: StatusRunning, UserEmail: "bob@example.com", Env: EnvProduction}, "b"},
			{TransactionFilter{Slug: "nope"}, ""},
			{TransactionFilter{Limit: 3}, "gfe"},
			{TransactionFilter{Before: "e", Limit: 2}, "dc"},
			{TransactionFilter{Before: "c", Limit: 2}, "ba"},
			{TransactionFilter{Before: "a"}, ""},
			{TransactionFilter{Before: "f", Slug: "refund"}, "dba"},
			{TransactionFilter{Before: "unknown"}, ""},
		} {
			if got := ids(c.f); got != c.want {
				t.Errorf("%+v: %q, want %q", c.f, got, c.want)
			}
		}
		// Paging through everything two at a time, as the console does.
		got, before := "", ""
		for range 10 {
			list, err := s.ListTransactions(ctx, TransactionFilter{Before: before, Limit: 2})
			must(t, err)
			if len(list) == 0 {
				break
			}
			for _, x := range list {
				got += x.ID
			}
			before = list[len(list)-1].ID
		}
		if got != "gfedcba" {
			t.Fatalf("paged %q", got)
		}
		un, err := s.UnfinishedTransactions(ctx)
		must(t, err)
		var unIDs string
		for _, x := range un {
			unIDs += x.ID
		}
		if unIDs != "befg" {
			t.Fatalf("unfinished %q, want oldest first befg", unIDs)
		}

		// Limits: 0 and over 500 mean 50.
		for i := range 50 {
			must(t, s.CreateTransaction(ctx, Transaction{ID: fmt.Sprintf("z%02d", i), Slug: "bulk", Env: EnvProduction,
				UserID: "u", UserEmail: "x@example.com", Status: StatusCompleted, CreatedAt: ts(2), UpdatedAt: ts(2)}))
		}
		for _, limit := range []int{0, -1, 501} {
			list, err := s.ListTransactions(ctx, TransactionFilter{Limit: limit})
			must(t, err)
			if len(list) != 50 || list[0].ID != "z49" {
				t.Fatalf("limit %d: %d rows", limit, len(list))
			}
		}
		if list, _ := s.ListTransactions(ctx, TransactionFilter{Limit: 500}); len(list) != 57 {
			t.Fatalf("limit 500: %d rows", len(list))
		}
	})
}

func TestLogs(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		if logs, err := s.Logs(ctx, "none"); err != nil || logs == nil || len(logs) != 0 {
			t.Fatalf("no logs: %#v %v", logs, err)
		}
		odd := "NUL \x00 and invalid UTF-8 \xff\xfe, é"
		for _, l := range []Log{{2, 30, "two"}, {0, 10, "zero"}, {1, 20, odd}, {10, 40, "ten"}} {
			must(t, s.AppendLog(ctx, "t1", l))
		}
		must(t, s.AppendLog(ctx, "t2", Log{0, 1, "other"}))
		must(t, s.AppendLog(ctx, "t1", Log{2, 35, "two again"}))
		logs, err := s.Logs(ctx, "t1")
		must(t, err)
		want := []Log{{0, 10, "zero"}, {1, 20, odd}, {2, 35, "two again"}, {10, 40, "ten"}}
		if !reflect.DeepEqual(logs, want) {
			t.Fatalf("logs\n got %+q\nwant %+q", fmt.Sprint(logs), fmt.Sprint(want))
		}
	})
}

func TestQueue(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		if q, err := s.ListQueued(ctx, EnvProduction); err != nil || q == nil || len(q) != 0 {
			t.Fatalf("empty queue %#v %v", q, err)
		}
		full := QueuedAction{ID: "q2", Slug: "refund", Env: EnvProduction, DeveloperID: "d", Assignee: "ada@example.com",
			Params: json.RawMessage(`{"id":7}`), ParamsMeta: json.RawMessage(`{"id":"n"}`), CreatedAt: ts(1)}
		must(t, s.Enqueue(ctx, QueuedAction{ID: "q3", Slug: "later", Env: EnvProduction, CreatedAt: ts(2)}))
		must(t, s.Enqueue(ctx, full))
		must(t, s.Enqueue(ctx, QueuedAction{ID: "q1", Slug: "same time", Env: EnvProduction, CreatedAt: ts(1)}))
		must(t, s.Enqueue(ctx, QueuedAction{ID: "d1", Slug: "dev", Env: EnvDevelopment, CreatedAt: ts(0)}))
		isErr(t, "same id", s.Enqueue(ctx, full), ErrConflict)

		q, err := s.ListQueued(ctx, EnvProduction)
		must(t, err)
		if len(q) != 3 || q[0].ID != "q2" || q[1].ID != "q1" || q[2].ID != "q3" {
			t.Fatalf("ListQueued order %+v", q)
		}
		if !reflect.DeepEqual(q[0], full) || q[1].Params != nil || q[1].ParamsMeta != nil {
			t.Fatalf("queued fields %+v / %+v", q[0], q[1])
		}
		// Queued looks without dequeuing.
		if got, err := s.Queued(ctx, "q2"); err != nil || !reflect.DeepEqual(got, full) {
			t.Fatalf("queued q2: %+v %v", got, err)
		}
		_, err = s.Queued(ctx, "nope")
		isErr(t, "queued unknown", err, ErrNotFound)
		got, err := s.Dequeue(ctx, "q2", ts(5))
		must(t, err)
		_, err = s.Queued(ctx, "q2")
		isErr(t, "queued after dequeue", err, ErrNotFound)
		full.DequeuedAt = new(ts(5))
		if !reflect.DeepEqual(got, full) {
			t.Fatalf("dequeued\n got %+v\nwant %+v", got, full)
		}
		_, err = s.Dequeue(ctx, "q2", ts(6))
		isErr(t, "dequeue twice", err, ErrNotFound)
		_, err = s.Dequeue(ctx, "nope", ts(6))
		isErr(t, "dequeue unknown", err, ErrNotFound)
		q, err = s.ListQueued(ctx, EnvProduction)
		must(t, err)
		if len(q) != 2 || q[0].ID != "q1" {
			t.Fatalf("after dequeue %+v", q)
		}
		if q, _ := s.ListQueued(ctx, EnvDevelopment); len(q) != 1 || q[0].ID != "d1" {
			t.Fatalf("development queue %+v", q)
		}
	})
}

// TestConcurrentOnce races two store instances on one location (two server
// replicas) and many goroutines: one-time operations succeed exactly once
// and unique values are taken exactly once.
func TestConcurrentOnce(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		a, b := open(t), open(t)
		must(t, a.CreateUser(ctx, User{ID: "u0", Email: "owner@example.com", Role: RoleAdmin, CreatedAt: ts(0)}))
		const n = 16
		for i := range 5 {
			must(t, a.Enqueue(ctx, QueuedAction{ID: fmt.Sprint("q", i), Slug: "s", Env: EnvProduction, CreatedAt: ts(i)}))
			must(t, a.CreateLoginToken(ctx, fmt.Sprint("tok", i), "u0", ts(1000)))
		}
		type result struct {
			op  string
			err error
		}
		results := make(chan result, 5*n*3)
		var wg sync.WaitGroup
		for g := range n {
			s := []Store{a, b}[g%2]
			wg.Go(func() {
				for i := range 5 {
					_, err := s.Dequeue(ctx, fmt.Sprint("q", i), ts(10))
					results <- result{fmt.Sprint("dequeue q", i), err}
					_, err = s.ConsumeLoginToken(ctx, fmt.Sprint("tok", i), ts(10))
					results <- result{fmt.Sprint("consume tok", i), err}
					err = s.CreateUser(ctx, User{ID: fmt.Sprint("g", g, "-", i), Email: fmt.Sprintf("USER%d@example.com", i),
						Role: RoleMember, Teams: []string{"shared"}, CreatedAt: ts(i)})
					results <- result{fmt.Sprint("create user", i), err}
				}
			})
		}
		wg.Wait()
		close(results)
		wins := map[string]int{}
		for r := range results {
			switch {
			case r.err == nil:
				wins[r.op]++
			case errors.Is(r.err, ErrNotFound), errors.Is(r.err, ErrConflict):
			default:
				t.Errorf("%s: %v", r.op, r.err)
			}
		}
		for i := range 5 {
			for _, op := range []string{"dequeue q", "consume tok", "create user"} {
				if w := wins[fmt.Sprint(op, i)]; w != 1 {
					t.Errorf("%s%d succeeded %d times, want once", op, i, w)
				}
			}
		}
		if q, _ := b.ListQueued(ctx, EnvProduction); len(q) != 0 {
			t.Fatalf("still queued: %+v", q)
		}
		if n, _ := b.CountUsers(ctx); n != 6 {
			t.Fatalf("%d users, want 6", n)
		}
	})
}

// A NUL byte, which JSON from hosts and browsers can carry ("\u0000"),
// never fails a write: PostgreSQL's text cannot hold it, so there it is
// stored as U+FFFD in text columns (names, emails, teams, notifications,
// action names); payloads (params, results, log lines) keep every byte
// on both stores.
func TestNULInText(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		_, pg := s.(*Postgres)
		text := func(v string) string {
			if pg {
				return strings.ReplaceAll(v, "\x00", "\uFFFD")
			}
			return v
		}
		now := ts(0)
		u := User{ID: "u1", Email: "a\x00@example.com", FirstName: "A\x00", Role: RoleMember, Teams: []string{"t\x00"}, CreatedAt: now}
		must(t, s.CreateUser(ctx, u))
		u.LastName = "B\x00"
		must(t, s.UpdateUser(ctx, u))
		got, err := s.UserByID(ctx, "u1")
		if err != nil || got.Email != text(u.Email) || got.FirstName != text("A\x00") || got.LastName != text("B\x00") ||
			len(got.Teams) != 1 || got.Teams[0] != text("t\x00") {
			t.Fatalf("user %+v %v", got, err)
		}
		tx := Transaction{ID: "t1", Slug: "s", ActionName: "Run\x00", Env: EnvProduction, UserID: "u1", UserEmail: u.Email,
			Status: StatusPending, Params: json.RawMessage(`{"a":"\u0000"}`), CreatedAt: now, UpdatedAt: now}
		must(t, s.CreateTransaction(ctx, tx))
		tx.Status, tx.Result = StatusCompleted, "res\x00ult"
		must(t, s.UpdateTransaction(ctx, tx))
		must(t, s.AppendLog(ctx, "t1", Log{Index: 0, Timestamp: 1, Data: "log\x00line"}))
		gt, err := s.Transaction(ctx, "t1")
		if err != nil || gt.ActionName != text("Run\x00") || gt.Result != "res\x00ult" || string(gt.Params) != `{"a":"\u0000"}` {
			t.Fatalf("transaction %+v %v", gt, err)
		}
		if logs, err := s.Logs(ctx, "t1"); err != nil || len(logs) != 1 || logs[0].Data != "log\x00line" {
			t.Fatalf("logs %+v %v", logs, err)
		}
		n := Notification{ID: "n1", Env: EnvProduction, IdempotencyKey: "k\x00", Title: "T\x00", Message: "M\x00", CreatedAt: now}
		if _, created, err := s.CreateNotification(ctx, n, []string{"u1"}); err != nil || !created {
			t.Fatalf("notification: %v %v", created, err)
		}
		if old, created, err := s.CreateNotification(ctx, Notification{ID: "n2", Env: EnvProduction, IdempotencyKey: "k\x00", Message: "again", CreatedAt: now}, nil); err != nil || created || old.ID != "n1" {
			t.Fatalf("notification with the same idempotency key: %+v %v %v", old, created, err)
		}
		ns, _, err := s.ListNotifications(ctx, "u1", 0, 10)
		if err != nil || len(ns) != 1 || ns[0].Title != text("T\x00") || ns[0].Message != text("M\x00") {
			t.Fatalf("notifications %+v %v", ns, err)
		}
	})
}

func TestListTransactionsSearchOutcomeTimeAndPages(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		type row struct {
			id, slug, name, user, email, env, status, result, params string
		}
		rows := []row{
			{"a", "refund", "Refund a charge", "u1", "ada@example.com", EnvProduction, StatusCompleted, "SUCCESS", `{"order":"ord_100%"}`},
			{"b", "refund", "Refund a charge", "u2", "bob@example.com", EnvProduction, StatusCompleted, "FAILURE", `{"order":"ord_200"}`},
			{"c", "export", "Export CSV", "u1", "ada@example.com", EnvDevelopment, StatusCompleted, "REDIRECTED", `{}`},
			{"d", "export", "Export CSV", "u2", "bob@example.com", EnvDevelopment, StatusCompleted, "", `{"note":"Ünïcode_x"}`},
			{"e", "refund", "Refund a charge", "u2", "bob@example.com", EnvProduction, StatusRunning, "", `{"order":"ORD_300"}`},
		}
		for i, r := range rows {
			must(t, s.CreateTransaction(ctx, Transaction{ID: r.id, Slug: r.slug, ActionName: r.name, Env: r.env, UserID: r.user,
				UserEmail: r.email, UserName: strings.ToUpper(r.email[:1]) + r.email[1:3], Status: r.status, ResultStatus: r.result,
				Params: json.RawMessage(r.params), CreatedAt: ts(10 * (i + 1)), UpdatedAt: ts(10 * (i + 1))}))
		}
		ids := func(f TransactionFilter) string {
			t.Helper()
			list, err := s.ListTransactions(ctx, f)
			must(t, err)
			n, err := s.CountTransactions(ctx, f)
			must(t, err)
			out := ""
			for _, x := range list {
				out += x.ID
			}
			if f.Offset == 0 && f.Limit == 0 && n != len(list) {
				t.Errorf("%+v: count %d, listed %d", f, n, len(list))
			}
			return out
		}
		for _, c := range []struct {
			f    TransactionFilter
			want string
		}{
			{TransactionFilter{ResultStatus: "SUCCESS"}, "da"},
			{TransactionFilter{ResultStatus: "FAILURE"}, "b"},
			{TransactionFilter{ResultStatus: "REDIRECTED"}, "c"},
			{TransactionFilter{Search: "ord_"}, "eba"},            // params, case-insensitive
			{TransactionFilter{Search: "100%"}, "a"},              // % is a character, not a wildcard
			{TransactionFilter{Search: "o_d"}, ""},                // _ too
			{TransactionFilter{Search: "export csv"}, "dc"},       // the action's name
			{TransactionFilter{Search: "BOB@"}, "edb"},            // the email
			{TransactionFilter{Search: "  refund  "}, "eba"},      // the slug, trimmed
			{TransactionFilter{Search: "Ünïcode"}, "d"},           // non-ASCII as stored
			{TransactionFilter{From: ts(20).UnixMilli()}, "edcb"}, // From included
			{TransactionFilter{To: ts(30).UnixMilli()}, "ba"},     // To excluded
			{TransactionFilter{From: ts(20).UnixMilli(), To: ts(40).UnixMilli(), Slug: "export"}, "c"},
			{TransactionFilter{VisibleTo: "u1"}, "ecba"}, // bob's development run is hidden from u1
			{TransactionFilter{VisibleTo: "u2", Env: EnvDevelopment}, "d"},
			{TransactionFilter{Offset: 1, Limit: 2}, "dc"},
			{TransactionFilter{Offset: 4, Limit: 2}, "a"},
		} {
			if got := ids(c.f); got != c.want {
				t.Errorf("%+v: %q, want %q", c.f, got, c.want)
			}
		}
		if n, err := s.CountTransactions(ctx, TransactionFilter{Slug: "refund", Offset: 2, Limit: 1}); err != nil || n != 3 {
			t.Fatalf("count ignores paging: %d, %v", n, err)
		}
	})
}

// TestSessionUser: the one-query lookup of a session's user returns the
// user with its teams (sorted, none as an empty list) as the store has
// them at the call, and refuses a session expired, deleted, ended by a
// new password or whose user was deleted.
func TestSessionUser(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		must(t, s.CreateUser(ctx, User{ID: "u1", Email: "a@example.com", Role: RoleMember, Teams: []string{"support", "billing"}, CreatedAt: ts(0)}))
		must(t, s.CreateUser(ctx, User{ID: "u2", Email: "b@example.com", Role: RoleAdmin, CreatedAt: ts(0)}))
		for _, h := range []string{"s1", "s2", "s3"} {
			must(t, s.CreateSession(ctx, h, "u1", ts(10)))
		}
		must(t, s.CreateSession(ctx, "b", "u2", ts(10)))
		u, err := s.SessionUser(ctx, "s1", ts(9))
		if err != nil || u.ID != "u1" || u.Email != "a@example.com" || u.Role != RoleMember || !reflect.DeepEqual(u.Teams, []string{"billing", "support"}) {
			t.Fatalf("session user %+v %v", u, err)
		}
		if byID, _ := s.UserByID(ctx, "u1"); !reflect.DeepEqual(u, byID) {
			t.Fatalf("session user %+v, UserByID %+v", u, byID)
		}
		if u, err := s.SessionUser(ctx, "b", ts(9)); err != nil || u.ID != "u2" || u.Teams == nil || len(u.Teams) != 0 {
			t.Fatalf("user without teams %+v %v", u, err)
		}
		_, err = s.SessionUser(ctx, "s1", ts(10))
		isErr(t, "session at its expiry", err, ErrNotFound)
		_, err = s.SessionUser(ctx, "nope", ts(0))
		isErr(t, "unknown session", err, ErrNotFound)

		// Every session is looked up before each change (a store may keep
		// the answers: SQLite's sessionCache), and the change is seen by the
		// next lookup.
		lookAll := func() {
			t.Helper()
			for _, h := range []string{"s1", "s2", "s3", "b"} {
				if _, err := s.SessionUser(ctx, h, ts(1)); err != nil && !errors.Is(err, ErrNotFound) {
					t.Fatalf("session %s: %v", h, err)
				}
			}
		}
		lookAll()
		// A change of role and teams is seen by the next lookup.
		u.Role, u.Teams = RoleDeveloper, []string{"support"}
		must(t, s.UpdateUser(ctx, u))
		if got, err := s.SessionUser(ctx, "s1", ts(1)); err != nil || got.Role != RoleDeveloper || !reflect.DeepEqual(got.Teams, []string{"support"}) {
			t.Fatalf("after the change %+v %v", got, err)
		}
		lookAll()
		must(t, s.DeleteSession(ctx, "s2"))
		_, err = s.SessionUser(ctx, "s2", ts(1))
		isErr(t, "deleted session", err, ErrNotFound)
		lookAll()
		must(t, s.SetPassword(ctx, "u1", "h", "s1"))
		_, err = s.SessionUser(ctx, "s3", ts(1))
		isErr(t, "session ended by a new password", err, ErrNotFound)
		if got, err := s.SessionUser(ctx, "s1", ts(1)); err != nil || got.PasswordHash != "h" {
			t.Fatalf("after the new password %+v %v", got, err)
		}
		lookAll()
		must(t, s.DeleteUser(ctx, "u1"))
		_, err = s.SessionUser(ctx, "s1", ts(1))
		isErr(t, "session of a deleted user", err, ErrNotFound)
		// A kept answer ends with its session.
		if _, err := s.SessionUser(ctx, "b", ts(9)); err != nil {
			t.Fatal(err)
		}
		_, err = s.SessionUser(ctx, "b", ts(10))
		isErr(t, "session at its expiry, looked up before", err, ErrNotFound)
		// The answers given are the caller's to change.
		got, err := s.SessionUser(ctx, "b", ts(1))
		if err != nil {
			t.Fatal(err)
		}
		got.Teams = append(got.Teams, "mine")
		if again, err := s.SessionUser(ctx, "b", ts(1)); err != nil || len(again.Teams) != 0 {
			t.Fatalf("a caller's change of the teams returned reached the next lookup: %+v %v", again, err)
		}
	})
}
