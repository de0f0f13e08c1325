package intervaltest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/router"
)

// refundRoutes is the code under test: an action asking for an amount.
func refundRoutes() *router.Mux {
	r := router.New()
	r.Action("refund", func(ctx context.Context, tx *interval.Tx) (any, error) {
		amount, err := tx.IO.Input.Number("Amount").Min(1).Max(100).Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("refunded $%.2f for %s", amount, tx.User.Email), nil
	})
	return r
}

// New is how a unit test of actions starts: like httptest.NewServer, it
// starts an in-process server, connects a real client serving your routes
// to it, and closes both when the test ends. The test then plays the
// operator. (This example is compiled, not run: New needs a *testing.T.)
func ExampleNew() {
	testRefund := func(t *testing.T) {
		h := intervaltest.New(t, refundRoutes())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		run, err := h.Start(ctx, "refund", intervaltest.As(intervaltest.User{Email: "sue@example.com", Role: "member"}))
		if err != nil {
			t.Fatal(err)
		}
		form, err := run.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := form.Answer(ctx, intervaltest.Values{"Amount": 500}); err != nil {
			t.Fatal(err)
		}
		again, _ := run.Next(ctx) // re-rendered with a validation message
		if c, _ := again.Component("Amount"); c.ValidationErrorMessage == "" {
			t.Error("500 accepted")
		}
		if err := again.Answer(ctx, intervaltest.Values{"Amount": 12}); err != nil {
			t.Fatal(err)
		}
		res, err := run.Result(ctx)
		if err != nil || res.Data != "refunded $12.00 for sue@example.com" {
			t.Fatalf("result %+v, %v", res, err)
		}
	}
	_ = testRefund
}

// Server alone plays the Interval server for a client you configure
// yourself, as httptest.NewServer does for an http.Client.
func ExampleNewServer() {
	srv := intervaltest.NewServer()
	defer srv.Close()
	c, err := interval.New(interval.Options{Endpoint: srv.URL, APIKey: "test_key", Routes: refundRoutes(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, err := srv.Start(ctx, "refund") // as intervaltest.Admin
	if err != nil {
		fmt.Println(err)
		return
	}
	form, _ := run.Next(ctx)
	c1, _ := form.Component("Amount")
	fmt.Println(c1.MethodName, string(c1.Props))
	form.Answer(ctx, intervaltest.Values{"Amount": 12})
	res, _ := run.Result(ctx)
	fmt.Println(res.Status, res.Data)

	c.Close()
	fmt.Println(errors.Is(<-listened, interval.ErrClosed))
	// Output:
	// INPUT_NUMBER {"min":1,"max":100}
	// SUCCESS refunded $12.00 for alice@example.com
	// true
}
