package console_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// The operator's main flow, run against hosts built with the real SDKs: the
// Go SDK (interval, router) in TestBrowserGoSDKHost and the official Node
// SDK 2.0.0 (server/testdata/nodehost/host.js) in TestBrowserNodeHost. Both
// hosts declare the same action, "Refund orders", over the same 50 orders,
// and the same page, "Orders overview".

// flowOrder is one row of the flow's table; host.js builds the same rows.
type flowOrder struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Amount   int    `json:"amount"`
	Status   string `json:"status"`
}

// flowOrders returns the 50 orders: amounts are distinct three-digit
// numbers, so sorting them as numbers or as text gives the same order, and
// one order in five has failed.
func flowOrders() []flowOrder {
	names := []string{"Ada", "Grace", "Linus", "Margaret", "Ken"}
	statuses := []string{"Paid", "Paid", "Refunded", "Failed", "Paid"}
	out := make([]flowOrder, 50)
	for i := range out {
		out[i] = flowOrder{
			ID:       fmt.Sprintf("ord-%03d", i+1),
			Customer: fmt.Sprintf("%s %d", names[i%5], i+1),
			Amount:   100 + i*37%900,
			Status:   statuses[i%5],
		}
	}
	return out
}

// flowRoutes is the Go SDK host of the flow.
func flowRoutes() *router.Mux {
	orders := flowOrders()
	r := router.New()
	r.Action("refund_orders", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name := tx.IO.Input.Text("Customer name").Validate(func(s string) error {
			if len(strings.TrimSpace(s)) < 2 {
				return errors.New("Please enter at least 2 characters.")
			}
			return nil
		})
		amount := tx.IO.Input.Number("Amount").Min(1)
		plan := interval.SelectSingle(tx.IO, "Plan", []interval.Option[string]{
			{Label: "Basic", Value: "basic"}, {Label: "Business", Value: "business"}, {Label: "Enterprise", Value: "enterprise"},
		})
		picked := interval.SelectTable(tx.IO, "Orders", orders).Columns(
			interval.Column[flowOrder]{Label: "ID", Accessor: "id"},
			interval.Column[flowOrder]{Label: "Customer", Accessor: "customer"},
			interval.Column[flowOrder]{Label: "Amount", Accessor: "amount"},
			interval.Column[flowOrder]{Label: "Status", Accessor: "status"},
		).MinSelections(1).MaxSelections(1).PageSize(10)
		if _, err := tx.IO.Group(name, amount, plan, picked).Run(ctx); err != nil {
			return nil, err
		}
		return map[string]any{"customer": name.Value(), "amount": amount.Value(), "plan": plan.Value(), "order": picked.Value()[0].ID}, nil
	}, router.Name("Refund orders"), router.Description("Pick a failed order and refund it."))
	r.Page("orders_overview", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "Orders overview", Description: "All orders of the flow.",
			Children: []interval.Component{p.Display.Markdown(fmt.Sprintf("**%d** orders", len(orders)))}}, nil
	}, router.Name("Orders overview"))
	return r
}

// startGoHost connects a Go SDK host serving flowRoutes to e with a
// development key; the test's cleanup closes it.
func startGoHost(t *testing.T, e *env) {
	t.Helper()
	key, err := e.srv.CreateAPIKey(context.Background(), opEmail, "development")
	if err != nil {
		t.Fatal(err)
	}
	c, err := interval.New(interval.Options{Endpoint: "ws" + strings.TrimPrefix(e.url, "http") + "/websocket", APIKey: key,
		Routes: flowRoutes(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Listen(context.Background()) }()
	t.Cleanup(func() {
		c.Close()
		select {
		case err := <-done:
			if !errors.Is(err, interval.ErrClosed) {
				t.Errorf("Listen returned %v, want ErrClosed", err)
			}
		case <-time.After(waitLimit):
			t.Error("Listen did not return after Close")
		}
	})
}

// operatorFlow runs, as an operator in the browser: the action with text,
// number, select and a table (page 2, sort, search, select a row), a
// validation error from the host and its fix, the result; a second run
// canceled; the page; and the history of both runs.
func operatorFlow(t *testing.T, e *env, shot string) {
	t.Helper()
	orders := flowOrders()
	byAmount := slices.Clone(orders)
	slices.SortFunc(byAmount, func(a, b flowOrder) int { return a.Amount - b.Amount })
	cheapestFailed := byAmount[slices.IndexFunc(byAmount, func(o flowOrder) bool { return o.Status == "Failed" })]

	e.navigate("/")
	e.waitText(".cards", "Refund orders")
	e.clickButton("Refund orders")
	e.waitText("h1", "Refund orders")
	e.waitText("[data-label=Orders] .pager-text", "1 – 10 of 50")
	e.typeInto(field("Customer name", "input"), "A")
	e.typeInto(field("Amount", "input"), "42")
	e.do(chromedp.Click(chromedp.CSS(field("Plan", ".select-trigger")), chromedp.NodeVisible))
	e.do(chromedp.Click(`//li[@role="option"][.//span[normalize-space(.)="Business"]]`, chromedp.NodeVisible))
	e.waitText(field("Plan", ".select-trigger"), "Business")

	// Page 2, then sort by amount, then search: each a state update the host answers.
	e.do(chromedp.Click(chromedp.CSS(`[data-label=Orders] button[aria-label="Next page of Orders"]`), chromedp.NodeVisible))
	e.waitText("[data-label=Orders] .pager-text", "11 – 20 of 50")
	e.waitJS(fmt.Sprintf(`(document.querySelector('[data-label=Orders] tbody td:not(.col-check)') || {}).innerText === %s`, js(orders[10].ID)), "the first order of page 2")
	e.do(chromedp.Click(`//th//button[normalize-space(.)="Amount"]`, chromedp.NodeVisible))
	e.waitJS(fmt.Sprintf(`(document.querySelector('[data-label=Orders] tbody td:not(.col-check)') || {}).innerText === %s`, js(byAmount[0].ID)), "the cheapest order first")
	e.waitText("[data-label=Orders] .pager-text", "1 – 10 of 50")
	e.typeInto("[data-label=Orders] .filter input", "failed")
	e.waitText("[data-label=Orders] .pager-text", "1 – 10 of 10")
	e.waitJS(fmt.Sprintf(`(document.querySelector('[data-label=Orders] tbody td:not(.col-check)') || {}).innerText === %s`, js(cheapestFailed.ID)), "the cheapest failed order first")
	if txt := e.text("[data-label=Orders] tbody"); strings.Contains(txt, "Paid") || strings.Contains(txt, "Refunded") {
		t.Errorf("search for failed orders shows others:\n%s", txt)
	}
	e.do(chromedp.Click(chromedp.CSS(`[data-label=Orders] tbody tr:first-child input[type=checkbox]`), chromedp.NodeVisible))
	e.waitText("[data-label=Orders] .table-sel", "1 selected · select 1")
	if eval[bool](e, `!!document.querySelector('[data-label=Orders] thead input[type=checkbox]')`) {
		t.Error("a table that takes one row offers to select all rows")
	}
	e.shot(shot + "-form")

	// The host refuses the one-letter name; the operator fixes it and sends again.
	e.clickButton("Continue")
	e.waitText(field("Customer name", ".field-error"), "at least 2 characters")
	e.typeInto(field("Customer name", "input"), "da")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Completed")
	res := e.text("[data-testid=result]")
	for _, want := range []string{"Ada", "42", "business", cheapestFailed.ID} {
		if !strings.Contains(res, want) {
			t.Errorf("result lacks %q:\n%s", want, res)
		}
	}
	e.shot(shot + "-result")

	// A second run, canceled.
	e.navigate("/actions/refund_orders")
	e.waitText(field("Customer name", ".field-label"), "Customer name")
	e.do(chromedp.Click(chromedp.CSS("[data-testid=cancel]"), chromedp.NodeVisible))
	e.waitText("[data-testid=result]", "Canceled")

	// The page.
	e.navigate("/pages/orders_overview")
	e.waitText("h1", "Orders overview")
	e.waitText(".prose", "50 orders")

	// History: both runs of the action, with their outcomes.
	e.clickButton("History")
	e.waitText("h1", "History")
	e.do(chromedp.SetValue(chromedp.CSS(`select[aria-label="Filter by action"]`), "refund_orders"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[aria-label="Filter by action"]').dispatchEvent(new Event('change', {bubbles: true}))`))
	e.waitJS(`document.querySelectorAll('[data-testid=history-table] tbody tr').length === 2`, "two runs of Refund orders")
	txt := e.text("[data-testid=history-table]")
	if strings.Count(txt, "Completed") != 1 || strings.Count(txt, "Canceled") != 1 || strings.Count(txt, "Refund orders") != 2 {
		t.Errorf("history of Refund orders:\n%s", txt)
	}
	// The completed run keeps what the host returned.
	e.do(chromedp.Click(`//table[@data-testid="history-table"]//tr[.//*[contains(., "Completed")]]//a[contains(@class, "row-title")]`, chromedp.NodeVisible))
	e.waitText(".tx-meta", "Completed")
	e.waitText("[data-testid=result]", cheapestFailed.ID)
}

// TestBrowserGoSDKHost runs the operator's main flow against a host built
// with this SDK.
func TestBrowserGoSDKHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	startGoHost(t, e)
	e.login()
	operatorFlow(t, e, "go-host")
}
