package intervaltest

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
)

// Harness is a Server with a real interval.Client connected to it, for unit
// tests of actions.
type Harness struct {
	*Server
	// Client is the host under test.
	Client *interval.Client
	done   chan error
}

// New starts a Server, connects a Client serving routes to it and waits
// until the client has initialized. Both are closed when the test ends.
// opts may adjust the client's options (Endpoint and APIKey are set).
func New(tb testing.TB, routes interval.Routes, opts ...func(*interval.Options)) *Harness {
	tb.Helper()
	s := NewServer()
	o := interval.Options{Endpoint: s.URL, APIKey: "test_key", Routes: routes,
		Logger: slog.New(slog.DiscardHandler), RetryInterval: 50 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	c, err := interval.New(o)
	if err != nil {
		s.Close()
		tb.Fatalf("intervaltest: %v", err)
	}
	h := &Harness{Server: s, Client: c, done: make(chan error, 1)}
	go func() { h.done <- c.Listen(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host, err := s.WaitHost(ctx)
	if err == nil {
		// Initialized on the client's side too: it has the answer.
		err = host.WaitAnswered(ctx, "INITIALIZE_HOST", 1)
	}
	if err != nil {
		c.Close()
		<-h.done
		s.Close()
		tb.Fatalf("intervaltest: host did not initialize: %v", err)
	}
	tb.Cleanup(h.Close)
	return h
}

// Close closes the client and the server; New registers it with
// tb.Cleanup, so a test need not call it. Calling it again does nothing more;
// ListenErr still reports how Listen ended.
func (h *Harness) Close() {
	h.Client.Close()
	err := <-h.done
	h.done <- err
	h.Server.Close()
}

// ListenErr waits for Listen to return and returns its error.
func (h *Harness) ListenErr(ctx context.Context) error {
	select {
	case err := <-h.done:
		h.done <- err
		if errors.Is(err, interval.ErrClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
