// Command kitchen-sink declares one action per IO method and a page, each
// runnable from the console. Without INTERVAL_ENDPOINT it starts the
// embedded server, like the quickstart.
//
//	go run ./examples/kitchen-sink
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

// action is a kitchen-sink action: a slug, a title and a handler.
type action struct {
	slug, name string
	h          interval.HandlerFunc
}

// ioActions has one action per IO method.
var ioActions = []action{
	{"input_text", "Text input", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Text("Your name").HelpText("First and last name").Placeholder("Jane Doe").MinLength(1).MaxLength(80).Run(ctx)
	}},
	{"input_text_multiline", "Multiline text", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Text("Notes").Multiline(4).Default("Dear customer,").Run(ctx)
	}},
	{"input_email", "Email input", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Email("Customer email").Placeholder("name@example.com").Run(ctx)
	}},
	{"input_number", "Number input", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Number("Quantity").Min(1).Max(100).Default(3).Run(ctx)
	}},
	{"input_number_currency", "Currency input", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Number("Refund amount").Currency(interval.USD).Min(0.5).Decimals(2).Run(ctx)
	}},
	{"input_boolean", "Boolean input", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Boolean("Send a receipt").Default(true).Run(ctx)
	}},
	{"confirm", "Confirm", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Confirm("Delete this account?").HelpText("This cannot be undone.").Run(ctx)
	}},
	{"display_heading", "Heading", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return nil, tx.IO.Display.Heading("Monthly report").Level(2).Description("All figures in USD").
			MenuItems(interval.MenuItem{Label: "Run again", Route: "display_heading"}).Run(ctx)
	}},
	{"display_markdown", "Markdown", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return nil, tx.IO.Display.Markdown("## Release notes\n\n- **Faster** tables\n- [Docs](https://example.com)\n\n```go\nfmt.Println(\"hi\")\n```").Run(ctx)
	}},
	{"group_with_choices", "Group with choices", func(ctx context.Context, tx *interval.Tx) (any, error) {
		email := tx.IO.Input.Email("Email")
		note := tx.IO.Input.Text("Note").Multiline(3).Optional()
		agree := tx.IO.Input.Boolean("Agree")
		choice, err := tx.IO.Group(email, note, agree).
			WithChoices(interval.Choice{Label: "Approve", Value: "approve", Theme: "primary"}, interval.Choice{Label: "Reject", Value: "reject", Theme: "danger"}).
			Run(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"choice": choice, "email": email.Value(), "note": note.Value(), "agree": agree.Value()}, nil
	}},
	{"validation", "Validation", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Number("Pick a number >= 10").Validate(func(v float64) error {
			if v < 10 {
				return errors.New("Must be at least 10")
			}
			return nil
		}).Default(10).Run(ctx)
	}},
	{"ctx_features", "Log, loading and notify", func(ctx context.Context, tx *interval.Tx) (any, error) {
		if err := tx.Log(ctx, "Starting job", map[string]int{"step": 1}); err != nil {
			return nil, err
		}
		tx.Loading.Start(interval.LoadingState{Label: "Processing items", ItemsInQueue: 3})
		for range 3 {
			time.Sleep(150 * time.Millisecond)
			tx.Loading.CompleteOne()
		}
		// To the operator running it (the bell in the console) and to an
		// address outside the console (emailed when the server has SMTP).
		deliveries := []interval.Delivery{{To: "ops@example.com", Method: "EMAIL"}}
		if tx.User.Email != "" {
			deliveries = append(deliveries, interval.Delivery{To: tx.User.Email, Method: "EMAIL"})
		}
		err := tx.Notify(ctx, interval.Notification{Message: "Job finished", Title: "Kitchen sink", Deliveries: deliveries})
		return "done", err
	}},
	{"redirect", "Redirect", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return nil, tx.Redirect(ctx, interval.Redirect{Route: "input_text", Params: map[string]any{"id": 5}})
	}},
	{"throws_error", "Error result", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return nil, fmt.Errorf("something broke: %w", errors.New("inner cause"))
	}},
	{"object_result", "Object result", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return map[string]any{"name": "Alice", "createdAt": time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC), "count": 3, "active": true}, nil
	}},
}

// routes declares every kitchen-sink action and a page.
func routes(log *slog.Logger) *router.Mux {
	r := router.New()
	r.Use(middleware.Logger(log), middleware.RecovererWithLogger(log))
	for _, a := range ioActions {
		r.Action(a.slug, a.h, router.Name(a.name))
	}
	r.Route("dashboard", func(r router.Router) {
		r.Index(func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
			return &interval.Layout{
				Title:       "Dashboard",
				Description: "Signed in as " + p.User.Email,
				MenuItems:   []interval.MenuItem{{Label: "Refresh", Route: "dashboard/refresh"}},
				Children: []interval.Component{
					p.Display.Heading("Today").Level(3),
					p.Display.Markdown("Everything is **operational**."),
				},
			}, nil
		})
		r.Action("refresh", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return "refreshed", nil
		}, router.Name("Refresh dashboard"))
		// A page nested in the dashboard, with a table the operator pages
		// and searches (each view is a SET_STATE answered with a new layout).
		r.Page("customers", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
			all := customers(120)
			return &interval.Layout{
				Title:       "Customers",
				Description: fmt.Sprintf("%d customers", len(all)),
				MenuItems:   []interval.MenuItem{{Label: "Find one", Route: "search"}, {Label: "Docs", URL: "https://example.com/docs"}},
				Children: []interval.Component{
					p.Display.Metadata("Plans", interval.MetaItem{Label: "Pro", Value: 40}, interval.MetaItem{Label: "Team", Value: 40}),
					interval.DisplayTable(p, "All customers", all).PageSize(10),
				},
			}, nil
		}, router.Name("Customers"), router.Description("A nested page with a table"))
	}, router.Name("Dashboard"), router.Description("A page with a layout"))
	return r
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("kitchen-sink", "err", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM, then drains: running actions finish
// and their results reach the console (they were lost when the signal
// closed the host at once).
func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl+C exits at once

	opts := interval.Options{Routes: routes(log), Logger: log}
	if os.Getenv("INTERVAL_ENDPOINT") == "" {
		emb, err := embedded.Start(ctx, "kitchen-sink", "", log)
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
