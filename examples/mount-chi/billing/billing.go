// Package billing is a feature package that exports its own actions, the Go
// equivalent of an Interval routesDirectory folder: the main router mounts
// it and it becomes a page in the console.
package billing

import (
	"context"
	"fmt"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/router"
)

// Routes returns the billing actions, restricted to the finance team. It
// returns the interface, as a chi feature package returns an http.Handler:
// the main program mounts it without depending on how it is built.
func Routes() interval.Routes {
	r := router.New(router.Name("Billing"), router.Description("Invoices and refunds"))
	r.Use(middleware.RequireTeams("finance"))
	r.Action("refund", func(ctx context.Context, tx *interval.Tx) (any, error) {
		id, _ := tx.Params.String("invoice")
		amount, err := tx.IO.Input.Number("Amount to refund").Currency(interval.EUR).Min(0.01).Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("refunded €%.2f on invoice %s", amount, id), nil
	}, router.Name("Refund an invoice"), router.Teams("finance"))
	return r
}
