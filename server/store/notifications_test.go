package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// checkNotifications runs the notification methods of a Store.
func checkNotifications(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	a := Notification{ID: "n1", Env: EnvProduction, IdempotencyKey: "k1", Title: "Hi", Message: "<b>one</b>",
		TransactionID: "tx1", ActionSlug: "refund", CreatedAt: now,
		Deliveries: []NotificationDelivery{{To: "a@example.com", Method: DeliveryEmail}, {To: "#ops", Method: DeliverySlack, Note: "not delivered"}}}
	got, created, err := s.CreateNotification(ctx, a, []string{"u1", "u2"})
	if err != nil || !created || got.ID != "n1" || len(got.Deliveries) != 2 {
		t.Fatalf("create: %+v %v %v", got, created, err)
	}
	// The same key in the same environment: the first one, nothing added.
	dup := a
	dup.ID, dup.Message = "n1b", "again"
	got, created, err = s.CreateNotification(ctx, dup, []string{"u3"})
	if err != nil || created || got.ID != "n1" || got.Message != "<b>one</b>" || got.Deliveries[1].Note != "not delivered" || !got.CreatedAt.Equal(now) {
		t.Fatalf("duplicate key: %+v %v %v", got, created, err)
	}
	// The same key in another environment is another notification.
	other := a
	other.ID, other.Env, other.CreatedAt = "n2", EnvDevelopment, now.Add(time.Second)
	if _, created, err := s.CreateNotification(ctx, other, []string{"u1"}); err != nil || !created {
		t.Fatalf("other env: %v %v", created, err)
	}
	// No key: never deduplicated.
	for i, id := range []string{"n3", "n4"} {
		n := Notification{ID: id, Env: EnvProduction, Message: "m", CreatedAt: now.Add(time.Duration(2+i) * time.Second)}
		if _, created, err := s.CreateNotification(ctx, n, []string{"u1"}); err != nil || !created {
			t.Fatalf("no key %s: %v %v", id, created, err)
		}
	}

	list, unread, err := s.ListNotifications(ctx, "u1", 0, 0)
	if err != nil || unread != 4 || len(list) != 4 || list[0].ID != "n4" || list[3].ID != "n1" {
		t.Fatalf("list u1: %+v %d %v", list, unread, err)
	}
	if n := list[3]; n.Title != "Hi" || n.TransactionID != "tx1" || n.ActionSlug != "refund" || n.ReadAt != nil || n.Deliveries[0].To != "a@example.com" {
		t.Fatalf("n1 as listed: %+v", n)
	}
	page, unread, err := s.ListNotifications(ctx, "u1", 1, 2)
	if err != nil || unread != 4 || len(page) != 2 || page[0].ID != "n3" || page[1].ID != "n2" {
		t.Fatalf("page: %+v %d %v", page, unread, err)
	}
	if list, unread, err := s.ListNotifications(ctx, "u3", 0, 0); err != nil || unread != 0 || len(list) != 0 {
		t.Fatalf("u3 got the duplicate: %+v %d %v", list, unread, err)
	}

	if err := s.MarkNotificationRead(ctx, "u1", "n1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkNotificationRead(ctx, "u1", "n1", now.Add(time.Hour)); err != nil {
		t.Fatalf("marking twice: %v", err)
	}
	if err := s.MarkNotificationRead(ctx, "u3", "n1", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("someone else's: %v", err)
	}
	if err := s.MarkNotificationRead(ctx, "u1", "nope", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	list, unread, err = s.ListNotifications(ctx, "u1", 0, 0)
	if err != nil || unread != 3 || list[3].ReadAt == nil || !list[3].ReadAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("after read: %+v %d %v", list, unread, err)
	}
	if _, unread, _ := s.ListNotifications(ctx, "u2", 0, 0); unread != 1 {
		t.Fatalf("u2 unread %d: reading is per user", unread)
	}
	if n, err := s.MarkAllNotificationsRead(ctx, "u1", now.Add(2*time.Minute)); err != nil || n != 3 {
		t.Fatalf("mark all: %d %v", n, err)
	}
	if _, unread, _ := s.ListNotifications(ctx, "u1", 0, 0); unread != 0 {
		t.Fatalf("unread after mark all: %d", unread)
	}
	if _, unread, _ := s.ListNotifications(ctx, "u2", 0, 0); unread != 1 {
		t.Fatalf("u2 unread after u1 marked all: %d", unread)
	}

	// What became of deliveries is noted after the fact.
	if err := s.NoteDeliveries(ctx, "n1", map[int]string{0: "not delivered: mail server down", 5: "ignored"}); err != nil {
		t.Fatal(err)
	}
	if list, _, err := s.ListNotifications(ctx, "u2", 0, 0); err != nil || len(list) != 1 ||
		list[0].Deliveries[0].Note != "not delivered: mail server down" || list[0].Deliveries[1].Note != "not delivered" {
		t.Fatalf("noted: %+v %v", list, err)
	}
	if err := s.NoteDeliveries(ctx, "nope", map[int]string{0: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown notification: %v", err)
	}

	// Concurrent sends with one key store one notification.
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := Notification{ID: "c" + string(rune('a'+i)), Env: EnvProduction, IdempotencyKey: "same", Message: "m", CreatedAt: now}
			_, created, err := s.CreateNotification(ctx, n, []string{"u9"})
			if err != nil {
				t.Error(err)
			}
			if created {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if list, _, _ := s.ListNotifications(ctx, "u9", 0, 0); firsts != 1 || len(list) != 1 {
		t.Fatalf("concurrent: %d created, %d listed", firsts, len(list))
	}
}

func TestNotifications(t *testing.T) {
	each(t, func(t *testing.T, open opener) { checkNotifications(t, open(t)) })
}
