// Command quickstart serves a few actions. Without INTERVAL_ENDPOINT it
// starts the embedded Interval server in-process and prints the console URL
// with a one-time login link; with INTERVAL_ENDPOINT and INTERVAL_API_KEY it
// connects to that server instead.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/interval-go/sdk/examples/internal/embedded"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/router"
)

func routes(log *slog.Logger) *router.Mux {
	r := router.New()
	r.Use(middleware.Logger(log), middleware.RecovererWithLogger(log))

	r.Action("hello_world", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Your name").Placeholder("Ada Lovelace").Run(ctx)
		if err != nil {
			return nil, err
		}
		return "Hello, " + name + "!", nil
	}, router.Name("Hello, world"), router.Description("Asks your name and greets you."))

	r.Action("create_user", func(ctx context.Context, tx *interval.Tx) (any, error) {
		email := tx.IO.Input.Email("Email address")
		first := tx.IO.Input.Text("First name")
		age := tx.IO.Input.Number("Age").Min(13).Optional()
		admin := tx.IO.Input.Boolean("Make admin").HelpText("Admins can manage users and keys.")
		if _, err := tx.IO.Group(email, first, age, admin).Run(ctx); err != nil {
			return nil, err
		}
		ok, err := tx.IO.Confirm(fmt.Sprintf("Create %s?", email.Value())).Run(ctx)
		if err != nil || !ok {
			return nil, err
		}
		tx.Loading.Start(interval.LoadingState{Label: "Creating account"})
		select { // stands for the real work; an action honours ctx
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		return map[string]any{"email": email.Value(), "name": first.Value(), "admin": admin.Value(), "createdAt": time.Now()}, nil
	}, router.Name("Create user"), router.Description("A form with validation, a confirmation and a result."))

	r.Route("support", func(r router.Router) {
		r.Action("refund", func(ctx context.Context, tx *interval.Tx) (any, error) {
			amount, err := tx.IO.Input.Number("Amount").Currency(interval.USD).Min(0.01).Max(500).Run(ctx)
			if err != nil {
				return nil, err
			}
			if err := tx.IO.Display.Markdown(fmt.Sprintf("**Refunded** $%.2f to the customer.", amount)).Run(ctx); err != nil {
				return nil, err
			}
			return amount, nil
		}, router.Name("Refund a charge"))
	}, router.Name("Support"), router.Description("Tools for the support team."))
	return r
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(log); err != nil {
		log.Error("quickstart failed", "err", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM, then drains: the running actions
// finish (an operator may still answer a form) for up to the client's
// ShutdownTimeout, and their results reach the console.
func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl+C exits at once

	opts := interval.Options{Routes: routes(log), Logger: log}
	if os.Getenv("INTERVAL_ENDPOINT") == "" {
		emb, err := embedded.Start(ctx, "quickstart", "", log)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := emb.Shutdown(sctx); err != nil {
				log.Warn("embedded server shutdown", "err", err)
			}
		}()
		opts.Endpoint, opts.APIKey = emb.Endpoint, emb.APIKey
		fmt.Printf("\n  Interval console: %s\n  Log in (one-time link): %s\n\n", emb.URL, emb.LoginLink)
	}
	client, err := interval.New(opts)
	if err != nil {
		return err
	}
	if err := client.Listen(ctx); !errors.Is(err, interval.ErrClosed) {
		return err
	}
	return nil
}
