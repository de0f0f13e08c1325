package interval_test

import (
	"context"
	"fmt"
	"time"

	"github.com/interval-go/sdk/interval"
)

// A form from a struct: one input per field, configured by tags; Run
// returns the filled struct.
func ExampleForm() {
	type Refund struct {
		Email  string  `interval:"Customer email,email"`
		Amount float64 `interval:"min=0,max=500,currency=USD"`
		Reason string  `interval:"options=damaged|late|other"`
		Note   *string `interval:"multiline=3"` // pointer: optional
	}
	_ = func(ctx context.Context, tx *interval.Tx) (any, error) {
		r, err := interval.Form[Refund](tx, "Refund an order").
			Validate(func(r *Refund) error {
				if r.Reason == "other" && r.Note == nil {
					return &interval.FormError{Field: "Note", Message: "Please explain."}
				}
				return nil
			}).Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("refunded %.2f to %s", r.Amount, r.Email), nil
	}
}

// Typed selects: Run returns the chosen option's Go value.
func ExampleSelectSingle() {
	type Plan struct{ Name, Price string }
	_ = func(ctx context.Context, tx *interval.Tx) (any, error) {
		plan, err := interval.SelectSingle(tx, "Plan", []interval.Option[Plan]{
			{Label: "Free", Value: Plan{"free", "$0"}},
			{Label: "Pro", Value: Plan{"pro", "$10"}, Description: "For teams"},
		}).Run(ctx)
		return plan.Name, err
	}
}

// A table over a slice of structs: the host answers paging, search and
// sort, so it works for millions of rows.
func ExampleDisplayTable() {
	type User struct {
		ID      int       `json:"id"`
		Email   string    `json:"email" interval:"Email address"`
		Created time.Time `json:"created"`
	}
	var users []User // loaded from somewhere
	_ = func(ctx context.Context, tx *interval.Tx) (any, error) {
		err := interval.DisplayTable(tx, "Users", users).
			Columns(
				interval.Column[User]{Label: "ID", Accessor: "id"},
				interval.Column[User]{Label: "Email", Accessor: "email", Render: func(u User) interval.Cell {
					return interval.Cell{Label: u.Email, URL: "mailto:" + u.Email}
				}},
				interval.Column[User]{Label: "Created", Accessor: "created"},
			).
			RowMenu(func(u User) []interval.MenuItem {
				return []interval.MenuItem{{Label: "Edit", Route: "users/edit", Params: map[string]any{"id": u.ID}}}
			}).
			PageSize(20).Run(ctx)
		return nil, err
	}
}

// The *Tx is the Source of the generic constructors in an action, the
// *Page in a page; among plain strings, tx.IO.Select.Single and Multiple.
func ExampleSelectTable() {
	type Order struct {
		ID    int     `json:"id"`
		Total float64 `json:"total"`
	}
	var orders []Order // loaded from somewhere
	refund := func(ctx context.Context, tx *interval.Tx) (any, error) {
		picked, err := interval.SelectTable(tx, "Orders to refund", orders).MinSelections(1).Run(ctx)
		if err != nil {
			return nil, err
		}
		reason, err := tx.IO.Select.Single("Reason", "damaged", "late", "other").Run(ctx)
		return fmt.Sprintf("%d orders refunded (%s)", len(picked), reason), err
	}
	overview := func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "Orders", Children: []interval.Component{interval.DisplayTable(p, "Recent", orders)}}, nil
	}
	_, _ = refund, overview
}
