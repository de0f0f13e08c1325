package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/interval-go/sdk/interval"
)

// customer is the row type of the table and search examples.
type customer struct {
	ID      int       `json:"id" interval:"ID"`
	Name    string    `json:"name" interval:"Name"`
	Email   string    `json:"email" interval:"Email"`
	Plan    string    `json:"plan" interval:"Plan"`
	MRR     float64   `json:"mrr" interval:"MRR,currency=USD"`
	Created time.Time `json:"created" interval:"Created"`
}

func customers(n int) []customer {
	first := []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Edsger", "Frances"}
	plans := []string{"free", "pro", "team"}
	out := make([]customer, n)
	for i := range out {
		out[i] = customer{ID: i + 1, Name: fmt.Sprintf("%s %d", first[i%len(first)], i+1),
			Email: fmt.Sprintf("customer%d@example.com", i+1), Plan: plans[i%len(plans)],
			MRR: float64((i*37)%500) + 0.5, Created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)}
	}
	return out
}

// signup is the struct behind the Form example.
type signup struct {
	Name    string    `interval:"Full name,help=As on the passport,min=2,max=80"`
	Email   string    `interval:"email"`
	Plan    string    `interval:"options=free|pro|team"`
	Seats   int       `interval:"min=1,max=500"`
	Notes   string    `interval:"label=Notes,multiline=3,optional"`
	Starts  time.Time `interval:"label=Starts at"`
	Consent bool      `interval:"label=Accepts the terms"`
}

func init() {
	all := customers(240)
	ioActions = append(ioActions,
		action{"input_slider", "Slider", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.Slider("Discount (%)", 0, 50).Step(5).Default(15).Run(ctx)
		}},
		action{"input_url", "URL input", func(ctx context.Context, tx *interval.Tx) (any, error) {
			u, err := tx.IO.Input.URL("Webhook URL").AllowedProtocols("https").Placeholder("https://example.com/hook").Run(ctx)
			if err != nil {
				return nil, err
			}
			return u.String(), nil
		}},
		action{"input_rich_text", "Rich text", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.RichText("Announcement").Default("<p>New pricing</p>").Run(ctx)
		}},
		action{"input_date", "Date", func(ctx context.Context, tx *interval.Tx) (any, error) {
			d, err := tx.IO.Input.Date("Effective date").Default(interval.Date{Year: 2024, Month: 3, Day: 9}).
				Min(interval.Date{Year: 2024, Month: 1, Day: 1}).Run(ctx)
			return d.String(), err
		}},
		action{"input_time", "Time", func(ctx context.Context, tx *interval.Tx) (any, error) {
			tm, err := tx.IO.Input.Time("Window starts at (UTC)").Min(interval.TimeOfDay{Hour: 6}).Max(interval.TimeOfDay{Hour: 22}).Run(ctx)
			return tm.String(), err
		}},
		action{"input_datetime", "Date and time", func(ctx context.Context, tx *interval.Tx) (any, error) {
			dt, err := tx.IO.Input.DateTime("Trial ends at").Optional().Run(ctx)
			return dt.Time(time.UTC), err
		}},
		action{"input_file", "File upload", func(ctx context.Context, tx *interval.Tx) (any, error) {
			f, err := tx.IO.Input.File("Receipt").AllowedExtensions(".pdf", ".png", ".txt").Run(ctx)
			if err != nil {
				return nil, err
			}
			return map[string]any{"name": f.Name, "size": f.Size, "url": f.URL}, nil
		}},
		action{"input_spreadsheet", "Spreadsheet", func(ctx context.Context, tx *interval.Tx) (any, error) {
			type row struct {
				SKU   string  `json:"sku"`
				Qty   float64 `json:"qty"`
				Rush  bool    `json:"rush"`
				Notes *string `json:"notes"`
			}
			rows, err := interval.Spreadsheet[row](tx.IO, "Order lines").Default(row{SKU: "A-1", Qty: 2}).Run(ctx)
			return len(rows), err
		}},
		action{"select_single", "Select one", func(ctx context.Context, tx *interval.Tx) (any, error) {
			plan, err := interval.SelectSingle(tx.IO, "Plan", []interval.Option[string]{
				{Label: "Free", Value: "free", Description: "Up to 3 seats"},
				{Label: "Pro", Value: "pro", Description: "Unlimited seats"},
				{Label: "Team", Value: "team", Description: "SSO and audit log"},
			}).Searchable().Default("pro").Run(ctx)
			return plan, err
		}},
		action{"select_multiple", "Select several", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Select.Multiple("Channels", "email", "slack", "sms", "push").
				MinSelections(1).MaxSelections(3).Default("email").Run(ctx)
		}},
		action{"select_table", "Select rows from a table", func(ctx context.Context, tx *interval.Tx) (any, error) {
			picked, err := interval.SelectTable(tx.IO, "Customers to notify", all).MinSelections(1).MaxSelections(5).PageSize(10).Run(ctx)
			if err != nil {
				return nil, err
			}
			ids := make([]int, len(picked))
			for i, c := range picked {
				ids[i] = c.ID
			}
			return ids, nil
		}},
		action{"search", "Search", func(ctx context.Context, tx *interval.Tx) (any, error) {
			c, err := interval.Search(tx.IO, "Find a customer", func(ctx context.Context, q string) ([]customer, error) {
				var out []customer
				for _, c := range all {
					if strings.Contains(strings.ToLower(c.Name+" "+c.Email), strings.ToLower(q)) {
						out = append(out, c)
						if len(out) == 10 {
							break
						}
					}
				}
				return out, nil
			}, func(c customer) interval.SearchResult {
				return interval.SearchResult{Label: c.Name, Description: c.Email}
			}).InitialResults(all[:5]...).Run(ctx)
			return c.Email, err
		}},
		action{"confirm_identity", "Confirm identity", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.ConfirmIdentity("Confirm to rotate the signing key").GracePeriod(5 * time.Minute).Run(ctx)
		}},
		action{"form_from_struct", "Form from a Go struct", func(ctx context.Context, tx *interval.Tx) (any, error) {
			s, err := interval.Form[signup](tx.IO, "New account").Validate(func(s *signup) error {
				if !s.Consent {
					return errors.New("The terms must be accepted")
				}
				return nil
			}).Run(ctx)
			return s, err
		}},
		action{"display_table", "Table", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, interval.DisplayTable(tx.IO, "Customers", all).PageSize(10).
				RowMenu(func(c customer) []interval.MenuItem {
					return []interval.MenuItem{
						{Label: "Notify", Route: "select_table", Params: map[string]any{"id": c.ID}, Theme: interval.ThemePrimary},
						{Label: "Close account", Route: "confirm", Theme: interval.ThemeDanger},
						{Label: "Export (soon)"},
					}
				}).Run(ctx)
		}},
		action{"display_table_async", "Table (async source)", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, interval.DisplayTableAsync(tx.IO, "Customers (server-side paging)", func(ctx context.Context, st interval.TableState) ([]customer, int, error) {
				return queryCustomers(all, st)
			}).Run(ctx)
		}},
		action{"display_grid", "Grid", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, interval.DisplayGrid(tx.IO, "Plans", all[:12], func(c customer) interval.GridItem {
				return interval.GridItem{Label: c.Name, Description: c.Plan, Route: "search"}
			}).IdealColumnWidth(220).Run(ctx)
		}},
		action{"display_code", "Code", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.Code("main.go", "package main\n\nfunc main() {}\n").Language("go").Run(ctx)
		}},
		action{"display_html", "HTML", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.HTML("Notice", "<p>Scheduled <strong>maintenance</strong> on Sunday.</p>").Run(ctx)
		}},
		action{"display_image", "Image", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.Image("Logo", "https://example.com/logo.png").Alt("Logo").Size(interval.SizeSmall).Run(ctx)
		}},
		action{"display_link", "Link", func(ctx context.Context, tx *interval.Tx) (any, error) {
			if err := tx.IO.Display.Link("Open the docs", "https://example.com/docs").Theme(interval.ThemePrimary).Run(ctx); err != nil {
				return nil, err
			}
			return nil, tx.IO.Display.Link("Search customers", "").Route("search", map[string]any{"q": "ada"}).Run(ctx)
		}},
		action{"display_object", "Object", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.Object("Customer", all[0]).Run(ctx)
		}},
		action{"display_video", "Video", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.Video("Walkthrough", "https://example.com/intro.mp4").Size(interval.SizeMedium).Muted().Loop().Run(ctx)
		}},
		action{"display_metadata", "Metadata", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.Metadata("Account",
				interval.MetaItem{Label: "Name", Value: "Ada Lovelace"},
				interval.MetaItem{Label: "Created", Value: time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)},
				interval.MetaItem{Label: "Docs", Value: "Open", URL: "https://example.com"},
				interval.MetaItem{Label: "Plan", Value: "pro", Route: "select_single"},
				// Computed after the metadata is shown, which is updated when
				// it arrives (a slow lookup would not hold the display back).
				interval.MetaItem{Label: "Open invoices", Lazy: func(ctx context.Context) (any, error) {
					return len(all) / 80, nil
				}},
			).Layout("card").Run(ctx)
		}},
		action{"display_progress_steps", "Progress steps", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.ProgressSteps("Migrating", 2, 5).CurrentStep("Copying rows").SubTitle("orders").Run(ctx)
		}},
		action{"display_progress_indeterminate", "Progress (indeterminate)", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.ProgressIndeterminate("Waiting for the bank").Run(ctx)
		}},
		action{"display_progress_through_list", "Progress through a list", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.IO.Display.ProgressThroughList("Checks",
				interval.ProgressItem{Label: "Database", IsComplete: true, Result: "ok"},
				interval.ProgressItem{Label: "Cache"}).Run(ctx)
		}},
		action{"display_grid_async", "Grid (async source)", func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, interval.DisplayGridAsync(tx.IO, "Customers (server-side paging)", func(ctx context.Context, st interval.TableState) ([]customer, int, error) {
				return queryCustomers(all, st)
			}, func(c customer) interval.GridItem {
				return interval.GridItem{Label: c.Name, Description: c.Email, Menu: []interval.MenuItem{{Label: "Find", Route: "search"}}}
			}).Run(ctx)
		}},
		action{"search_multiple", "Search (several results)", func(ctx context.Context, tx *interval.Tx) (any, error) {
			picked, err := interval.Search(tx.IO, "Customers", func(ctx context.Context, q string) ([]customer, error) {
				var out []customer
				for _, c := range all {
					if strings.Contains(strings.ToLower(c.Name), strings.ToLower(q)) && len(out) < 10 {
						out = append(out, c)
					}
				}
				return out, nil
			}, func(c customer) interval.SearchResult {
				return interval.SearchResult{Label: c.Name, Description: c.Email}
			}).Multiple().Default(all[0]).Run(ctx)
			return len(picked), err
		}},
		action{"input_file_multiple", "File upload (several files)", func(ctx context.Context, tx *interval.Tx) (any, error) {
			files, err := tx.IO.Input.File("Attachments").Multiple().Optional().Run(ctx)
			return len(files), err
		}},
	)
}

// queryCustomers answers an async table or grid as a database query would:
// the rows matching the operator's filter, sorted by the column they chose,
// one page of them, and how many matched.
func queryCustomers(all []customer, st interval.TableState) ([]customer, int, error) {
	q := strings.ToLower(strings.TrimSpace(st.Query))
	var rows []customer
	for _, c := range all {
		if q == "" || strings.Contains(strings.ToLower(c.Name+" "+c.Email+" "+c.Plan), q) {
			rows = append(rows, c)
		}
	}
	by := map[string]func(a, b customer) int{
		"id":      func(a, b customer) int { return cmp.Compare(a.ID, b.ID) },
		"name":    func(a, b customer) int { return strings.Compare(a.Name, b.Name) },
		"email":   func(a, b customer) int { return strings.Compare(a.Email, b.Email) },
		"plan":    func(a, b customer) int { return strings.Compare(a.Plan, b.Plan) },
		"mrr":     func(a, b customer) int { return cmp.Compare(a.MRR, b.MRR) },
		"created": func(a, b customer) int { return a.Created.Compare(b.Created) },
	}
	if f, ok := by[strings.ToLower(st.SortColumn)]; ok {
		slices.SortStableFunc(rows, func(a, b customer) int {
			if st.SortDirection == "desc" {
				return f(b, a)
			}
			return f(a, b)
		})
	}
	end := min(st.Offset+st.PageSize, len(rows))
	if st.Offset >= end {
		return nil, len(rows), nil
	}
	return rows[st.Offset:end], len(rows), nil
}
