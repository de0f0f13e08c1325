package server

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// lines is a slog.Handler keeping every message.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.all = append(l.all, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }
func (l *lines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.all {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// TestDevelopmentShutdownDoesNotLingerOnThisServer: this server names
// itself in its INITIALIZE_HOST answer and keeps a development host's
// finished transactions when the host leaves, so a Go host with a
// development key shuts down as soon as its last handler returned, without
// waiting for the operator to leave the result (which it must do on the
// self-hosted Interval server), and the result stays readable.
func TestDevelopmentShutdownDoesNotLingerOnThisServer(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("development")

	r := router.New()
	r.Action("quick", func(ctx context.Context, tx *interval.Tx) (any, error) { return "done", nil })
	logs := &lines{}
	c, err := interval.New(interval.Options{Endpoint: e.wsURL(), APIKey: key, Routes: r, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()
	for c.Ping(ctx) != nil { // until the host is connected
		if ctx.Err() != nil {
			t.Fatal("the host did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}

	b := admin.browser()
	defer b.close()
	id := admin.createTx("quick", "development")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	b.expect(protocol.MethodTransactionCompleted)

	// The operator still looks at the result (no LEAVE_TRANSACTION, so no
	// CLOSE_TRANSACTION): the shutdown must not wait for them.
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if ctx.Err() != nil || logs.has("until the operator leaves") {
		t.Fatal("the shutdown waited for the operator to leave a finished transaction on a server that keeps it")
	}
	if err := <-listened; err == nil {
		t.Fatal("Listen returned nil after Shutdown")
	}
	if got := admin.tx(id); got.Result == nil || !strings.Contains(*got.Result, "done") {
		t.Fatalf("the result after the host left: %+v", got)
	}
}
