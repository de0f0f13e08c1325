package testhost

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

var (
	firstNames = []string{"Ava", "Mateo", "Kenji", "Zoe", "Liam", "Sofia", "Priya", "Ivan", "Noah", "Leila", "Emma", "Diego", "Hana", "Tariq", "Mia", "Lucas"}
	lastNames  = []string{"Nguyen", "Okafor", "Cohen", "Tanaka", "Dubois", "Garcia", "Novak", "Kowalski", "Silva", "Rossi", "Larsen", "Patel"}
	domains    = []string{"globex.com", "hooli.com", "initech.com", "piedpiper.com", "soylentco.com", "starklogistics.com"}
	statuses   = []struct{ Label, Color string }{{"Paid", "green"}, {"Pending", "yellow"}, {"Refunded", "gray"}, {"Failed", "red"}, {"Disputed", "orange"}}
)

// Orders returns n made-up order records: id, customer, email, items,
// amount ({label, value}), status ({label, highlightColor}) and created.
func Orders(n int) []map[string]any {
	out := make([]map[string]any, n)
	base := time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		f, l := firstNames[(i*7)%len(firstNames)], lastNames[(i*5)%len(lastNames)]
		amt := float64((i*7919+1301)%150000)/100 + 12
		st := statuses[(i*3)%len(statuses)]
		out[i] = map[string]any{
			"id":       fmt.Sprintf("ord_%d", 48213+i*131),
			"customer": f + " " + l,
			"email":    strings.ToLower(f+"."+l) + "@" + domains[i%len(domains)],
			"items":    1 + (i*5)%6,
			"amount":   map[string]any{"label": fmt.Sprintf("$%s", money(amt)), "value": amt},
			"status":   map[string]any{"label": st.Label, "highlightColor": st.Color},
			"created":  base.Add(time.Duration(i) * 25 * time.Hour).Format(protocol.JSTimeLayout),
		}
	}
	return out
}

func money(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	intPart, dec := s[:len(s)-3], s[len(s)-3:]
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + dec
}

// OrderColumns are the columns of Orders.
var OrderColumns = []Column{
	{Label: "Order", AccessorKey: "id"}, {Label: "Customer", AccessorKey: "customer"}, {Label: "Email", AccessorKey: "email"},
	{Label: "Items", AccessorKey: "items"}, {Label: "Amount", AccessorKey: "amount"}, {Label: "Status", AccessorKey: "status"},
	{Label: "Created", AccessorKey: "created"},
}

// PlanOptions are rich select options.
var PlanOptions = []map[string]any{
	{"label": "Starter", "value": "starter", "description": "Up to 5 seats, community support"},
	{"label": "Team", "value": "team", "description": "Up to 50 seats, email support"},
	{"label": "Business", "value": "business", "description": "Unlimited seats, SSO, priority support"},
	{"label": "Enterprise", "value": "enterprise", "description": "Custom contract and a dedicated manager"},
}

const chartSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="200" viewBox="0 0 480 200"><rect width="480" height="200" fill="#f8fafc"/><g fill="#3b82f6">` +
	`<rect x="20" y="120" width="28" height="60"/><rect x="58" y="100" width="28" height="80"/><rect x="96" y="110" width="28" height="70"/><rect x="134" y="80" width="28" height="100"/>` +
	`<rect x="172" y="90" width="28" height="90"/><rect x="210" y="60" width="28" height="120"/><rect x="248" y="70" width="28" height="110"/><rect x="286" y="50" width="28" height="130"/>` +
	`<rect x="324" y="40" width="28" height="140"/><rect x="362" y="55" width="28" height="125"/><rect x="400" y="30" width="28" height="150"/><rect x="438" y="20" width="28" height="160"/></g></svg>`

// ChartURL is a small bar chart as a data: URL.
var ChartURL = "data:image/svg+xml;charset=utf-8," + strings.NewReplacer("<", "%3C", ">", "%3E", "#", "%23", `"`, "'").Replace(chartSVG)

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func val(raw json.RawMessage) any {
	var v any
	_ = json.Unmarshal(raw, &v)
	return v
}

// KitchenSink returns demo actions and pages that use every IO method.
func KitchenSink() ([]Action, []Page) {
	f := false
	actions := []Action{
		{Slug: "hello", Name: "Hello, world", Description: "Asks your name and greets you.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			a, err := t.IO([]*Comp{{Method: "INPUT_TEXT", Label: "Your name", Props: map[string]any{"placeholder": "Ada Lovelace"}}}, CallOptions{})
			if err != nil {
				return nil, err
			}
			return "Hello, " + str(a.Values[0]) + "!", nil
		}},
		{Slug: "all_inputs", Name: "Every input", Description: "Each input method with labels, help text, defaults and constraints.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			comps := []*Comp{
				{Method: "INPUT_TEXT", Label: "Display name", Props: map[string]any{"placeholder": "Jane Doe", "helpText": "Shown on invoices.", "minLength": 2, "maxLength": 60}},
				{Method: "INPUT_EMAIL", Label: "Work email", Props: map[string]any{"placeholder": "jane@company.com"}},
				{Method: "INPUT_NUMBER", Label: "Refund amount", Props: map[string]any{"currency": "USD", "min": 1, "max": 500, "decimals": 2, "helpText": "Up to the order total."}},
				{Method: "INPUT_NUMBER", Label: "Seats", Props: map[string]any{"min": 1}, Optional: true},
				{Method: "INPUT_SLIDER", Label: "Discount (%)", Props: map[string]any{"min": 0, "max": 50, "step": 5, "defaultValue": 15}},
				{Method: "INPUT_URL", Label: "Webhook URL", Props: map[string]any{"placeholder": "https://", "allowedProtocols": []string{"https"}}, Optional: true},
				{Method: "INPUT_BOOLEAN", Label: "Subscribed to product updates", Props: map[string]any{"defaultValue": true, "helpText": "Sends at most one email a month."}},
				{Method: "INPUT_RICH_TEXT", Label: "Announcement", Props: map[string]any{"defaultValue": "<h2>New pricing</h2><p>Starting <strong>next month</strong>…</p>"}, Optional: true},
				{Method: "INPUT_DATE", Label: "Effective date", Props: map[string]any{"min": map[string]int{"year": 2025, "month": 1, "day": 1}, "defaultValue": map[string]int{"year": 2026, "month": 12, "day": 1}}},
				{Method: "INPUT_TIME", Label: "Window starts at (UTC)", Props: map[string]any{"defaultValue": map[string]int{"hour": 2, "minute": 30}}},
				{Method: "INPUT_DATETIME", Label: "Trial ends at", Props: map[string]any{}, Optional: true},
				{Method: "UPLOAD_FILE", Label: "Customer export", Props: map[string]any{"allowedExtensions": []string{".csv", ".txt"}, "helpText": "A CSV with one customer per line."}, Optional: true},
				{Method: "INPUT_SPREADSHEET", Label: "Line items", Props: map[string]any{"columns": map[string]string{"sku": "string", "quantity": "number", "gift": "boolean?"},
					"defaultValue": []map[string]any{{"sku": "SKU-001", "quantity": 2, "gift": false}}}},
				{Method: "INPUT_TEXT", Label: "Internal note", Props: map[string]any{"multiline": true, "lines": 3, "placeholder": "Visible to support staff only"}, Optional: true},
			}
			a, err := t.IO(comps, CallOptions{Choices: []protocol.ChoiceButton{{Label: "Save", Value: "save", Theme: "primary"}, {Label: "Save as draft", Value: "draft", Theme: "secondary"}, {Label: "Discard", Value: "discard", Theme: "danger"}}})
			if err != nil {
				return nil, err
			}
			out := map[string]any{"choice": a.Choice}
			for i, c := range comps {
				out[c.Label] = val(a.Values[i])
			}
			return out, nil
		}},
		{Slug: "selects", Name: "Selects and search", Description: "Rich single select, multiple select and a host-side search.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			people := Orders(40)
			search := &Comp{Method: "SEARCH", Label: "Find a customer", Props: map[string]any{"placeholder": "Type a name", "results": []any{}}, Optional: true}
			search.OnState = func(raw json.RawMessage) map[string]any {
				var st struct{ QueryTerm string }
				_ = json.Unmarshal(raw, &st)
				var res []map[string]any
				for _, p := range people {
					if st.QueryTerm != "" && strings.Contains(strings.ToLower(p["customer"].(string)), strings.ToLower(st.QueryTerm)) && len(res) < 8 {
						res = append(res, map[string]any{"value": p["id"], "label": p["customer"], "description": p["email"]})
					}
				}
				if res == nil {
					res = []map[string]any{}
				}
				return map[string]any{"results": res}
			}
			a, err := t.IO([]*Comp{
				{Method: "SELECT_SINGLE", Label: "New plan", Props: map[string]any{"options": PlanOptions, "defaultValue": PlanOptions[1], "searchable": true, "helpText": "Takes effect at the next renewal."}},
				{Method: "SELECT_MULTIPLE", Label: "Permissions", Props: map[string]any{"options": []map[string]any{{"label": "Read", "value": "read"}, {"label": "Write", "value": "write"}, {"label": "Billing", "value": "billing"}, {"label": "Admin", "value": "admin"}},
					"defaultValue": []map[string]any{{"label": "Read", "value": "read"}}, "minSelections": 1}},
				search,
			}, CallOptions{})
			if err != nil {
				return nil, err
			}
			return map[string]any{"plan": val(a.Values[0]), "permissions": val(a.Values[1]), "customer": val(a.Values[2])}, nil
		}},
		{Slug: "displays", Name: "Every display", Description: "Headings, markdown, HTML, code, images, links, metadata, objects and progress.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			_, err := t.IO([]*Comp{
				{Method: "DISPLAY_HEADING", Label: "Account overview", Props: map[string]any{"level": 2, "description": "Globex Corporation · customer since 2021",
					"menuItems": []map[string]any{{"label": "Refund", "route": "hello", "theme": "primary"}, {"label": "Docs", "url": "https://example.com", "theme": "secondary"}, {"label": "Suspend", "route": "hello", "theme": "danger"}}}},
				{Method: "DISPLAY_MARKDOWN", Label: "## Release notes\n\nThis release adds **faster exports**, _saved filters_ and `CSV` imports. See [the docs](https://example.com).\n\n1. Open **Settings**\n   - pick *Exports*\n2. Click `Run`\n\n```bash\ncurl -X POST https://api.example.com/v1/exports\n```\n\n> Exports older than 30 days are deleted.\n\n<script>alert('xss')</script>", Props: map[string]any{}},
				{Method: "DISPLAY_HTML", Label: "Receipt email preview", Props: map[string]any{"html": `<h3>Thanks for your order!</h3><p>Order <b>ord_48213</b> ships <i>tomorrow</i>.</p><img src=x onerror="alert(1)"><a href="javascript:alert(1)">bad link</a> <a href="https://example.com">Track it</a>`}},
				{Method: "DISPLAY_CODE", Label: "Last webhook delivery", Props: map[string]any{"code": "{\n  \"event\": \"invoice.paid\",\n  \"amount\": 1326.04,\n  \"currency\": \"usd\"\n}", "language": "json"}},
				{Method: "DISPLAY_IMAGE", Label: "Weekly signups", Props: map[string]any{"url": ChartURL, "alt": "Bar chart of weekly signups", "size": "medium"}},
				{Method: "DISPLAY_IMAGE", Label: "Logo", Props: map[string]any{"url": "/assets/no-such-logo.png", "alt": "Company logo", "size": "small"}},
				{Method: "DISPLAY_LINK", Label: "Open the docs", Props: map[string]any{"url": "https://example.com", "theme": "secondary"}},
				{Method: "DISPLAY_METADATA", Label: "Customer", Props: map[string]any{"layout": "card", "data": []map[string]any{{"label": "MRR", "value": "$12,400"}, {"label": "Seats", "value": 48}, {"label": "Plan", "value": "Business"}, {"label": "Health", "error": "Could not load the health score"}}}},
				{Method: "DISPLAY_METADATA", Label: "Details", Props: map[string]any{"layout": "grid", "data": []map[string]any{{"label": "Email", "value": "ava@globex.com", "url": "mailto:ava@globex.com"}, {"label": "Created", "value": "2021-03-02T10:00:00.000Z"}, {"label": "Owner", "value": "Priya Patel", "route": "hello"}, {"label": "Region", "value": "eu-west-1"}}}},
				{Method: "DISPLAY_OBJECT", Label: "Raw record", Props: map[string]any{"data": map[string]any{"id": "usr_7k2d0", "active": true, "balance": 1204.5, "tags": []string{"vip", "beta"}, "address": map[string]any{"city": "Lisbon", "zip": "1100-148"}}}},
				{Method: "DISPLAY_PROGRESS_STEPS", Label: "Migration", Props: map[string]any{"steps": map[string]int{"completed": 3, "total": 5}, "currentStep": "Copying invoices"}},
				{Method: "DISPLAY_GRID", Label: "Add-ons", Props: map[string]any{"idealColumnWidth": 180, "isFilterable": false, "data": []map[string]any{
					{"key": "0", "data": map[string]any{"label": "Extra seats", "description": "10 more seats", "image": map[string]any{"url": ChartURL, "aspectRatio": 1.6, "fit": "cover"}, "route": "hello"}},
					{"key": "1", "data": map[string]any{"label": "Priority support", "description": "4-hour response", "image": map[string]any{"url": ChartURL, "aspectRatio": 1.6, "fit": "cover"},
						"menu": []map[string]any{{"label": "Details", "route": "hello"}, {"label": "Remove", "route": "hello", "theme": "danger"}}}},
					{"key": "2", "data": map[string]any{"label": "SSO", "description": "SAML and OIDC"}},
				}}},
				{Method: "DISPLAY_PROGRESS_THROUGH_LIST", Label: "Checks", Props: map[string]any{"items": []map[string]any{{"label": "Billing", "isComplete": true, "resultDescription": "OK"}, {"label": "Seats", "isComplete": false, "resultDescription": nil}}}},
				{Method: "DISPLAY_PROGRESS_INDETERMINATE", Label: "Waiting for the bank", Props: map[string]any{}},
			}, CallOptions{})
			return nil, err
		}},
		{Slug: "tables", Name: "Orders table", Description: "A 50-row table with sorting, search and paging, and a grid.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			tbl := &StaticTable{Rows: Rows(Orders(50))}
			for i := range tbl.Rows {
				tbl.Rows[i].Menu = []any{map[string]any{"label": "View order", "url": "https://example.com"}, map[string]any{"label": "Issue refund", "route": "hello"}, map[string]any{"label": "Cancel order", "route": "hello", "theme": "danger"}}
			}
			grid := &StaticTable{Rows: nil}
			items := []map[string]any{}
			for i, n := range []string{"Extra seats", "Priority support", "SSO", "Audit log", "Data export", "Sandbox"} {
				items = append(items, map[string]any{"key": fmt.Sprint(i), "data": map[string]any{"label": n, "description": "Add-on for Business plans", "image": map[string]any{"url": ChartURL, "aspectRatio": 4.0 / 3, "fit": "cover"}}})
			}
			_ = grid
			_, err := t.IO([]*Comp{
				tbl.Comp("DISPLAY_TABLE", "Orders (last 30 days)", OrderColumns, map[string]any{"helpText": "Click a column header to sort; use the filter to search."}),
				{Method: "DISPLAY_GRID", Label: "Add-ons", Props: map[string]any{"data": items, "idealColumnWidth": 220, "isFilterable": false}},
			}, CallOptions{})
			return nil, err
		}},
		{Slug: "confirm", Name: "Delete workspace", Description: "A confirmation, then identity confirmation.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			a, err := t.IO([]*Comp{{Method: "CONFIRM", Label: `Delete workspace "Globex Staging"?`, Props: map[string]any{"helpText": "This removes 14 environments and cannot be undone."}}}, CallOptions{})
			if err != nil {
				return nil, err
			}
			if string(a.Values[0]) != "true" {
				return "Kept the workspace.", nil
			}
			b, err := t.IO([]*Comp{{Method: "CONFIRM_IDENTITY", Label: "Deleting a workspace needs your password.", Props: map[string]any{"gracePeriodMs": 0}}}, CallOptions{})
			if err != nil {
				return nil, err
			}
			return map[string]any{"deleted": string(b.Values[0]) == "true"}, nil
		}},
		{Slug: "import_accounts", Name: "Import accounts", Description: "Streams logs and a progress bar, then returns an object.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			n := 6
			t.Loading(protocol.LoadingState{Label: "Importing accounts", Description: "Reading the export…"})
			for i := range n {
				done := i
				t.Loading(protocol.LoadingState{Label: "Importing accounts", Description: "Writing to the database", ItemsInQueue: &n, ItemsCompleted: &done})
				t.Log(fmt.Sprintf("Imported account %d of %d", i+1, n))
				select {
				case <-ctx.Done():
					return nil, ErrCanceled
				case <-time.After(250 * time.Millisecond):
				}
			}
			t.Log(`{"skipped": 0, "warnings": []}`)
			return map[string]any{"accounts": n, "adjusted": 3, "finishedAt": time.Now().UTC(), "dryRun": false}, nil
		}},
		{Slug: "charge_card", Name: "Charge card", Description: "Fails with an error.", WarnOnClose: &f, Handler: func(ctx context.Context, t *Tx) (any, error) {
			return nil, fmt.Errorf("card declined: insufficient funds (code 51)")
		}},
		{Slug: "go_hello", Name: "Redirect to Hello", Description: "Redirects to another action with params.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			return nil, t.Redirect(protocol.Redirect{Route: "hello", Params: map[string]any{"from": "redirect"}})
		}},
		{Slug: "refund", GroupSlug: "support", Name: "Refund order", Description: "A group with choice buttons and an optional field.", Handler: func(ctx context.Context, t *Tx) (any, error) {
			a, err := t.IO([]*Comp{
				{Method: "INPUT_TEXT", Label: "Order ID", Props: map[string]any{"defaultValue": "ord_48213"}},
				{Method: "INPUT_NUMBER", Label: "Amount", Props: map[string]any{"currency": "USD", "min": 1, "max": 500, "decimals": 2}},
				{Method: "SELECT_SINGLE", Label: "Reason", Props: map[string]any{"options": []map[string]any{{"label": "Damaged", "value": "damaged"}, {"label": "Late", "value": "late"}, {"label": "Other", "value": "other"}}}},
				{Method: "INPUT_TEXT", Label: "Internal note", Props: map[string]any{"multiline": true, "placeholder": "Visible to support staff only"}, Optional: true},
			}, CallOptions{Choices: []protocol.ChoiceButton{{Label: "Refund to card", Value: "card", Theme: "primary"}, {Label: "Issue store credit", Value: "credit", Theme: "secondary"}, {Label: "Cancel", Value: "cancel", Theme: "danger"}},
				Validate: func(a Answer) string {
					if a.Choice == "credit" && string(a.Values[1]) != "null" && val(a.Values[1]).(float64) > 100 {
						return "Store credit is limited to $100."
					}
					return ""
				}})
			if err != nil {
				return nil, err
			}
			return map[string]any{"order": str(a.Values[0]), "amount": val(a.Values[1]), "how": a.Choice}, nil
		}},
		{Slug: "secret_tool", Name: "Secret tool", Unlisted: true, Handler: func(ctx context.Context, t *Tx) (any, error) { return "found it", nil }},
	}
	pages := []Page{
		{Slug: "support", Name: "Support", Description: "Tools for the support team."},
		{Slug: "customers", Name: "Customers", Description: "Accounts and their health.", Handler: func(ctx context.Context, p *PageCtx) (*Layout, error) {
			tbl := &StaticTable{Rows: Rows(Orders(15))}
			return &Layout{Title: "Customers", Description: "Every paying account, updated hourly.",
				MenuItems: []protocol.ButtonItem{{Label: "Import", Route: "import_accounts", Theme: "secondary"}, {Label: "Refund order", Route: "support/refund", Theme: "primary"}},
				Children: []*Comp{
					{Method: "DISPLAY_METADATA", Label: "", Props: map[string]any{"layout": "card", "data": []map[string]any{{"label": "Accounts", "value": 1284}, {"label": "MRR", "value": "$184,200"}, {"label": "Churn", "value": "1.9%"}, {"label": "NPS", "value": 62}}}},
					tbl.Comp("DISPLAY_TABLE", "Recent orders", OrderColumns, map[string]any{"defaultPageSize": 10}),
				}}, nil
		}},
	}
	return actions, pages
}
