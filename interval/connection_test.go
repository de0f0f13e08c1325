package interval_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/faultproxy"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/router"
)

func TestReconnectResendsPendingIOCall(t *testing.T) {
	h := intervaltest.New(t, routes{
		"slow": func(ctx context.Context, tx *interval.Tx) (any, error) {
			n, err := tx.IO.Input.Number("Count").Run(ctx)
			return n * 2, err
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "slow")
	first, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx)
	// Drop once the host has the server's answer, so that the IO call comes
	// again only if the host re-sends it.
	if err := host.WaitAnswered(ctx, "SEND_IO_CALL", 1); err != nil {
		t.Fatal(err)
	}
	host.Drop()
	// The host reconnects with the same instance id, initializes again and
	// re-sends the byte-identical IO call.
	again, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Raw != first.Raw {
		t.Fatalf("resent ioCall differs:\n%s\n%s", again.Raw, first.Raw)
	}
	hosts := h.Hosts()
	if len(hosts) != 2 || hosts[0].InstanceID != hosts[1].InstanceID || hosts[0].WaitClosed(ctx) != nil {
		t.Fatalf("hosts = %d, want the same instance reconnected", len(hosts))
	}
	if err := again.Answer(ctx, intervaltest.Values{"Count": 21}); err != nil {
		t.Fatal(err)
	}
	res, err := run.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Data != float64(42) {
		t.Fatalf("result = %v", res.Data)
	}
}

// TestRefusedResendEndsHandler moves a host, whose handler waits on the
// operator, to a server that does not have its transaction (the server
// behind its address was replaced): that server refuses the IO call the
// host re-sends after reconnecting, and the handler's IO call returns
// ErrRender instead of waiting for an answer that will never come.
func TestRefusedResendEndsHandler(t *testing.T) {
	first, second := intervaltest.NewServer(), intervaltest.NewServer()
	defer first.Close()
	defer second.Close()
	hostport := func(u string) string { return strings.TrimSuffix(strings.TrimPrefix(u, "ws://"), "/websocket") }
	proxy, err := faultproxy.New(hostport(first.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	ended := make(chan error, 1)
	c, err := interval.New(interval.Options{Endpoint: "ws://" + proxy.Addr() + "/websocket", APIKey: "key",
		Logger: slog.New(slog.DiscardHandler), RetryInterval: 50 * time.Millisecond, Routes: routes{
			"wait": func(ctx context.Context, tx *interval.Tx) (any, error) {
				_, err := tx.IO.Input.Text("Name").Run(ctx)
				ended <- err
				return nil, err
			}}})
	if err != nil {
		t.Fatal(err)
	}
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()
	defer func() {
		c.Close()
		if err := <-listened; !errors.Is(err, interval.ErrClosed) {
			t.Errorf("Listen: %v", err)
		}
	}()
	ctx := testCtx(t)
	if _, err := first.WaitHost(ctx); err != nil {
		t.Fatal(err)
	}
	run, err := first.Start(ctx, "wait")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Next(ctx); err != nil {
		t.Fatal(err)
	}
	// Cut once the host has the first server's answer (and a moment to
	// take it), so that the call comes again only as a re-send after the
	// reconnection, not as a call still waiting for its answer.
	h1, err := first.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.WaitAnswered(ctx, "SEND_IO_CALL", 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	proxy.SetTarget(hostport(second.URL))
	proxy.CutAll()
	host, err := second.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := host.WaitAnswered(ctx, "SEND_IO_CALL", 1); err != nil {
		t.Fatalf("the host did not re-send its IO call to the new server: %v", err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, interval.ErrRender) || !strings.Contains(err.Error(), "Transaction not found.") {
			t.Fatalf("the IO call returned %v, want ErrRender with the server's message", err)
		}
	case <-ctx.Done():
		t.Fatal("the handler still waits for an answer after the server refused its IO call")
	}
}

func TestRefusedAPIKeyFailsFast(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	s.APIKey = "right"
	// With a connect timeout longer than the test's context, only a
	// refusal reported as it arrives can make Listen return
	// ErrUnauthorized in time (the Node SDK waits for its timeout).
	c, err := interval.New(interval.Options{Endpoint: s.URL, APIKey: "wrong", Routes: routes{},
		ConnectTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Listen(testCtx(t))
	if !errors.Is(err, interval.ErrUnauthorized) || !strings.Contains(err.Error(), "Invalid API key") {
		t.Fatalf("Listen = %v", err)
	}
	if err := c.Listen(testCtx(t)); !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("Listen after a refusal = %v, want ErrClosed", err)
	}
}

// After a reconnection the host re-sends the transaction's loading state
// (the operator's progress bar comes back) and the handler carries on.
func TestReconnectResendsLoadingState(t *testing.T) {
	release := make(chan struct{})
	h := intervaltest.New(t, routes{
		"copy": func(ctx context.Context, tx *interval.Tx) (any, error) {
			tx.Loading.Start(interval.LoadingState{Label: "Copying", ItemsInQueue: 3})
			tx.Loading.CompleteOne()
			select {
			case <-release:
				return "copied", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "copy")
	if err != nil {
		t.Fatal(err)
	}
	first, again := resentLoading(t, ctx, h, run.NextLoading)
	if first.Label != "Copying" || *first.ItemsCompleted != 1 {
		t.Fatalf("loading state %+v", first)
	}
	if again.Label != "Copying" || *again.ItemsInQueue != 3 || *again.ItemsCompleted != 1 {
		t.Fatalf("re-sent loading state %+v", again)
	}
	close(release)
	if res, err := run.Result(ctx); err != nil || res.Data != "copied" {
		t.Fatalf("result %+v, %v", res, err)
	}
}

// After a reconnection the host re-sends the layout of every open page.
func TestReconnectResendsPage(t *testing.T) {
	r := router.New()
	r.Route("dashboard", func(r router.Router) {
		r.Index(func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
			return &interval.Layout{Title: "Dashboard", Children: []interval.Component{p.Display.Heading("Overview")}}, nil
		})
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	p, err := h.OpenPage(ctx, "dashboard")
	if err != nil || p.Answer.Type != "SUCCESS" {
		t.Fatalf("OPEN_PAGE: %+v %v", p, err)
	}
	first, err := p.Next(ctx)
	if err != nil || first == nil || *first.Title != "Dashboard" {
		t.Fatalf("layout %+v, %v", first, err)
	}
	host, _ := h.WaitHost(ctx)
	if err := host.WaitAnswered(ctx, "SEND_PAGE", 1); err != nil {
		t.Fatal(err)
	}
	host.Drop()
	again, err := p.Next(ctx)
	if err != nil || again == nil {
		t.Fatalf("no layout re-sent: %v", err)
	}
	if *again.Title != "Dashboard" || again.Children.ToRender[0].Label != "Overview" {
		t.Fatalf("re-sent layout %+v", again)
	}
	if len(h.Hosts()) != 2 {
		t.Fatalf("%d host connections, want 2", len(h.Hosts()))
	}
}

// A result produced while the host is disconnected waits for the next
// connection, however long the outage lasts (the server keeps the run and
// resumes it when the host is back): it is not dropped after one response
// timeout.
func TestResultWaitsForReconnection(t *testing.T) {
	release := make(chan struct{})
	h := intervaltest.New(t, routes{"job": func(ctx context.Context, tx *interval.Tx) (any, error) {
		select {
		case <-release:
			return "done", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}, func(o *interval.Options) { o.ResponseTimeout = 100 * time.Millisecond })
	ctx := testCtx(t)
	run, err := h.Start(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx) // Start returned: the host has the run
	h.Refuse(true)
	host.Drop()
	close(release) // the handler returns while the host is disconnected
	// Stay down for many response timeouts and retry intervals.
	for h.Refused() < 20 {
		select {
		case <-ctx.Done():
			t.Fatal("the host stopped trying to reconnect")
		case <-time.After(10 * time.Millisecond):
		}
	}
	h.Refuse(false)
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("result after the outage: %+v, %v", res, err)
	}
}

// resentLoading reads the first loading state with next, drops the host's
// connection once the host has the server's answer to it (so the state
// comes again only if the host re-sends it) and returns the state read
// next, checking that it came over a new connection of the same instance.
func resentLoading(t *testing.T, ctx context.Context, h *intervaltest.Harness, next func(context.Context) (intervaltest.LoadingState, error)) (first, again intervaltest.LoadingState) {
	t.Helper()
	first, err := next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx)
	if err := host.WaitAnswered(ctx, "SEND_LOADING_CALL", 1); err != nil {
		t.Fatal(err)
	}
	host.Drop()
	if again, err = next(ctx); err != nil {
		t.Fatal(err)
	}
	if err := host.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	if now, _ := h.WaitHost(ctx); now == host || now.InstanceID != host.InstanceID {
		t.Fatal("the loading state did not come over a new connection of the same instance")
	}
	return first, again
}

// After a reconnection the host re-sends the loading state of a page whose
// handler is still working, so the operator keeps seeing its progress.
func TestReconnectResendsPageLoading(t *testing.T) {
	release := make(chan struct{})
	r := router.New()
	r.Page("report", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		p.Loading.Start(interval.LoadingState{Label: "Crunching", ItemsInQueue: 4})
		p.Loading.CompleteOne()
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &interval.Layout{Title: "Report"}, nil
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	p, err := h.OpenPage(ctx, "report")
	if err != nil {
		t.Fatal(err)
	}
	first, again := resentLoading(t, ctx, h, p.NextLoading)
	if first.Label != "Crunching" || *first.ItemsCompleted != 1 {
		t.Fatalf("loading state %+v", first)
	}
	if again.Label != "Crunching" || *again.ItemsInQueue != 4 || *again.ItemsCompleted != 1 {
		t.Fatalf("re-sent loading state %+v", again)
	}
	close(release)
	if l, err := p.Next(ctx); err != nil || l == nil || *l.Title != "Report" {
		t.Fatalf("layout %+v, %v", l, err)
	}
}

// A host that reconnects while it drains tells the new connection that it
// is shutting down, so the server sends it no new work.
func TestReconnectDuringShutdownAnnouncesIt(t *testing.T) {
	started, release, returned := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	logs := newLogRecorder()
	h := intervaltest.New(t, blockingRoutes(started, release, returned), withLogger(slog.New(logs)), withLiveKey)
	ctx := testCtx(t)
	run, err := h.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(ctx) }()
	first, _ := h.WaitHost(ctx)
	// Drop the connection once the first BEGIN_HOST_SHUTDOWN has been
	// answered (an unanswered call would simply be sent again).
	if _, err := logs.wait(ctx, 0, "INFO", "shutting down", "running=1"); err != nil {
		t.Fatal(err)
	}
	if !first.IsShuttingDown() {
		t.Fatal("no BEGIN_HOST_SHUTDOWN on the first connection")
	}
	first.Drop()
	if err := first.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := h.WaitHost(ctx)
	if err != nil || second == first {
		t.Fatalf("no new connection: %v", err)
	}
	if err := second.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("result %+v, %v", res, err)
	}
}

// A connection that drops while the host initializes is given up at once,
// and the host connects again, rather than waiting for an answer that
// cannot come (here the response timeout is an hour).
func TestDropDuringInitializeRetriesAtOnce(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	var inits atomic.Int32
	s.OnInitialize = func(h *intervaltest.Host) {
		if inits.Add(1) == 2 {
			h.Drop()
		}
	}
	c, err := interval.New(interval.Options{Endpoint: s.URL, APIKey: "k", Logger: slog.New(slog.DiscardHandler),
		ResponseTimeout: time.Hour, RetryInterval: 10 * time.Millisecond,
		Routes: routes{"ok": func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil }}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(ctx) }()
	defer func() {
		c.Close()
		<-listened
	}()
	first, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.WaitAnswered(ctx, "INITIALIZE_HOST", 1); err != nil {
		t.Fatal(err)
	}
	first.Drop()
	hosts, err := s.WaitHosts(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := hosts[1].WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	third, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if third == first || third == hosts[1] {
		t.Fatal("no third connection")
	}
	if err := third.WaitAnswered(ctx, "INITIALIZE_HOST", 1); err != nil {
		t.Fatal(err)
	}
	run, err := s.Start(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "ok" {
		t.Fatalf("result %+v, %v", res, err)
	}
}

// TestCloseCutsAFrozenConnection: Close closes the client at once, also
// when the network path to the server died without a close: it does not
// wait the 5 s a close waits for the server's close frame.
func TestCloseCutsAFrozenConnection(t *testing.T) {
	c, listened := frozenClient(t)
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case <-closed:
		t.Logf("Close returned after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(4 * time.Second):
		t.Fatalf("Close still waits %v after it began, on a connection that carries nothing (a close waits 5 s for the server's close frame)", time.Since(start).Round(time.Millisecond))
	}
	if err := <-listened; !errors.Is(err, interval.ErrClosed) {
		t.Errorf("Listen: %v", err)
	}
}

// TestShutdownKeepsItsDeadlineOnAFrozenConnection: Shutdown returns once its
// context ends, also when the network path to the server died without a
// close: neither the announcement of the shutdown, which gets no answer,
// nor the close, which the server does not answer, holds it past its
// context (it took 6 s with a context of 1 s).
func TestShutdownKeepsItsDeadlineOnAFrozenConnection(t *testing.T) {
	c, listened := frozenClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err := c.Shutdown(ctx) // nothing runs: nil, once the close is done
	late := time.Since(deadline)
	t.Logf("Shutdown returned %v, %v after its context's deadline", err, late.Round(time.Millisecond))
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	if late > 400*time.Millisecond {
		t.Fatalf("Shutdown returned %v after its context ended; it returns once it ends", late.Round(time.Millisecond))
	}
	if err := <-listened; !errors.Is(err, interval.ErrClosed) {
		t.Errorf("Listen: %v", err)
	}
}

// frozenClient starts a client listening to an intervaltest server through
// a fault proxy, then freezes its connection (the network path died
// without a close). listened gets Listen's error; both the server and
// the proxy close at the test's end.
func frozenClient(t *testing.T) (*interval.Client, chan error) {
	t.Helper()
	srv := intervaltest.NewServer()
	t.Cleanup(srv.Close)
	proxy, err := faultproxy.New(strings.TrimSuffix(strings.TrimPrefix(srv.URL, "ws://"), "/websocket"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	c, err := interval.New(interval.Options{Endpoint: "ws://" + proxy.Addr() + "/websocket", APIKey: "key",
		Logger: slog.New(slog.DiscardHandler), Routes: routes{
			"noop": func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()
	if _, err := srv.WaitHost(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for _, pc := range proxy.Conns() {
		pc.Freeze()
	}
	return c, listened
}
