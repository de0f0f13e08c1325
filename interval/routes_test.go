package interval_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/router"
)

func slugs(in protocol.InitializeHostInputs) []string {
	var out []string
	for _, a := range in.Actions {
		out = append(out, a.FullSlug())
	}
	return out
}

// Routes added and removed while listening re-initialize the host, batched
// into one INITIALIZE_HOST per ReinitializeBatchTimeout.
func TestRoutesChangedWhileListening(t *testing.T) {
	ok := func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil }
	r := router.New()
	r.Action("first", ok)
	// A batch window far longer than the three changes below take, so
	// that they land in one window even on a loaded machine.
	h := intervaltest.New(t, r, func(o *interval.Options) { o.ReinitializeBatchTimeout = time.Second })
	ctx := testCtx(t)
	host, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := host.Initializations(); n != 1 {
		t.Fatalf("%d initializations before changes", n)
	}
	r.Action("second", ok)
	r.Route("billing", func(r router.Router) { r.Action("refund", ok) })
	r.Remove("first")
	err = host.WaitDefinitions(ctx, func(in protocol.InitializeHostInputs) bool {
		s := slugs(in)
		return slices.Contains(s, "second") && slices.Contains(s, "billing/refund") && !slices.Contains(s, "first")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := host.Initializations(); n != 2 {
		t.Fatalf("%d initializations, want the changes batched into one", n)
	}
	run, _ := h.Start(ctx, "billing/refund")
	if res, err := run.Result(ctx); err != nil || res.Data != "ok" {
		t.Fatalf("new route: %+v %v", res, err)
	}
}

// The server's team check is backed by middleware on the host: a denied
// operator gets a FAILURE with a clear message and the handler never runs.
func TestRequireTeamsDenied(t *testing.T) {
	var ran atomic.Bool
	r := router.New()
	r.With(middleware.RequireTeams("support")).Action("refund", func(ctx context.Context, tx *interval.Tx) (any, error) {
		ran.Store(true)
		return nil, nil
	}, router.Teams("support"))
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	if d := h.Client; d == nil {
		t.Fatal("no client")
	}
	host, _ := h.WaitHost(ctx)
	if a := host.Definitions().Actions[0]; a.Access == nil || !slices.Equal(a.Access.Teams, []string{"support"}) {
		t.Fatalf("access not declared: %+v", a)
	}
	run, _ := h.Start(ctx, "refund", intervaltest.As(intervaltest.User{Email: "bob@example.com", Role: "member", Teams: []string{"sales"}}))
	res, err := run.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "FAILURE" || res.Message != `access denied: requires team "support"` || ran.Load() {
		t.Fatalf("result %+v, handler ran: %v", res, ran.Load())
	}
	run2, _ := h.Start(ctx, "refund", intervaltest.As(intervaltest.User{Email: "sue@example.com", Role: "member", Teams: []string{"support"}}))
	if res, err := run2.Result(ctx); err != nil || res.Status != "SUCCESS" || !ran.Load() {
		t.Fatalf("allowed user: %+v %v", res, err)
	}
}

// A route added while the connection is down is declared on the next
// connection.
func TestRouteAddedWhileDisconnected(t *testing.T) {
	ok := func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil }
	r := router.New()
	r.Action("first", ok)
	h := intervaltest.New(t, r, func(o *interval.Options) { o.ReinitializeBatchTimeout = time.Millisecond })
	ctx := testCtx(t)
	host, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host.Drop()
	r.Action("late", ok)
	if err := host.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.WaitDefinitions(ctx, func(in intervaltest.Definitions) bool { return slices.Contains(slugs(in), "late") }); err != nil {
		t.Fatal(err)
	}
	run, _ := h.Start(ctx, "late")
	if res, err := run.Result(ctx); err != nil || res.Data != "ok" {
		t.Fatalf("late route: %+v %v", res, err)
	}
}
