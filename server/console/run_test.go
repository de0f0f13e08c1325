package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// kitchenSink is an action with text, number, select and table inputs in one
// group. It checks the shape of every value it gets and returns them.
func kitchenSink(tbl *testhost.StaticTable) testhost.Action {
	return testhost.Action{Slug: "kitchen_sink", Name: "Kitchen sink", Description: "Text, number, select and table.",
		Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
			a, err := t.IO([]*testhost.Comp{
				{Method: "INPUT_TEXT", Label: "Customer name", Props: map[string]any{"placeholder": "Ada Lovelace", "helpText": "As on the invoice."}},
				{Method: "INPUT_NUMBER", Label: "Amount", Props: map[string]any{"currency": "USD", "min": 1, "max": 500, "decimals": 2}},
				{Method: "SELECT_SINGLE", Label: "Plan", Props: map[string]any{"options": testhost.PlanOptions}},
				tbl.Comp("SELECT_TABLE", "Orders", testhost.OrderColumns, map[string]any{"minSelections": 1}),
			}, testhost.CallOptions{})
			if err != nil {
				return nil, err
			}
			var name string
			var amount float64
			var plan struct{ Label, Value string }
			var rows []struct {
				Key string `json:"key"`
			}
			for i, dst := range []any{&name, &amount, &plan, &rows} {
				if err := json.Unmarshal(a.Values[i], dst); err != nil {
					return nil, fmt.Errorf("value %d (%s): %v", i, a.Values[i], err)
				}
			}
			if plan.Label == "" || len(rows) == 0 || rows[0].Key == "" {
				return nil, fmt.Errorf("bad values: %s %s", a.Values[2], a.Values[3])
			}
			keys := make([]string, len(rows))
			for i, r := range rows {
				keys[i] = r.Key
			}
			return map[string]any{"name": name, "amount": amount, "plan": plan.Value, "rows": strings.Join(keys, ","), "choice": a.Choice}, nil
		}}
}

// pagerText is the text of the first pager of the table labelled label.
func (e *env) pagerText(label string) string {
	return eval[string](e, fmt.Sprintf(`document.querySelector('[data-label=%s] .pager-text').innerText`, js(label)))
}

// firstCell is the text of the first data cell of the first row.
func (e *env) firstCell(label string) string {
	return eval[string](e, fmt.Sprintf(`(document.querySelector('[data-label=%s] tbody tr td:not(.col-check)') || {innerText: ''}).innerText`, js(label)))
}

// TestBrowserKitchenSink runs an action with text, number, select and a
// table: the table goes to page 2, sorts and searches through SET_STATE, a
// row is selected, the form is sent with Ctrl+Enter and the result shows
// what the host received.
func TestBrowserKitchenSink(t *testing.T) {
	t.Parallel()
	orders := testhost.Orders(50)
	tbl := &testhost.StaticTable{Rows: testhost.Rows(orders)}
	e := newEnv(t, []testhost.Action{kitchenSink(tbl)}, nil)
	e.login()
	e.navigate("/actions/kitchen_sink")
	e.waitText("h1", "Kitchen sink")
	e.waitText(field("Customer name", ".help"), "As on the invoice.")
	e.waitText("[data-label=Orders] .pager-text", "1 – 20 of 50")
	e.shot("run-form")
	e.shotDark("run-form")

	e.typeInto(field("Customer name", "input"), "Ada Lovelace")
	e.typeInto(field("Amount", "input"), "42.5")
	e.do(chromedp.Click(chromedp.CSS(field("Plan", ".select-trigger")), chromedp.NodeVisible))
	e.waitText(field("Plan", ".select-list"), "Unlimited seats") // rich option descriptions
	e.do(chromedp.Click(`//li[@role="option"][.//span[normalize-space(.)="Business"]]`, chromedp.NodeVisible))
	e.waitText(field("Plan", ".select-trigger"), "Business")

	// Page 2.
	e.do(chromedp.Click(chromedp.CSS(`[data-label=Orders] button[aria-label="Next page of Orders"]`), chromedp.NodeVisible))
	e.waitText("[data-label=Orders] .pager-text", "21 – 40 of 50")
	if got, want := e.firstCell("Orders"), orders[20]["id"].(string); got != want {
		t.Errorf("first row on page 2 = %q, want %q", got, want)
	}
	if st := tbl.States(); len(st) == 0 || st[len(st)-1].Offset != 20 || st[len(st)-1].PageSize != 20 {
		t.Errorf("host states after Next = %+v, want offset 20, pageSize 20", st)
	}

	// Sort by amount (ascending), back to page 1.
	e.do(chromedp.Click(`//th//button[normalize-space(.)="Amount"]`, chromedp.NodeVisible))
	e.waitText("[data-label=Orders] .pager-text", "1 – 20 of 50")
	byAmount := slices.Clone(orders)
	slices.SortStableFunc(byAmount, func(a, b map[string]any) int {
		x, y := a["amount"].(map[string]any)["value"].(float64), b["amount"].(map[string]any)["value"].(float64)
		return map[bool]int{true: -1, false: 1}[x < y]
	})
	e.waitJS(fmt.Sprintf(`(document.querySelector('[data-label=Orders] tbody td:not(.col-check)') || {}).innerText === %s`, js(byAmount[0]["id"])), "cheapest order first")
	if st := tbl.States(); st[len(st)-1].SortColumn != "amount" || st[len(st)-1].SortDirection != "asc" || st[len(st)-1].Offset != 0 {
		t.Errorf("host state after sort = %+v", st[len(st)-1])
	}

	// Search.
	e.typeInto("[data-label=Orders] .filter input", "failed")
	e.waitText("[data-label=Orders] .pager-text", "1 – 10 of 10")
	// The host's re-renders (each a new render of the same step) leave the
	// keyboard in the filter: a re-render once moved it to Continue, and
	// the rest of the term went nowhere.
	if !eval[bool](e, `document.activeElement === document.querySelector("[data-label=Orders] .filter input")`) {
		t.Fatalf("focus left the filter for %s", focused(e))
	}
	// A slow typist's "fai" may be sent before "failed" (the filter waits
	// 300 ms for a pause): the last state the host gets is the whole term.
	for deadline := time.Now().Add(waitLimit); ; time.Sleep(20 * time.Millisecond) {
		st := tbl.States()
		if last := st[len(st)-1]; last.QueryTerm == "failed" && last.SortColumn == "amount" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("host state after search = %+v", last)
		}
	}
	var failed []map[string]any
	for _, o := range byAmount {
		if o["status"].(map[string]any)["label"] == "Failed" {
			failed = append(failed, o)
		}
	}
	if got := e.firstCell("Orders"); got != failed[0]["id"] {
		t.Errorf("first failed order = %q, want %q", got, failed[0]["id"])
	}
	rows := eval[int](e, `document.querySelectorAll('[data-label=Orders] tbody tr').length`)
	if rows != 10 {
		t.Errorf("%d rows after search, want 10", rows)
	}

	// No row selected yet: the table says what it needs.
	e.clickButton("Continue")
	e.waitText(field("Orders", ".field-error"), "Select at least one row.")
	e.waitScrollStill() // the form scrolls smoothly to the field in error

	// Select the first row and send with Ctrl+Enter.
	e.do(chromedp.Click(chromedp.CSS(`[data-label=Orders] tbody tr:first-child input[type=checkbox]`), chromedp.NodeVisible))
	e.waitText("[data-label=Orders] .table-sel", "1 selected")
	e.do(chromedp.Focus(chromedp.CSS(field("Customer name", "input"))), chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	e.waitText("[data-testid=result]", "Completed")
	res := e.text("[data-testid=result]")
	for _, want := range []string{"Ada Lovelace", "42.5", "business", "Continue"} {
		if !strings.Contains(res, want) {
			t.Errorf("result lacks %q:\n%s", want, res)
		}
	}
	// The selected row's key is its index in the original data.
	idx := slices.IndexFunc(orders, func(o map[string]any) bool { return o["id"] == failed[0]["id"] })
	if !strings.Contains(res, fmt.Sprintf("rows\n%d", idx)) && !strings.Contains(res, fmt.Sprintf("rows\t%d", idx)) {
		t.Errorf("result does not show row key %d:\n%s", idx, res)
	}
	e.shot("run-result")
}
