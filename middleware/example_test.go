package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/middleware"
)

// quiet drops the time and duration of log records so the output below is
// the same on every run.
func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" || a.Key == "stack" {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func ExampleRecoverer() {
	h := middleware.RecovererWithLogger(quiet())(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		var m map[string]int
		m["boom"]++ // a bug: the transaction fails, the host keeps serving
		return nil, nil
	}))
	_, err := h.ServeAction(context.Background(), &interval.Tx{ID: "tx1", Action: interval.ActionRef{Slug: "count"}})
	fmt.Println(err)
	// Output:
	// level=ERROR msg="interval: panic in action" action=count transaction=tx1 panic="assignment to entry in nil map"
	// panic: assignment to entry in nil map
}

func ExampleLogger() {
	h := middleware.Logger(quiet())(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		return nil, errors.New("card declined")
	}))
	tx := &interval.Tx{ID: "tx1", User: interval.User{Email: "ada@example.com"}, Action: interval.ActionRef{Slug: "billing/refund"}}
	_, _ = h.ServeAction(context.Background(), tx)
	// Output:
	// level=ERROR msg="interval: transaction" action=billing/refund user=ada@example.com transaction=tx1 status=error error="card declined"
}

// The same middleware wraps pages: registered with r.Use or r.With before
// r.Page or r.Index, it runs around the page's handler and each update of
// its children's data, with a Tx whose Page is set.
func ExampleLogger_page() {
	h := middleware.Logger(quiet())(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		return &interval.Layout{Title: "Dashboard"}, nil
	}))
	p := &interval.Page{Key: "pk1", Slug: "dashboard"}
	tx := &interval.Tx{ID: p.Key, User: interval.User{Email: "ada@example.com"}, Action: interval.ActionRef{Slug: p.Slug}, Page: p}
	_, _ = h.ServeAction(context.Background(), tx)
	// Output:
	// level=INFO msg="interval: page" page=dashboard user=ada@example.com key=pk1 status=ok
}

func ExampleRequireTeams() {
	h := middleware.RequireTeams("support")(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "refunded", nil
	}))
	for _, u := range []interval.User{{Teams: []string{"support"}}, {Teams: []string{"sales"}}} {
		res, err := h.ServeAction(context.Background(), &interval.Tx{User: u})
		fmt.Println(res, err, errors.Is(err, middleware.ErrForbidden))
	}
	// Output:
	// refunded <nil> false
	// <nil> access denied: requires team "support" true
}

func ExampleRequireRole() {
	h := middleware.RequireRole(interval.RoleAdmin, interval.RoleDeveloper)(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "deployed", nil
	}))
	_, err := h.ServeAction(context.Background(), &interval.Tx{User: interval.User{Role: interval.RoleMember}})
	fmt.Println(err)
	// Output:
	// access denied: requires one of the roles "admin", "developer"
}

func ExampleTimeout() {
	h := middleware.Timeout(10 * time.Millisecond)(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		select { // a slow call that honours its context
		case <-time.After(time.Minute):
			return "done", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	_, err := h.ServeAction(context.Background(), &interval.Tx{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, middleware.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// action timed out after 10ms: context deadline exceeded
	// true true
}

type dbKey struct{}

func ExampleWithValue() {
	h := middleware.WithValue(dbKey{}, "postgres://reports")(interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		return ctx.Value(dbKey{}), nil
	}))
	res, _ := h.ServeAction(context.Background(), &interval.Tx{})
	fmt.Println(res)
	// Output: postgres://reports
}
