package intervaltest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/router"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The flow of ExampleNew, run: a user's unit test of an action.
func TestHarnessAsUsersTestIt(t *testing.T) {
	h := intervaltest.New(t, refundRoutes())
	ctx := testCtx(t)
	host, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d intervaltest.Definitions = host.Definitions()
	if len(d.Actions) != 1 || d.Actions[0].Slug != "refund" {
		t.Fatalf("declared %+v", d.Actions)
	}
	run, err := h.Start(ctx, "refund", intervaltest.As(intervaltest.User{Email: "sue@example.com", Role: "member"}))
	if err != nil {
		t.Fatal(err)
	}
	form, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := form.Answer(ctx, intervaltest.Values{"Amount": 500}); err != nil {
		t.Fatal(err)
	}
	again, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var c intervaltest.ComponentRender
	c, _ = again.Component("Amount")
	if c.ValidationErrorMessage == "" {
		t.Fatal("an amount over the maximum was accepted")
	}
	if err := again.Answer(ctx, intervaltest.Values{"Nope": 1}); err == nil {
		t.Fatal("answering a label the render does not have should fail")
	}
	if err := again.Answer(ctx, intervaltest.Values{"Amount": 12}); err != nil {
		t.Fatal(err)
	}
	res, err := run.Result(ctx)
	if err != nil || res.Status != "SUCCESS" || res.Data != "refunded $12.00 for sue@example.com" {
		t.Fatalf("result %+v, %v", res, err)
	}
}

// NextLoading sees each coalesced loading state; WaitClosed and
// WaitShuttingDown follow the host's socket.
func TestHarnessLoadingAndHostState(t *testing.T) {
	step := make(chan struct{})
	r := router.New()
	r.Action("job", func(ctx context.Context, tx *interval.Tx) (any, error) {
		tx.Loading.Start(interval.LoadingState{Label: "Copying", ItemsInQueue: 2})
		<-step
		tx.Loading.CompleteOne()
		<-step
		return nil, nil
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	run, err := h.Start(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	var l intervaltest.LoadingState
	if l, err = run.NextLoading(ctx); err != nil || l.Label != "Copying" || *l.ItemsCompleted != 0 {
		t.Fatalf("first loading state %+v, %v", l, err)
	}
	step <- struct{}{}
	if l, err = run.NextLoading(ctx); err != nil || *l.ItemsCompleted != 1 {
		t.Fatalf("second loading state %+v, %v", l, err)
	}
	step <- struct{}{}
	if _, err := run.Result(ctx); err != nil {
		t.Fatal(err)
	}

	host, _ := h.WaitHost(ctx)
	if host.IsShuttingDown() || host.IsClosed() {
		t.Fatal("fresh host shutting down or closed")
	}
	// The operator leaves the result: with a development key (this
	// server's default), Shutdown waits for that.
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Client.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := host.WaitClosed(ctx); err != nil || !host.IsClosed() {
		t.Fatalf("host not closed after Shutdown: %v", err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}

// A wait that cannot be satisfied ends with the context and says what it
// waited for.
func TestWaitEndsWithContext(t *testing.T) {
	h := intervaltest.New(t, refundRoutes())
	run, err := h.Start(testCtx(t), "refund")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Next(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = run.Result(ctx)
	if !errors.Is(err, intervaltest.ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Result on an ended context = %v", err)
	}
	if _, err := h.Start(ctx, "refund"); err == nil {
		t.Fatal("Start on an ended context succeeded")
	}
	if rs := run.Renders(); len(rs) != 1 || !slices.Equal(rs[0].Labels(), []string{"Amount"}) {
		t.Fatalf("renders %+v", rs)
	}
}
