package router_test

import (
	"context"
	"fmt"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

func refund(ctx context.Context, tx *interval.Tx) (any, error) { return "refunded", nil }

func dashboard(ctx context.Context, p *interval.Page) (*interval.Layout, error) { return nil, nil }

// logged is a middleware that prints the action it wraps.
func logged(next interval.Handler) interval.Handler {
	return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
		fmt.Println("running", tx.Action.Slug)
		return next.ServeAction(ctx, tx)
	})
}

func ExampleMux_Route() {
	r := router.New()
	r.Route("billing", func(r router.Router) {
		r.Index(dashboard)
		r.Action("refund_user", refund, router.Teams("support"))
		r.Route("reports", func(r router.Router) {
			r.Action("monthly", refund, router.Backgroundable())
		})
	}, router.Description("Money in, money out"))

	t := r.RouteTable()
	for _, p := range t.Pages {
		fmt.Printf("page   %-24s %q handler=%v\n", p.Slug, p.Name, p.Handler != nil)
	}
	for _, a := range t.Actions {
		fmt.Printf("action %-24s %q teams=%v\n", a.Slug, a.Name, a.Teams)
	}
	// Output:
	// page   billing                  "Billing" handler=true
	// page   billing/reports          "Reports" handler=false
	// action billing/refund_user      "Refund user" teams=[support]
	// action billing/reports/monthly  "Monthly" teams=[]
}

func ExampleMux_Mount() {
	// In package billing: func Routes() interval.Routes { r := router.New(...); ...; return r }
	billing := router.New(router.Name("Billing department"))
	billing.Action("refund", refund)

	r := router.New()
	r.Use(logged)
	r.Mount("billing", billing)

	t := r.RouteTable()
	fmt.Println(t.Pages[0].Slug, "-", t.Pages[0].Name)
	res, _ := t.Actions[0].Handler.ServeAction(context.Background(),
		&interval.Tx{Action: interval.ActionRef{Slug: t.Actions[0].Slug}})
	fmt.Println(res)
	// Output:
	// billing - Billing department
	// running billing/refund
	// refunded
}

// shipping stands for a feature package that exposes its routes as an
// interval.Routes, so its callers need no concrete router type.
type shipping struct{}

func (shipping) RouteTable() interval.RouteTable {
	return interval.RouteTable{Actions: []interval.ActionRoute{{
		ActionInfo: interval.ActionInfo{Slug: "track", Name: "Track a parcel"},
		Handler:    interval.HandlerFunc(refund),
	}}}
}

// Mount takes any interval.Routes, as chi's Mount takes any http.Handler: a
// feature package can return interval.Routes (a *router.Mux it builds, or
// its own type) and the main router nests it under a page.
func ExampleRouter_Mount() {
	var routes interval.Routes = shipping{} // e.g. shipping.Routes()

	r := router.New()
	r.Use(logged)
	r.Mount("shipping", routes, router.Description("Parcels"))

	t := r.RouteTable()
	fmt.Println(t.Pages[0].Slug, "-", t.Pages[0].Description)
	res, _ := t.Actions[0].Handler.ServeAction(context.Background(),
		&interval.Tx{Action: interval.ActionRef{Slug: t.Actions[0].Slug}})
	fmt.Println(t.Actions[0].Name, res)
	// Output:
	// shipping - Parcels
	// running shipping/track
	// Track a parcel refunded
}

func ExampleMux_With() {
	r := router.New()
	r.With(logged).Action("loud", refund)
	r.Action("quiet", refund)

	for _, a := range r.RouteTable().Actions {
		res, _ := a.Handler.ServeAction(context.Background(), &interval.Tx{Action: interval.ActionRef{Slug: a.Slug}})
		fmt.Println(a.Slug, res)
	}
	// Output:
	// running loud
	// loud refunded
	// quiet refunded
}

func ExampleMux_OnChange() {
	r := router.New()
	r.Action("a", refund)
	stop := r.OnChange(func() { fmt.Println("changed:", len(r.RouteTable().Actions), "actions") })
	defer stop()

	r.Action("b", refund) // e.g. at run time, while the client listens
	r.Remove("a")
	// Output:
	// changed: 2 actions
	// changed: 1 actions
}

func ExampleWalk() {
	r := router.New()
	r.Use(logged)
	r.Route("users", func(r router.Router) {
		r.Action("find", refund)
	})
	_ = router.Walk(r, func(d router.Definition) error {
		if d.IsPage {
			fmt.Println("page", d.Slug)
		} else {
			fmt.Println("action", d.Slug, "middlewares:", len(d.Middlewares))
		}
		return nil
	})
	// Output:
	// page users
	// action users/find middlewares: 1
}

func ExampleHumanize() {
	fmt.Println(router.Humanize("refund_user"))
	fmt.Println(router.Humanize("billing/parseURLQuery"))
	// Output:
	// Refund user
	// Parse url query
}
