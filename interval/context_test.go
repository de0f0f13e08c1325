package interval_test

import (
	"context"
	"fmt"
	"math/big"
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

// TestRedirectToURLAndBadRedirects: a redirect to a URL carries replace,
// or the file name to download it as; one with both a route and a URL,
// neither, or a download name without a URL is refused and not sent.
func TestRedirectToURLAndBadRedirects(t *testing.T) {
	errs := make(chan error, 3)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		errs <- tx.Redirect(ctx, interval.Redirect{Route: "a", URL: "https://x"})
		errs <- tx.Redirect(ctx, interval.Redirect{})
		errs <- tx.Redirect(ctx, interval.Redirect{Route: "a", Download: "a.csv"})
		if err := tx.Redirect(ctx, interval.Redirect{URL: "https://example.com/report.csv", Download: "report.csv"}); err != nil {
			return nil, err
		}
		return nil, tx.Redirect(ctx, interval.Redirect{URL: "https://example.com/done", Replace: true})
	})
	for range 3 {
		if err := <-errs; err == nil {
			t.Fatal("a bad redirect was accepted")
		}
	}
	a.result()
	rs := a.run.RedirectsSent()
	if len(rs) != 2 || rs[0].URL != "https://example.com/report.csv" || rs[0].Download != "report.csv" ||
		rs[1].URL != "https://example.com/done" || rs[1].Route != "" || rs[1].Download != "" || rs[1].Replace == nil || !*rs[1].Replace {
		t.Fatalf("redirects %+v", rs)
	}
}

// TestParamsHelpers reads params of every wire type with each typed
// helper: conversions that make sense succeed, the others report false.
func TestParamsHelpers(t *testing.T) {
	when := time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		p := tx.Params
		var out []string
		for _, k := range []string{"s", "n", "f", "b", "d", "big", "sn", "sb", "nil", "missing"} {
			s, sok := p.String(k)
			i, iok := p.Int(k)
			f, fok := p.Float(k)
			b, bok := p.Bool(k)
			tm, tok := p.Time(k)
			out = append(out, fmt.Sprintf("%s:%q/%v %d/%v %v/%v %v/%v %v/%v", k, s, sok, i, iok, f, fok, b, bok, tm.Unix(), tok))
		}
		return out, nil
	}, intervaltest.WithParams(map[string]any{"s": "hello", "n": 42, "f": 2.5, "b": true, "d": when,
		"big": bigOf("12345678901234567"), "sn": "17", "sb": "false", "nil": nil}))
	res := a.result()
	got := fmt.Sprint(res.Data)
	want := fmt.Sprint([]string{
		`s:"hello"/true 0/false 0/false false/false -62135596800/false`,
		`n:"42"/true 42/true 42/true false/false -62135596800/false`,
		`f:"2.5"/true 0/false 2.5/true false/false -62135596800/false`,
		`b:"true"/true 0/false 0/false true/true -62135596800/false`,
		fmt.Sprintf(`d:"2024-03-09T12:00:00Z"/true 0/false 0/false false/false %d/true`, when.Unix()),
		`big:"12345678901234567"/true 12345678901234567/true 0/false false/false -62135596800/false`,
		`sn:"17"/true 17/true 17/true false/false -62135596800/false`,
		`sb:"false"/true 0/false 0/false false/true -62135596800/false`,
		`nil:""/false 0/false 0/false false/false -62135596800/false`,
		`missing:""/false 0/false 0/false false/false -62135596800/false`,
	})
	if got != want {
		t.Fatalf("params\n got %s\nwant %s", got, want)
	}
}

func bigOf(s string) *big.Int {
	b, _ := new(big.Int).SetString(s, 10)
	return b
}
