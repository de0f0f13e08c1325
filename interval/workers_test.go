package interval_test

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// goroutineID is the id of the calling goroutine, from its stack header
// ("goroutine 42 [running]:").
func goroutineID() int {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.Atoi(string(b[:bytes.IndexByte(b, ' ')]))
	return id
}

// runText runs one transaction of an action that asks for one text.
func runText(ctx context.Context, t *testing.T, h *intervaltest.Harness, slug string) {
	t.Helper()
	run, err := h.Start(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	r, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Answer(ctx, intervaltest.Values{"x": "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := run.Result(ctx); err != nil {
		t.Fatal(err)
	}
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestTransactionsReuseWorkers: transactions one after the other run on
// the same goroutine, whose stack has grown already, rather than each on a
// new one.
func TestTransactionsReuseWorkers(t *testing.T) {
	var mu sync.Mutex
	var ids []int
	h := intervaltest.New(t, routes{
		"text": func(ctx context.Context, tx *interval.Tx) (any, error) {
			mu.Lock()
			ids = append(ids, goroutineID())
			mu.Unlock()
			_, err := tx.IO.Input.Text("x").Run(ctx)
			return "ok", err
		},
	})
	ctx := testCtx(t)
	for range 3 {
		runText(ctx, t, h, "text")
		waitIdleWorkers(ctx, t, h.Client, 1)
	}
	mu.Lock()
	defer mu.Unlock()
	if ids[0] == 0 || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Errorf("transactions ran on goroutines %v, want one worker", ids)
	}
}

// waitIdleWorkers waits until n workers are idle.
func waitIdleWorkers(ctx context.Context, t *testing.T, c *interval.Client, n int) {
	t.Helper()
	for c.IdleWorkers() != n {
		if ctx.Err() != nil {
			t.Fatalf("%d idle workers, want %d", c.IdleWorkers(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIdleWorkersEnd: an idle worker ends after idleWorkerTimeout, and no
// more than MaxIdleWorkers wait; the next transaction starts a new one.
// (Those still idle end with the client: goleak checks it at the end.)
func TestIdleWorkersEnd(t *testing.T) {
	defer interval.SetIdleWorkerTimeout(300 * time.Millisecond)()
	release := make(chan struct{})
	var mu sync.Mutex
	var ids []int
	h := intervaltest.New(t, routes{
		"text": func(ctx context.Context, tx *interval.Tx) (any, error) {
			mu.Lock()
			ids = append(ids, goroutineID())
			mu.Unlock()
			_, err := tx.IO.Input.Text("x").Run(ctx)
			return "ok", err
		},
		"hold": func(ctx context.Context, tx *interval.Tx) (any, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return "ok", nil
		},
	})
	ctx := testCtx(t)
	runText(ctx, t, h, "text")
	waitIdleWorkers(ctx, t, h.Client, 1) // idle once its transaction has returned
	waitIdleWorkers(ctx, t, h.Client, 0) // ended after the timeout
	runText(ctx, t, h, "text")
	mu.Lock()
	if ids[1] == ids[0] {
		t.Errorf("a worker idle past the timeout ran the next transaction (goroutine %d)", ids[0])
	}
	mu.Unlock()

	// More transactions at once than workers may wait idle.
	var runs []*intervaltest.Transaction
	for range interval.MaxIdleWorkers + 6 {
		run, err := h.Start(ctx, "hold")
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	restore := interval.SetIdleWorkerTimeout(time.Minute)
	defer restore()
	close(release)
	for _, run := range runs {
		if _, err := run.Result(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitIdleWorkers(ctx, t, h.Client, interval.MaxIdleWorkers)
	time.Sleep(20 * time.Millisecond)
	if n := h.Client.IdleWorkers(); n > interval.MaxIdleWorkers {
		t.Errorf("%d idle workers, want at most %d", n, interval.MaxIdleWorkers)
	}
}

// raceBuild is set in race builds (race_test.go), whose stacks differ.
var raceBuild bool

// TestWaitingTransactionKeepsSmallStack: a transaction waiting on the
// operator after a render, on a worker, holds a 4 KiB stack once the
// collector has run, as it did on a goroutine of its own (8 KiB if the
// worker's frames under the handler were deeper).
func TestWaitingTransactionKeepsSmallStack(t *testing.T) {
	if raceBuild {
		t.Skip("the race detector changes stack sizes")
	}
	const n = 200
	h := intervaltest.New(t, routes{
		"text": func(ctx context.Context, tx *interval.Tx) (any, error) {
			_, err := tx.IO.Input.Text("x").Run(ctx)
			return "ok", err
		},
	})
	ctx := testCtx(t)
	stacks := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.StackInuse
	}
	before := stacks()
	for range n {
		run, err := h.Start(ctx, "text")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := run.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	per := (float64(stacks()) - float64(before)) / n
	if per > 6<<10 {
		t.Errorf("%.0f bytes of stack per waiting transaction, want about 4 KiB", per)
	}
}
