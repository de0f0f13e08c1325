package interval_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// stubbornRoutes serves "stubborn", whose handler ignores its context: it
// reports that it started and returns only when release is closed.
func stubbornRoutes(started chan<- struct{}, release <-chan struct{}, returned chan<- struct{}) routes {
	return routes{"stubborn": func(ctx context.Context, tx *interval.Tx) (any, error) {
		started <- struct{}{}
		<-release
		returned <- struct{}{}
		return "late", nil
	}}
}

// waitErr waits for an error from ch, failing the test if ctx ends first
// (the call that should have returned is stuck).
func waitErr(t *testing.T, ctx context.Context, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		t.Fatalf("%s did not return", what)
		return nil
	}
}

// Shutdown returns its context's error as soon as the context ends, like
// http.Server.Shutdown, even while a handler ignores its own context; a
// second Shutdown then returns at its context's end too, and Close closes
// at once: Listen returns ErrClosed while the handler still runs, and
// nothing the handler does afterwards reaches the server.
func TestShutdownReturnsAtContextEndWhileHandlerIgnoresIt(t *testing.T) {
	started, release, returned := make(chan struct{}, 1), make(chan struct{}), make(chan struct{}, 1)
	h := intervaltest.New(t, stubbornRoutes(started, release, returned), withLiveKey)
	ctx := testCtx(t)
	run, err := h.Start(ctx, "stubborn")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	defer func() {
		close(release)
		<-returned
	}()

	sctx, cancel := context.WithCancel(ctx)
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(sctx) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := waitErr(t, ctx, "Shutdown", shut); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}

	expired, cancel2 := context.WithCancel(ctx)
	cancel2()
	go func() { shut <- h.Client.Shutdown(expired) }()
	if err := waitErr(t, ctx, "a second Shutdown", shut); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Shutdown = %v, want context.Canceled", err)
	}

	closed := make(chan error, 1)
	go func() { closed <- h.Client.Close() }()
	if err := waitErr(t, ctx, "Close", closed); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
	if err := host.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	if n := run.Completions(); n != 0 {
		t.Fatalf("%d results reached the server from a closed client", n)
	}
}

// Close closes at once while a handler ignores its context: it does not
// wait for the handler, and Listen returns ErrClosed.
func TestCloseReturnsWhileHandlerIgnoresContext(t *testing.T) {
	started, release, returned := make(chan struct{}, 1), make(chan struct{}), make(chan struct{}, 1)
	h := intervaltest.New(t, stubbornRoutes(started, release, returned))
	ctx := testCtx(t)
	if _, err := h.Start(ctx, "stubborn"); err != nil {
		t.Fatal(err)
	}
	<-started
	defer func() {
		close(release)
		<-returned
	}()
	closed := make(chan error, 1)
	go func() { closed <- h.Client.Close() }()
	if err := waitErr(t, ctx, "Close", closed); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}

// listenOn connects a client with opts to s through Listen(lctx), waits
// until the host initialized, and returns the channel Listen's error
// arrives on (kept there for the test's cleanup, which closes the client).
func listenOn(t *testing.T, ctx, lctx context.Context, s *intervaltest.Server, opts interval.Options) <-chan error {
	t.Helper()
	opts.Endpoint = s.URL
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := interval.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	listened := make(chan error, 1)
	go func() {
		err := c.Listen(lctx)
		listened <- err
		done <- err
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	host, err := s.WaitHost(ctx)
	if err == nil {
		err = host.WaitAnswered(ctx, "INITIALIZE_HOST", 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	return listened
}

// The end of Listen's context (a signal, with signal.NotifyContext) drains
// the host: BEGIN_HOST_SHUTDOWN, no new transactions, the running one
// finishes and its result reaches the server; then Listen returns
// ErrClosed.
func TestListenContextEndDrains(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	started, release, returned := make(chan struct{}, 2), make(chan struct{}), make(chan error, 2)
	ctx := testCtx(t)
	sig, signal := context.WithCancel(ctx)
	listened := listenOn(t, ctx, sig, s, interval.Options{APIKey: "live_key", Routes: blockingRoutes(started, release, returned)})
	run, err := s.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	signal()
	host, _ := s.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	late, err := s.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if res, err := run.Result(ctx); err != nil || res.Status != "SUCCESS" || res.Data != "done" {
		t.Fatalf("drained transaction's result: %+v, %v", res, err)
	}
	if err := waitErr(t, ctx, "Listen", listened); !errors.Is(err, interval.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
	if err := <-returned; err != nil {
		t.Fatalf("handler ended with %v, want it to finish", err)
	}
	if late.Completions() != 0 || len(started) != 0 {
		t.Fatal("a transaction started during the drain ran")
	}
}

// The drain Listen starts is bounded by ShutdownTimeout: a transaction
// waiting on an operator is cancelled, and Listen returns an error that is
// ErrClosed and context.DeadlineExceeded.
func TestListenDrainBoundedByShutdownTimeout(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	canceled := make(chan error, 1)
	ctx := testCtx(t)
	sig, signal := context.WithCancel(ctx)
	listened := listenOn(t, ctx, sig, s, interval.Options{APIKey: "live_key", ShutdownTimeout: 100 * time.Millisecond,
		Routes: routes{"ask": func(ctx context.Context, tx *interval.Tx) (any, error) {
			_, err := tx.IO.Input.Text("Waiting for a person").Run(ctx)
			canceled <- err
			return nil, err
		}}})
	run, err := s.Start(ctx, "ask")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Next(ctx); err != nil {
		t.Fatal(err)
	}
	signal()
	err = waitErr(t, ctx, "Listen", listened)
	if !errors.Is(err, interval.ErrClosed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Listen = %v, want ErrClosed and DeadlineExceeded", err)
	}
	if err := <-canceled; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("handler saw %v, want ErrClosed", err)
	}
}

// With a development key, a shutdown keeps the connection after the last
// handler returned until the server has closed the finished transaction
// (the operator left it): Interval's server deletes a development host's
// transactions when it disconnects, results included. With a live key it
// closes as soon as the result is delivered.
func TestShutdownWaitsForOperatorOnlyInDevelopment(t *testing.T) {
	for _, c := range []struct {
		name string
		key  string
		wait bool
	}{
		{"development", "dev_key", true},
		{"production", "live_key", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			started, release, returned := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
			logs := newLogRecorder()
			h := intervaltest.New(t, blockingRoutes(started, release, returned), withLogger(slog.New(logs)),
				func(o *interval.Options) { o.APIKey = c.key })
			ctx := testCtx(t)
			run, err := h.Start(ctx, "block")
			if err != nil {
				t.Fatal(err)
			}
			<-started
			shut := make(chan error, 1)
			go func() { shut <- h.Client.Shutdown(ctx) }()
			host, _ := h.WaitHost(ctx)
			if err := host.WaitShuttingDown(ctx); err != nil {
				t.Fatal(err)
			}
			close(release)
			if res, err := run.Result(ctx); err != nil || res.Data != "done" {
				t.Fatalf("result %+v, %v", res, err)
			}
			if c.wait {
				if _, err := logs.wait(ctx, 0, "INFO", "until the operator leaves the finished transactions", "open=1"); err != nil {
					t.Fatal(err)
				}
				if host.IsClosed() {
					t.Fatal("the host disconnected before the server closed its finished transaction")
				}
				if err := run.Close(ctx); err != nil { // the operator leaves
					t.Fatalf("CLOSE_TRANSACTION: %v", err)
				}
			}
			if err := waitErr(t, ctx, "Shutdown", shut); err != nil {
				t.Fatalf("Shutdown = %v", err)
			}
			if err := host.WaitClosed(ctx); err != nil {
				t.Fatal(err)
			}
			if _, lingered := logs.find(0, "until the operator leaves"); lingered != c.wait {
				t.Fatalf("waited for the operator: %v, want %v", lingered, c.wait)
			}
		})
	}
}

// A development host whose shutdown context ends while the operator still
// looks at a finished transaction closes, and Shutdown returns nil: every
// result was delivered.
func TestDevelopmentLingerEndsWithContext(t *testing.T) {
	logs := newLogRecorder()
	h := intervaltest.New(t, routes{"quick": func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil }},
		withLogger(slog.New(logs)))
	ctx := testCtx(t)
	run, err := h.Start(ctx, "quick")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "ok" {
		t.Fatalf("result %+v, %v", res, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(sctx) }()
	if _, err := logs.wait(ctx, 0, "INFO", "until the operator leaves the finished transactions"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := waitErr(t, ctx, "Shutdown", shut); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}

func TestShutdownDrainsAndRefusesNew(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	h := intervaltest.New(t, routes{
		"work": func(ctx context.Context, tx *interval.Tx) (any, error) {
			started <- struct{}{}
			select {
			case <-release:
				return "done", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	}, withLiveKey)
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "work")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(ctx) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	// A start during shutdown is not run.
	late, err := h.Start(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("running transaction did not finish: %+v %v", res, err)
	}
	if late.Completions() != 0 || len(started) != 0 {
		t.Fatal("a transaction started during shutdown ran")
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen returned %v, want ErrClosed", err)
	}
	if err := h.Client.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
}

func TestShutdownDeadlineCancelsHandlers(t *testing.T) {
	canceled := make(chan error, 1)
	h := intervaltest.New(t, routes{
		"stuck": func(ctx context.Context, tx *interval.Tx) (any, error) {
			_, err := tx.IO.Input.Text("Waiting for a person").Run(ctx)
			canceled <- err
			return nil, err
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "stuck")
	if _, err := run.Next(ctx); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := h.Client.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := <-canceled; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("handler saw %v, want ErrClosed", err)
	}
	// The cancelled handler finishes in the background and still reports
	// its failure; then the client closes by itself.
	if res, err := run.Result(ctx); err != nil || res.Status != "FAILURE" {
		t.Fatalf("cancelled transaction's result: %+v, %v", res, err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}

// Listen after Shutdown or Close returns ErrClosed at once, without
// dialing.
func TestListenAfterCloseReturnsErrClosed(t *testing.T) {
	ctx := testCtx(t)
	for _, stop := range []struct {
		name string
		f    func(*interval.Client) error
	}{
		{"Close", (*interval.Client).Close},
		{"Shutdown", func(c *interval.Client) error { return c.Shutdown(ctx) }},
	} {
		t.Run(stop.name, func(t *testing.T) {
			// Nothing listens on this endpoint: a dial would fail
			// with a connection error, not ErrClosed.
			c, err := interval.New(interval.Options{APIKey: "k", Endpoint: "ws://127.0.0.1:1/websocket", Routes: routes{},
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if err := stop.f(c); err != nil {
				t.Fatalf("%s = %v", stop.name, err)
			}
			if err := c.Listen(ctx); !errors.Is(err, interval.ErrClosed) {
				t.Fatalf("Listen = %v, want ErrClosed", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// blockingRoutes serves "block", whose handler reports that it started and
// returns when release is closed or its context ends (then with the cause).
func blockingRoutes(started chan<- struct{}, release <-chan struct{}, returned chan<- error) routes {
	return routes{"block": func(ctx context.Context, tx *interval.Tx) (any, error) {
		started <- struct{}{}
		select {
		case <-release:
			returned <- nil
			return "done", nil
		case <-ctx.Done():
			err := context.Cause(ctx)
			returned <- err
			return nil, err
		}
	}}
}

// Shutdown called twice at once: both wait for the running transaction,
// which finishes; then every further Shutdown and Close returns nil.
func TestShutdownTwiceConcurrently(t *testing.T) {
	started, release, returned := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	h := intervaltest.New(t, blockingRoutes(started, release, returned), withLiveKey)
	ctx := testCtx(t)
	run, err := h.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	shut := make(chan error, 2)
	go func() { shut <- h.Client.Shutdown(ctx) }()
	go func() { shut <- h.Client.Shutdown(ctx) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-shut:
		t.Fatalf("a Shutdown returned %v while a transaction runs", err)
	default:
	}
	close(release)
	for range 2 {
		if err := <-shut; err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
	}
	if err := <-returned; err != nil {
		t.Fatalf("handler ended with %v, want it to finish", err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("result %+v, %v", res, err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
	if err := h.Client.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Client.Close(); err != nil {
		t.Fatal(err)
	}
}

// A second Shutdown whose context ends first cancels the running handlers
// too, and returns its context's error.
func TestSecondShutdownDeadlineCancels(t *testing.T) {
	started, returned := make(chan struct{}, 1), make(chan error, 1)
	h := intervaltest.New(t, blockingRoutes(started, nil, returned))
	ctx := testCtx(t)
	if _, err := h.Start(ctx, "block"); err != nil {
		t.Fatal(err)
	}
	<-started
	first := make(chan error, 1)
	go func() { first <- h.Client.Shutdown(context.Background()) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.Client.Shutdown(expired); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Shutdown = %v, want context.Canceled", err)
	}
	if err := <-returned; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("handler ended with %v, want ErrClosed", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("first Shutdown = %v", err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}

// Close during a Shutdown that drains ends it at once: the handler is
// cancelled and both return.
func TestCloseDuringShutdown(t *testing.T) {
	started, returned := make(chan struct{}, 1), make(chan error, 1)
	h := intervaltest.New(t, blockingRoutes(started, nil, returned))
	ctx := testCtx(t)
	if _, err := h.Start(ctx, "block"); err != nil {
		t.Fatal(err)
	}
	<-started
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(context.Background()) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 2)
	go func() { closed <- h.Client.Close() }()
	go func() { closed <- h.Client.Close() }()
	for range 2 {
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-returned; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("handler ended with %v, want ErrClosed", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}
