package main

import (
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/interval-go/sdk/intervaltest"
)

// SIGINT while an action waits on the operator, with a development key:
// the host tells the server it is shutting down, the operator can still
// answer, the result is delivered (it was lost: the signal closed the host
// at once), and the host keeps the connection until the operator has left
// the result (Interval's server deletes a development host's transactions
// when it disconnects); then run returns nil.
func TestSIGINTDrainsAndKeepsResult(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	t.Setenv("INTERVAL_ENDPOINT", s.URL)
	t.Setenv("INTERVAL_API_KEY", "dev_test_key")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- run(slog.New(slog.DiscardHandler)) }()

	job, err := s.Start(ctx, "input_text")
	if err != nil {
		t.Fatal(err)
	}
	form, err := job.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// run has registered for the signal: the host connected after it.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	host, _ := s.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := form.Answer(ctx, intervaltest.Values{"Your name": "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	if res, err := job.Result(ctx); err != nil || res.Status != "SUCCESS" || res.Data != "Ada Lovelace" {
		t.Fatalf("result %+v, %v", res, err)
	}
	if err := job.Close(ctx); err != nil { // the operator leaves the result
		t.Fatalf("CLOSE_TRANSACTION after the result: %v (the host disconnected first)", err)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-ctx.Done():
		t.Fatal("run did not return after the drain")
	}
	if err := host.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
}
