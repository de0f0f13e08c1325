package main

import (
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/intervaltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// SIGINT while an operator fills in a form: the host tells the server it
// is shutting down, the operator can still answer, the result is
// delivered, and run returns nil.
func TestSIGINTDrains(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	t.Setenv("INTERVAL_ENDPOINT", s.URL)
	t.Setenv("INTERVAL_API_KEY", "live_test_key")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- run(slog.New(slog.DiscardHandler)) }()

	job, err := s.Start(ctx, "hello_world")
	if err != nil {
		t.Fatal(err)
	}
	form, err := job.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// run has registered for the signal: the host connected after it.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := form.Answer(ctx, intervaltest.Values{"Your name": "Ada"}); err != nil {
		t.Fatal(err)
	}
	if res, err := job.Result(ctx); err != nil || res.Status != "SUCCESS" || res.Data != "Hello, Ada!" {
		t.Fatalf("result %+v, %v", res, err)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-ctx.Done():
		t.Fatal("run did not return after the drain")
	}
}
