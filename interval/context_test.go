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

func bigOf(s string) *big.Int {
	b, _ := new(big.Int).SetString(s, 10)
	return b
}

func TestLogLoadingRedirect(t *testing.T) {
	h := intervaltest.New(t, routes{
		"job": func(ctx context.Context, tx *interval.Tx) (any, error) {
			if err := tx.Log(ctx, "Starting job", map[string]int{"step": 1}); err != nil {
				return nil, err
			}
			tx.Loading.Start(interval.LoadingState{Label: "Migrating", ItemsInQueue: 3})
			for range 3 {
				tx.Loading.CompleteOne()
			}
			return nil, tx.Redirect(ctx, interval.Redirect{Route: "other", Params: map[string]any{"id": 5}})
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "job")
	if _, err := run.Result(ctx); err != nil {
		t.Fatal(err)
	}
	if logs := run.LogLines(); len(logs) != 1 || logs[0] != "Starting job {\n  \"step\": 1\n}" {
		t.Fatalf("logs = %q", logs)
	}
	ls := run.LoadingStates()
	if len(ls) == 0 {
		t.Fatal("no loading state sent")
	}
	last := ls[len(ls)-1]
	if last.Label != "Migrating" || *last.ItemsInQueue != 3 || *last.ItemsCompleted != 3 {
		t.Fatalf("loading = %+v", last)
	}
	if len(ls) != 1 {
		t.Fatalf("%d loading sends, want them coalesced", len(ls))
	}
	rs := run.RedirectsSent()
	if len(rs) != 1 || rs[0].Route != "other" || rs[0].Params["id"] != float64(5) {
		t.Fatalf("redirects = %+v", rs)
	}
}

// TestLoadingShownWhileUpdatedOften: an action that updates its progress
// more often than the loading buffer (every 20 ms here, the buffer being
// 100 ms) has its progress shown as it goes, at most once a buffer: each
// update postponed the send by a whole buffer, so none went out until the
// updates stopped, and the operator saw nothing move.
func TestLoadingShownWhileUpdatedOften(t *testing.T) {
	release := make(chan struct{})
	h := intervaltest.New(t, routes{
		"busy": func(ctx context.Context, tx *interval.Tx) (any, error) {
			tk := time.NewTicker(20 * time.Millisecond)
			defer tk.Stop()
			for i := 0; ; i++ {
				select {
				case <-release:
					return "done", nil
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-tk.C:
					tx.Loading.Update(interval.LoadingState{Label: fmt.Sprintf("step %d", i)})
				}
			}
		},
	})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	// Three states while the action still updates (it updates 50 times a
	// second, so a sent state shows progress, not the last one).
	for i := 0; i < 3; i++ {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ls, err := run.NextLoading(lctx)
		cancel()
		if err != nil {
			t.Fatalf("loading state %d while the action updates every 20 ms: %v", i+1, err)
		}
		t.Logf("shown: %s", ls.Label)
	}
	close(release)
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("result %+v, %v", res, err)
	}
}
