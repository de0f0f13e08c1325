package main

import (
	"context"
	"errors"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the example (step per job item, drain as its drain bound)
// against a test server with a live key, and returns the server and run's
// result.
func start(t *testing.T, step, drain time.Duration) (*intervaltest.Server, <-chan error) {
	t.Helper()
	s := intervaltest.NewServer()
	t.Cleanup(s.Close)
	t.Setenv("INTERVAL_ENDPOINT", s.URL)
	t.Setenv("INTERVAL_API_KEY", "live_test_key")
	ran := make(chan error, 1)
	go func() { ran <- run(slog.New(slog.DiscardHandler), step, drain) }()
	return s, ran
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// raise sends sig to this process, where run has registered for it (the
// host connected after that).
func raise(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
}

func waitRun(t *testing.T, ctx context.Context, ran <-chan error) error {
	t.Helper()
	select {
	case err := <-ran:
		return err
	case <-ctx.Done():
		t.Fatal("run did not return")
		return nil
	}
}

// SIGTERM during a job: the host stops taking work, the job finishes and
// reports its result, then the host exits cleanly.
func TestSignalDrainsRunningJob(t *testing.T) {
	s, ran := start(t, 5*time.Millisecond, time.Minute)
	ctx := testCtx(t)
	job, err := s.Start(ctx, "long_job")
	if err != nil {
		t.Fatal(err)
	}
	form, err := job.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := form.Answer(ctx, intervaltest.Values{"How many steps?": 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := job.NextLoading(ctx); err != nil { // the job is running
		t.Fatal(err)
	}
	// Taken before the signal: a drained host closes its socket, and
	// WaitHost waits for an open one.
	host, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raise(t, syscall.SIGTERM)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := job.Result(ctx)
	if err != nil || res.Status != "SUCCESS" || res.Data != float64(20) {
		t.Fatalf("drained job: %+v, %v", res, err)
	}
	if err := waitRun(t, ctx, ran); err != nil {
		t.Fatalf("run = %v", err)
	}
}

// A job waiting on an operator past the drain bound is cancelled and the
// host exits cleanly: the cut-short drain is not an error of the program.
func TestDrainTimeoutCancels(t *testing.T) {
	s, ran := start(t, time.Hour, 100*time.Millisecond)
	ctx := testCtx(t)
	job, err := s.Start(ctx, "long_job")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.Next(ctx); err != nil { // waits on the operator
		t.Fatal(err)
	}
	host, err := s.WaitHost(ctx) // before it closes, drained
	if err != nil {
		t.Fatal(err)
	}
	raise(t, syscall.SIGINT)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := waitRun(t, ctx, ran); err != nil {
		t.Fatalf("run = %v", err)
	}
	if err := host.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	// The cancelled job reports a failure if it can before the host
	// closes; it never reports a success.
	if n := job.Completions(); n > 0 {
		if res, err := job.Result(ctx); err != nil || res.Status != "FAILURE" {
			t.Fatalf("cancelled job: %+v, %v", res, err)
		}
	}
}

// A refused key ends run with the error, before any signal.
func TestRefusedKey(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	s.APIKey = "other"
	t.Setenv("INTERVAL_ENDPOINT", s.URL)
	t.Setenv("INTERVAL_API_KEY", "live_test_key")
	if err := run(slog.New(slog.DiscardHandler), time.Second, time.Second); !errors.Is(err, interval.ErrUnauthorized) {
		t.Fatalf("run = %v, want ErrUnauthorized", err)
	}
}
