package interval_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestNewRequiresKeyAndEndpoint(t *testing.T) {
	t.Setenv("INTERVAL_API_KEY", "")
	t.Setenv("INTERVAL_ENDPOINT", "")
	if _, err := interval.New(interval.Options{Endpoint: "ws://x/websocket", Routes: routes{}}); !errors.Is(err, interval.ErrMissingAPIKey) {
		t.Fatalf("err = %v", err)
	}
	if _, err := interval.New(interval.Options{APIKey: "k", Routes: routes{}}); !errors.Is(err, interval.ErrMissingEndpoint) {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("INTERVAL_API_KEY", "env_key")
	t.Setenv("INTERVAL_ENDPOINT", "ftp://x")
	if _, err := interval.New(interval.Options{Routes: routes{}}); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Fatalf("err = %v", err)
	}
}

// LogLevel, a slog.Leveler, filters the client's own records: errors only,
// the default (info), debug with per-transaction lines, and a LevelVar.
func TestLogLevel(t *testing.T) {
	debugVar := new(slog.LevelVar)
	debugVar.Set(slog.LevelDebug)
	for _, c := range []struct {
		name        string
		level       slog.Leveler
		info, debug bool
	}{
		{"error", slog.LevelError, false, false},
		{"default", nil, true, false},
		{"info", slog.LevelInfo, true, false},
		{"debug", slog.LevelDebug, true, true},
		{"LevelVar", debugVar, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := newLogRecorder()
			h := intervaltest.New(t, routes{"ok": func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, nil }},
				withLogger(slog.New(logs)), func(o *interval.Options) { o.LogLevel = c.level })
			ctx := testCtx(t)
			run, err := h.Start(ctx, "ok")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := run.Result(ctx); err != nil {
				t.Fatal(err)
			}
			// Both lines are logged before the result is sent.
			if _, ok := logs.find(0, "INFO", "connected to Interval server"); ok != c.info {
				t.Errorf("info line logged: %v, want %v", ok, c.info)
			}
			if _, ok := logs.find(0, "DEBUG", "transaction started"); ok != c.debug {
				t.Errorf("debug line logged: %v, want %v", ok, c.debug)
			}
		})
	}
}

// APIKey and Endpoint fall back to INTERVAL_API_KEY and INTERVAL_ENDPOINT;
// the options win over the environment.
func TestOptionsFromEnvironment(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	t.Setenv("INTERVAL_API_KEY", "env_key")
	t.Setenv("INTERVAL_ENDPOINT", s.URL)
	c, err := interval.New(interval.Options{Routes: routes{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(ctx) }()
	host, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if host.APIKey != "env_key" {
		t.Fatalf("key sent %q, want the environment's", host.APIKey)
	}
	c.Close()
	if err := <-listened; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("Listen = %v", err)
	}
	if err := host.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}

	t.Setenv("INTERVAL_ENDPOINT", "ws://unused.invalid/websocket")
	c2, err := interval.New(interval.Options{APIKey: "opt_key", Endpoint: s.URL, Routes: routes{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	go func() { listened <- c2.Listen(ctx) }()
	host2, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if host2.APIKey != "opt_key" {
		t.Fatalf("key sent %q, want the option's", host2.APIKey)
	}
	c2.Close()
	<-listened

	if _, err := interval.New(interval.Options{}); !errors.Is(err, interval.ErrMissingRoutes) {
		t.Fatalf("New without routes = %v", err)
	}
}
