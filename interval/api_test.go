package interval_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// TestClientNotifyOutsideTransaction: Client.Notify posts to /api/notify
// with the bearer key, no transaction id, the title and every delivery; a
// notification without a message is refused before anything is sent.
func TestClientNotifyOutsideTransaction(t *testing.T) {
	h := intervaltest.New(t, routes{"a": func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, nil }})
	ctx := testCtx(t)
	if _, err := h.WaitHost(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Client.Notify(ctx, interval.Notification{Title: "Nightly"}); err == nil {
		t.Fatal("a notification without a message was accepted")
	}
	err := h.Client.Notify(ctx, interval.Notification{Message: "Backup done", Title: "Nightly", IdempotencyKey: "backup-1",
		Deliveries: []interval.Delivery{{To: "#ops", Method: "SLACK"}, {To: "ada@example.com", Method: "EMAIL"}}})
	if err != nil {
		t.Fatal(err)
	}
	ns := h.Notifications()
	if len(ns) != 1 {
		t.Fatalf("%d notifications sent", len(ns))
	}
	n := ns[0]
	if n.TransactionID != "" || n.Message != "Backup done" || n.Title != "Nightly" || n.IdempotencyKey != "backup-1" || n.APIKey != "test_key" ||
		len(n.DeliveryInstructions) != 2 || n.DeliveryInstructions[0].Method != "SLACK" || n.DeliveryInstructions[1].To != "ada@example.com" {
		t.Fatalf("notification %+v", n)
	}
	if _, err := time.Parse(time.RFC3339, n.CreatedAt); err != nil {
		t.Fatalf("createdAt %q: %v", n.CreatedAt, err)
	}
}

func TestNotifyEnqueueDequeue(t *testing.T) {
	h := intervaltest.New(t, routes{
		"notify": func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.Notify(ctx, interval.Notification{Message: "Refund done", Title: "Refunds",
				Deliveries: []interval.Delivery{{To: "ops@example.com", Method: "EMAIL"}}})
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "notify")
	if res, err := run.Result(ctx); err != nil || res.Status != "SUCCESS" {
		t.Fatalf("result %+v %v", res, err)
	}
	ns := h.Notifications()
	if len(ns) != 1 || ns[0].TransactionID != run.ID || ns[0].APIKey != "test_key" || ns[0].DeliveryInstructions[0].To != "ops@example.com" {
		t.Fatalf("notifications = %+v", ns)
	}
	when := time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)
	id, err := h.Client.Enqueue(ctx, "notify", "bob@example.com", map[string]any{"since": when, "n": 3})
	if err != nil || id == "" {
		t.Fatalf("enqueue = %q, %v", id, err)
	}
	q, err := h.Client.Dequeue(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := q.Params.Time("since"); !got.Equal(when) || q.Assignee != "bob@example.com" {
		t.Fatalf("dequeued = %+v", q)
	}
	if n, _ := q.Params.Int("n"); n != 3 {
		t.Fatalf("n = %v", q.Params["n"])
	}
	if _, err := h.Client.Dequeue(ctx, id); !errors.Is(err, interval.ErrAPI) {
		t.Fatalf("second dequeue = %v, want ErrAPI", err)
	}
	if err := h.Client.Ping(ctx); err != nil {
		t.Fatalf("ping = %v", err)
	}
}
