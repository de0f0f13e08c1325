package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/middleware"
)

func newTx() *interval.Tx {
	return &interval.Tx{
		ID:     "tx_42",
		User:   interval.User{Email: "ada@example.com", Role: interval.RoleMember, Teams: []string{"support", "ops"}},
		Action: interval.ActionRef{Slug: "billing/refund"},
	}
}

// jsonLogger returns a logger writing JSON records to buf.
func jsonLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(buf)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("decoding log: %v", err)
		}
		out = append(out, m)
	}
}

func TestLogger(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		level     string
		status    string
		wantError string
	}{
		{"ok", nil, "INFO", "ok", ""},
		{"error", errors.New("card declined"), "ERROR", "error", "card declined"},
		{"canceled", fmt.Errorf("asking: %w", interval.ErrCanceled), "INFO", "canceled", "asking: " + interval.ErrCanceled.Error()},
		{"context canceled", context.Canceled, "INFO", "canceled", "context canceled"},
		{"deadline", context.DeadlineExceeded, "ERROR", "error", "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := middleware.Logger(jsonLogger(&buf))(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
				time.Sleep(time.Millisecond)
				return "result", tt.err
			}))
			res, err := h.ServeAction(context.Background(), newTx())
			if res != "result" || err != tt.err {
				t.Errorf("ServeAction = %v, %v; want the handler's result and error unchanged", res, err)
			}
			recs := records(t, &buf)
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1: %v", len(recs), recs)
			}
			r := recs[0]
			want := map[string]any{
				"level":       tt.level,
				"msg":         "interval: transaction",
				"action":      "billing/refund",
				"user":        "ada@example.com",
				"transaction": "tx_42",
				"status":      tt.status,
			}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("%s = %v, want %v", k, r[k], v)
				}
			}
			if d, ok := r["duration"].(float64); !ok || d < float64(time.Millisecond) {
				t.Errorf("duration = %v, want at least 1ms in ns", r["duration"])
			}
			if got, _ := r["error"].(string); got != tt.wantError {
				t.Errorf("error attr = %q, want %q", got, tt.wantError)
			}
			if _, has := r["error"]; has != (tt.err != nil) {
				t.Errorf("error attr present = %v, want %v", has, tt.err != nil)
			}
		})
	}
}

func TestLoggerNilUsesDefault(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(jsonLogger(&buf))
	defer slog.SetDefault(old)
	h := middleware.Logger(nil)(interval.HandlerFunc(func(context.Context, *interval.Tx) (any, error) { return nil, nil }))
	if _, err := h.ServeAction(context.Background(), newTx()); err != nil {
		t.Fatal(err)
	}
	if recs := records(t, &buf); len(recs) != 1 || recs[0]["action"] != "billing/refund" {
		t.Errorf("records = %v, want one for billing/refund", recs)
	}
}

func TestRecoverer(t *testing.T) {
	sentinel := errors.New("db gone")
	tests := []struct {
		name    string
		handler func() (any, error)
		wantRes any
		wantErr string
		isErr   error // errors.Is target, if any
		panics  bool
	}{
		{"no panic", func() (any, error) { return 7, nil }, 7, "", nil, false},
		{"error passes through", func() (any, error) { return nil, sentinel }, nil, "db gone", sentinel, false},
		{"panic string", func() (any, error) { panic("boom") }, nil, "panic: boom", nil, true},
		{"panic error", func() (any, error) { panic(fmt.Errorf("wrapped: %w", sentinel)) }, nil, "panic: wrapped: db gone", sentinel, true},
		{"panic int", func() (any, error) { panic(42) }, nil, "panic: 42", nil, true},
		{"panic nil", func() (any, error) { panic(nil) }, nil, "panic: panic called with nil argument", nil, true},
		{"nil map write", func() (any, error) {
			var m map[string]int
			m["x"] = 1
			return nil, nil
		}, nil, "panic: assignment to entry in nil map", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := middleware.RecovererWithLogger(jsonLogger(&buf))(interval.HandlerFunc(func(context.Context, *interval.Tx) (any, error) {
				return tt.handler()
			}))
			res, err := h.ServeAction(context.Background(), newTx())
			if res != tt.wantRes {
				t.Errorf("result = %v, want %v", res, tt.wantRes)
			}
			if got := fmt.Sprint(err); (err == nil) != (tt.wantErr == "") || (err != nil && got != tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			if tt.isErr != nil && !errors.Is(err, tt.isErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.isErr)
			}
			var pe *middleware.PanicError
			if errors.As(err, &pe) != tt.panics {
				t.Errorf("errors.As PanicError = %v, want %v", !tt.panics, tt.panics)
			}
			recs := records(t, &buf)
			if !tt.panics {
				if len(recs) != 0 {
					t.Errorf("logged %v without a panic", recs)
				}
				return
			}
			if len(pe.Stack) == 0 {
				t.Error("PanicError.Stack is empty")
			}
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			r := recs[0]
			if r["level"] != "ERROR" || r["msg"] != "interval: panic in action" || r["action"] != "billing/refund" || r["transaction"] != "tx_42" {
				t.Errorf("record = %v", r)
			}
			if r["panic"] != strings.TrimPrefix(tt.wantErr, "panic: ") {
				t.Errorf("panic attr = %v", r["panic"])
			}
			if stack, _ := r["stack"].(string); !strings.Contains(stack, "middleware_test.TestRecoverer") {
				t.Errorf("stack does not show the panicking function:\n%s", stack)
			}
		})
	}
}

func TestRecovererKeepsServing(t *testing.T) {
	var calls atomic.Int32
	h := middleware.RecovererWithLogger(slog.New(slog.DiscardHandler))(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		if calls.Add(1)%2 == 1 {
			panic("odd call")
		}
		return "fine", nil
	}))
	for i := range 4 {
		res, err := h.ServeAction(context.Background(), newTx())
		if i%2 == 0 && (err == nil || err.Error() != "panic: odd call") {
			t.Errorf("call %d: err = %v, want the panic", i, err)
		}
		if i%2 == 1 && (err != nil || res != "fine") {
			t.Errorf("call %d = %v, %v; want fine", i, res, err)
		}
	}
}

func TestRecovererIsAMiddleware(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(jsonLogger(&buf))
	defer slog.SetDefault(old)
	h := interval.Chain{middleware.Recoverer}.Then(interval.HandlerFunc(func(context.Context, *interval.Tx) (any, error) { panic("x") }))
	if _, err := h.ServeAction(context.Background(), newTx()); err == nil || err.Error() != "panic: x" {
		t.Errorf("err = %v", err)
	}
	if recs := records(t, &buf); len(recs) != 1 {
		t.Errorf("Recoverer logged %d records to slog.Default, want 1", len(recs))
	}
}

func TestRequireRoleAndTeams(t *testing.T) {
	tests := []struct {
		name    string
		mw      interval.Middleware
		user    interval.User
		wantErr string // "" means allowed
	}{
		{"role allowed", middleware.RequireRole(interval.RoleAdmin), interval.User{Role: interval.RoleAdmin}, ""},
		{"role one of", middleware.RequireRole(interval.RoleAdmin, interval.RoleDeveloper), interval.User{Role: interval.RoleDeveloper}, ""},
		{"role denied", middleware.RequireRole(interval.RoleAdmin), interval.User{Role: interval.RoleMember}, `access denied: requires role "admin"`},
		{"roles denied", middleware.RequireRole(interval.RoleAdmin, interval.RoleDeveloper), interval.User{Role: interval.RoleMember}, `access denied: requires one of the roles "admin", "developer"`},
		{"no role", middleware.RequireRole(interval.RoleMember), interval.User{}, `access denied: requires role "member"`},
		{"team allowed", middleware.RequireTeams("support"), interval.User{Teams: []string{"ops", "support"}}, ""},
		{"any team", middleware.RequireTeams("finance", "ops"), interval.User{Teams: []string{"ops"}}, ""},
		{"team denied", middleware.RequireTeams("support"), interval.User{Teams: []string{"ops"}}, `access denied: requires team "support"`},
		{"teams denied", middleware.RequireTeams("support", "finance"), interval.User{}, `access denied: requires one of the teams "support", "finance"`},
		{"team case matters", middleware.RequireTeams("support"), interval.User{Teams: []string{"Support"}}, `access denied: requires team "support"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := tt.mw(interval.HandlerFunc(func(context.Context, *interval.Tx) (any, error) {
				called = true
				return "ran", nil
			}))
			res, err := h.ServeAction(context.Background(), &interval.Tx{User: tt.user})
			if tt.wantErr == "" {
				if err != nil || res != "ran" || !called {
					t.Errorf("allowed user: %v, %v, called=%v", res, err, called)
				}
				return
			}
			if called {
				t.Error("handler called for a denied user")
			}
			if res != nil || err == nil || err.Error() != tt.wantErr {
				t.Errorf("denied: %v, %v; want nil, %q", res, err, tt.wantErr)
			}
			if !errors.Is(err, middleware.ErrForbidden) {
				t.Errorf("errors.Is(%v, ErrForbidden) = false", err)
			}
		})
	}
}

func TestConstructorPanics(t *testing.T) {
	tests := []struct {
		name string
		want string
		fn   func()
	}{
		{"RequireRole()", "middleware: RequireRole needs at least one role", func() { middleware.RequireRole() }},
		{"RequireTeams()", "middleware: RequireTeams needs at least one team", func() { middleware.RequireTeams() }},
		{"Timeout(0)", "middleware: Timeout needs a positive duration, got 0s", func() { middleware.Timeout(0) }},
		{"Timeout(-1s)", "middleware: Timeout needs a positive duration, got -1s", func() { middleware.Timeout(-time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if v := recover(); v != tt.want {
					t.Errorf("panic = %v, want %q", v, tt.want)
				}
			}()
			tt.fn()
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Run("deadline set", func(t *testing.T) {
		const d = time.Hour
		h := middleware.Timeout(d)(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			dl, ok := ctx.Deadline()
			if !ok {
				return nil, errors.New("no deadline")
			}
			if left := time.Until(dl); left <= 0 || left > d {
				return nil, fmt.Errorf("deadline in %v, want within %v", left, d)
			}
			return "ok", nil
		}))
		if res, err := h.ServeAction(context.Background(), newTx()); err != nil || res != "ok" {
			t.Errorf("= %v, %v", res, err)
		}
	})
	t.Run("expires", func(t *testing.T) {
		h := middleware.Timeout(time.Millisecond)(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			<-ctx.Done()
			return "partial", ctx.Err()
		}))
		res, err := h.ServeAction(context.Background(), newTx())
		if res != "partial" {
			t.Errorf("result = %v, want the handler's", res)
		}
		if !errors.Is(err, middleware.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrTimeout and DeadlineExceeded", err)
		}
		if want := "action timed out after 1ms: context deadline exceeded"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	})
	t.Run("late success is kept", func(t *testing.T) {
		h := middleware.Timeout(time.Millisecond)(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			<-ctx.Done()
			return "done anyway", nil
		}))
		if res, err := h.ServeAction(context.Background(), newTx()); err != nil || res != "done anyway" {
			t.Errorf("= %v, %v", res, err)
		}
	})
	t.Run("parent canceled first", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		h := middleware.Timeout(time.Hour)(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, ctx.Err()
		}))
		_, err := h.ServeAction(ctx, newTx())
		if !errors.Is(err, context.Canceled) || errors.Is(err, middleware.ErrTimeout) {
			t.Errorf("err = %v, want context.Canceled without ErrTimeout", err)
		}
	})
	t.Run("parent deadline first", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		h := middleware.Timeout(time.Hour)(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		if _, err := h.ServeAction(ctx, newTx()); err != context.DeadlineExceeded {
			t.Errorf("err = %v, want the parent's DeadlineExceeded unchanged", err)
		}
	})
}

type ctxKey struct{}

func TestWithValue(t *testing.T) {
	var seen []any
	inner := interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		seen = append(seen, ctx.Value(ctxKey{}))
		return nil, nil
	})
	h := interval.Chain{middleware.WithValue(ctxKey{}, "outer"), middleware.WithValue(ctxKey{}, "inner")}.Then(inner)
	if _, err := h.ServeAction(context.Background(), newTx()); err != nil {
		t.Fatal(err)
	}
	if _, err := middleware.WithValue(ctxKey{}, 1)(inner).ServeAction(context.Background(), newTx()); err != nil {
		t.Fatal(err)
	}
	if want := []any{"inner", 1}; !reflect.DeepEqual(seen, want) {
		t.Errorf("values = %v, want %v", seen, want)
	}
}

// TestStack checks the middlewares together in the recommended order
// (Logger, Recoverer, access): a panic is recovered and logged, then the
// transaction is logged as failed; a denied user is logged without running
// the handler.
func TestStack(t *testing.T) {
	var buf bytes.Buffer
	l := jsonLogger(&buf)
	ran := false
	chain := interval.Chain{middleware.Logger(l), middleware.RecovererWithLogger(l), middleware.RequireTeams("support")}
	h := chain.Then(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		ran = true
		panic("bad")
	}))
	_, err := h.ServeAction(context.Background(), &interval.Tx{ID: "1", User: interval.User{Teams: []string{"ops"}}})
	if !errors.Is(err, middleware.ErrForbidden) || ran {
		t.Errorf("denied: err = %v, ran = %v", err, ran)
	}
	_, err = h.ServeAction(context.Background(), &interval.Tx{ID: "2", User: interval.User{Teams: []string{"support"}}})
	if err == nil || err.Error() != "panic: bad" {
		t.Errorf("allowed: err = %v, want the panic", err)
	}
	var got []string
	for _, r := range records(t, &buf) {
		got = append(got, fmt.Sprintf("%v %v %v %v", r["transaction"], r["msg"], r["status"], r["error"]))
	}
	want := []string{
		`1 interval: transaction error access denied: requires team "support"`,
		`2 interval: panic in action <nil> <nil>`,
		`2 interval: transaction error panic: bad`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
