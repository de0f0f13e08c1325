package interval_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/router"
)

// An action asks for a name and greets; intervaltest plays the operator.
func Example() {
	r := router.New()
	r.Action("hello", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Your name").Run(ctx)
		if err != nil {
			return nil, err
		}
		return "Hello, " + name, nil
	})

	srv := intervaltest.NewServer() // any Interval-protocol server works
	defer srv.Close()
	c, err := interval.New(interval.Options{Endpoint: srv.URL, APIKey: "dev_key", Routes: r,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	// In a program: signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM).
	sig, signal := context.WithCancel(context.Background())
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(sig) }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, _ := srv.Start(ctx, "hello")
	form, _ := run.Next(ctx)
	fmt.Println(form.Labels())
	signal() // Listen drains: the running transaction finishes
	form.Answer(ctx, intervaltest.Values{"Your name": "Ada"})
	res, _ := run.Result(ctx)
	fmt.Println(res.Status, res.Data)

	run.Close(ctx) // the operator leaves the result; with a development key the host waits for that
	fmt.Println(errors.Is(<-listened, interval.ErrClosed))
	// Output:
	// [Your name]
	// SUCCESS Hello, Ada
	// true
}

// A group shows several inputs as one form; after Run each holds its value.
func ExampleIO_Group() {
	h := func(ctx context.Context, tx *interval.Tx) (any, error) {
		email := tx.IO.Input.Email("Email")
		age := tx.IO.Input.Number("Age").Min(18)
		choice, err := tx.IO.Group(email, age).
			WithChoices(interval.Choice{Label: "Invite", Value: "invite", Theme: "primary"}, interval.ChoiceOf("Cancel")).
			Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("%s %s (%v)", choice, email.Value(), age.Value()), nil
	}
	r := router.New()
	r.Action("invite", h)
	srv := intervaltest.NewServer()
	defer srv.Close()
	c, _ := interval.New(interval.Options{Endpoint: srv.URL, APIKey: "k", Routes: r, Logger: slog.New(slog.DiscardHandler)})
	go c.Listen(context.Background())
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, _ := srv.Start(ctx, "invite")
	form, _ := run.Next(ctx)
	form.Choose(ctx, "invite", intervaltest.Values{"Email": "ada@example.com", "Age": 16})
	again, _ := run.Next(ctx) // re-rendered with a validation message
	c0, _ := again.Component("Age")
	fmt.Println(c0.ValidationErrorMessage)
	again.Choose(ctx, "invite", intervaltest.Values{"Email": "ada@example.com", "Age": 36})
	res, _ := run.Result(ctx)
	fmt.Println(res.Data)
	// Output:
	// Please enter a number greater than or equal to 18.
	// invite ada@example.com (36)
}

// Shutdown drains running transactions within a deadline, like
// http.Server.Shutdown; when the deadline passes first it returns the
// context's error, the running handlers are cancelled and report in the
// background, and Close stops at once.
func ExampleClient_Shutdown() {
	srv := intervaltest.NewServer()
	defer srv.Close()
	c, _ := interval.New(interval.Options{Endpoint: srv.URL, APIKey: "k", Routes: router.New(), Logger: slog.New(slog.DiscardHandler)})
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()
	srv.WaitHost(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		c.Close() // the deadline passed: stop now
	}
	fmt.Println(<-listened)
	// Output: interval: client closed
}
