package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start serves the example's routes against a test server and returns the
// server, the signal channel and serve's result.
func start(t *testing.T, step, drain time.Duration) (*intervaltest.Server, chan os.Signal, <-chan error) {
	t.Helper()
	s := intervaltest.NewServer()
	t.Cleanup(s.Close)
	log := slog.New(slog.DiscardHandler)
	c, err := interval.New(interval.Options{Endpoint: s.URL, APIKey: "test_key", Routes: routes(log, step), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sig := make(chan os.Signal, 2)
	served := make(chan error, 1)
	go func() { served <- serve(c, sig, drain, log) }()
	return s, sig, served
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// SIGTERM during a job: the host stops taking work, the job finishes and
// reports its result, then the host exits cleanly.
func TestSignalDrainsRunningJob(t *testing.T) {
	s, sig, served := start(t, 5*time.Millisecond, time.Minute)
	ctx := testCtx(t)
	run, err := s.Start(ctx, "long_job")
	if err != nil {
		t.Fatal(err)
	}
	form, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := form.Answer(ctx, intervaltest.Values{"How many steps?": 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := run.NextLoading(ctx); err != nil { // the job is running
		t.Fatal(err)
	}
	sig <- syscall.SIGTERM
	host, _ := s.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := run.Result(ctx)
	if err != nil || res.Status != "SUCCESS" || res.Data != float64(20) {
		t.Fatalf("drained job: %+v, %v", res, err)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve = %v", err)
	}
}

// A job waiting on an operator past the drain timeout is cancelled (the
// server is told it failed) and the host closes; a second signal closes at
// once (nothing more is sent).
func TestDrainTimeoutAndSecondSignalClose(t *testing.T) {
	for _, c := range []struct {
		name    string
		drain   time.Duration
		signals int
		results int
	}{
		{"timeout", 20 * time.Millisecond, 1, 1},
		{"second signal", time.Hour, 2, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, sig, served := start(t, time.Hour, c.drain)
			ctx := testCtx(t)
			run, err := s.Start(ctx, "long_job")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := run.Next(ctx); err != nil { // waits on the operator
				t.Fatal(err)
			}
			host, err := s.WaitHost(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sig <- os.Interrupt
			if err := host.WaitShuttingDown(ctx); err != nil {
				t.Fatal(err)
			}
			if c.signals == 2 {
				sig <- os.Interrupt
			}
			if err := <-served; err != nil {
				t.Fatalf("serve = %v", err)
			}
			if n := run.Completions(); n != c.results {
				t.Fatalf("%d results reported, want %d", n, c.results)
			}
			if c.results == 1 {
				if res, err := run.Result(ctx); err != nil || res.Status != "FAILURE" {
					t.Fatalf("cancelled job: %+v, %v", res, err)
				}
			}
		})
	}
}

// A refused key ends serve with the error, before any signal.
func TestRefusedKey(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	s.APIKey = "other"
	log := slog.New(slog.DiscardHandler)
	c, err := interval.New(interval.Options{Endpoint: s.URL, APIKey: "test_key", Routes: routes(log, time.Second), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := serve(c, make(chan os.Signal), time.Second, log); !errors.Is(err, interval.ErrUnauthorized) {
		t.Fatalf("serve = %v, want ErrUnauthorized", err)
	}
}
