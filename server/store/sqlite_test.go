package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSQLiteRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	u := User{ID: "u1", Email: "a@example.com", Role: RoleMember, Teams: []string{"support"}, CreatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, User{ID: "u3", Email: "A@Example.com", Role: RoleMember, CreatedAt: now}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate email: %v", err)
	}
	if err := s.CreateTeam(ctx, Team{Slug: "support", Name: "x"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate team: %v", err)
	}
	if err := s.CreateLoginToken(ctx, "h", "u1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if id, err := s.ConsumeLoginToken(ctx, "h", now); err != nil || id != "u1" {
		t.Fatalf("consume: %v %v", id, err)
	}
	if _, err := s.ConsumeLoginToken(ctx, "h", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second consume: %v", err)
	}
	if err := s.CreateSession(ctx, "old", "u1", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, "new", "u1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExpired(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUserID(ctx, "old", now.Add(-time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session kept: %v", err)
	}
	if id, err := s.SessionUserID(ctx, "new", now); err != nil || id != "u1" {
		t.Fatalf("session: %v %v", id, err)
	}
	tx := Transaction{ID: "t1", Slug: "s", Env: EnvProduction, UserID: "u1", UserEmail: u.Email, Status: StatusPending,
		Params: json.RawMessage(`{"a":1}`), CreatedAt: now, UpdatedAt: now}
	if err := s.CreateTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	tx.Status, tx.Result = StatusCompleted, `{"x":1}`
	tx.CompletedAt = &now
	if err := s.UpdateTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLog(ctx, "t1", Log{Index: 0, Timestamp: 1, Data: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, QueuedAction{ID: "q1", Slug: "s", Env: EnvProduction, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dequeue(ctx, "q1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dequeue(ctx, "q1", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second dequeue: %v", err)
	}
	s.Close()

	// Reopen: migrations are not re-applied, data is there.
	s, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
	if _, err := s.Transaction(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing transaction: %v", err)
	}
}
