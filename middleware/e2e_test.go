package middleware_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/router"
)

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) snapshot() *bytes.Buffer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.NewBuffer(bytes.Clone(s.b.Bytes()))
}

// The middlewares on a real host over a loopback websocket: Logger records
// each transaction, Recoverer turns a panic into that transaction's failure
// with its stack logged while the host keeps serving, RequireRole fails a
// denied operator without calling the handler, Timeout ends a handler
// waiting on an operator.
func TestMiddlewareOnARealHost(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	var adminRan atomic.Bool
	r := router.New()
	r.Use(middleware.Logger(log), middleware.RecovererWithLogger(log))
	r.Action("boom", func(ctx context.Context, tx *interval.Tx) (any, error) { panic("kaboom") })
	r.Action("hello", func(ctx context.Context, tx *interval.Tx) (any, error) { return "hi " + tx.User.Email, nil })
	r.With(middleware.RequireRole(interval.RoleAdmin)).Action("admin_only", func(ctx context.Context, tx *interval.Tx) (any, error) {
		adminRan.Store(true)
		return nil, nil
	})
	r.With(middleware.Timeout(50*time.Millisecond)).Action("slow", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Text("Nobody answers this").Run(ctx)
	})
	h := intervaltest.New(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bob := intervaltest.As(intervaltest.User{Email: "bob@example.com", Role: interval.RoleMember})

	result := func(slug string, opts ...intervaltest.StartOption) intervaltest.Result {
		t.Helper()
		run, err := h.Start(ctx, slug, opts...)
		if err != nil {
			t.Fatal(err)
		}
		res, err := run.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := result("boom", bob); res.Status != "FAILURE" || res.Message != "panic: kaboom" {
		t.Fatalf("panicking action: %+v", res)
	}
	if res := result("hello", bob); res.Status != "SUCCESS" || res.Data != "hi bob@example.com" {
		t.Fatalf("host stopped serving after a panic: %+v", res)
	}
	if res := result("admin_only", bob); res.Status != "FAILURE" || res.Message != `access denied: requires role "admin"` || adminRan.Load() {
		t.Fatalf("denied role: %+v, handler ran: %v", res, adminRan.Load())
	}
	res := result("slow", bob)
	if res.Status != "FAILURE" || !strings.HasPrefix(res.Message, "action timed out after 50ms") {
		t.Fatalf("timed out action: %+v", res)
	}

	// Every record was written before its transaction's result was sent.
	byAction := map[string][]map[string]any{}
	for _, rec := range records(t, buf.snapshot()) {
		a, _ := rec["action"].(string)
		byAction[a] = append(byAction[a], rec)
	}
	want := map[string]string{"boom": "error", "hello": "ok", "admin_only": "error", "slow": "error"}
	for action, status := range want {
		var tx map[string]any
		for _, rec := range byAction[action] {
			if rec["msg"] == "interval: transaction" {
				tx = rec
			}
		}
		if tx == nil {
			t.Errorf("no Logger record for %s", action)
			continue
		}
		if tx["status"] != status || tx["user"] != "bob@example.com" || tx["transaction"] == "" || tx["duration"] == nil {
			t.Errorf("Logger record for %s: %v", action, tx)
		}
	}
	var panicRec map[string]any
	for _, rec := range byAction["boom"] {
		if rec["msg"] == "interval: panic in action" {
			panicRec = rec
		}
	}
	if stack, _ := panicRec["stack"].(string); panicRec["panic"] != "kaboom" || !strings.Contains(stack, "goroutine") {
		t.Errorf("panic record %v", panicRec)
	}
}
