package store

import (
	"context"
	"encoding/json"
	"testing"
)

// The audit trail on both databases: appended in order, listed newest
// first with every filter, paged by Seq, detail kept as JSON.
func TestAudit(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		events := []AuditEvent{
			{At: ts(1), ActorID: "u1", ActorEmail: "Admin@example.com", Action: "login", Remote: "10.0.0.1:5"},
			{At: ts(2), ActorEmail: "who@example.com", Action: "login.failed", Detail: json.RawMessage(`{"reason":"password"}`)},
			{At: ts(3), ActorID: "u1", ActorEmail: "admin@example.com", Action: "key.created", Target: "k1", Detail: json.RawMessage(`{"env":"production"}`)},
			{At: ts(4), ActorID: "u1", ActorEmail: "admin@example.com", Action: "key.revoked", Target: "k1"},
			{At: ts(5), ActorID: "u2", ActorEmail: "op@example.com", Action: "run.started", Target: "tx1", Detail: json.RawMessage(`{"slug":"refund","params":{"n":1}}`)},
			{At: ts(6), ActorID: "u2", ActorEmail: "op@example.com", Action: "keyring.opened"}, // not under "key."
		}
		for _, e := range events {
			must(t, s.AppendAudit(ctx, e))
		}
		if err := s.AppendAudit(ctx, AuditEvent{At: ts(7), Action: "x", Detail: json.RawMessage(`{bad`)}); err == nil {
			t.Fatal("detail that is not JSON stored")
		}
		all, err := s.ListAudit(ctx, AuditFilter{})
		must(t, err)
		if len(all) != 6 || all[0].Action != "keyring.opened" || all[5].Action != "login" {
			t.Fatalf("all: %+v", all)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Seq >= all[i-1].Seq {
				t.Fatalf("not newest first: %d then %d", all[i-1].Seq, all[i].Seq)
			}
		}
		if e := all[5]; !e.At.Equal(ts(1)) || e.ActorID != "u1" || e.Remote != "10.0.0.1:5" || string(e.Detail) != "{}" {
			t.Fatalf("login as stored: %+v", e)
		}
		if e := all[1]; e.Target != "tx1" || string(e.Detail) != `{"slug":"refund","params":{"n":1}}` {
			t.Fatalf("run.started as stored: %+v %s", e, e.Detail)
		}
		count := func(f AuditFilter, want int) []AuditEvent {
			t.Helper()
			got, err := s.ListAudit(ctx, f)
			must(t, err)
			if len(got) != want {
				t.Fatalf("%+v: %d events, want %d: %+v", f, len(got), want, got)
			}
			return got
		}
		count(AuditFilter{Action: "key."}, 2)
		count(AuditFilter{Action: "login"}, 1)
		count(AuditFilter{Action: "login."}, 2) // login and login.failed
		count(AuditFilter{Actor: "ADMIN@example.com"}, 3)
		count(AuditFilter{Target: "k1"}, 2)
		count(AuditFilter{Since: ts(2), Until: ts(4)}, 2)
		page := count(AuditFilter{Limit: 2}, 2)
		rest := count(AuditFilter{Before: page[1].Seq}, 4)
		if rest[0].Seq >= page[1].Seq {
			t.Fatal("Before returned a newer event")
		}
		count(AuditFilter{Action: "key.", Actor: "admin@example.com", Since: ts(4)}, 1)
	})
}
