package interval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

type plan struct {
	Name  string
	Price int
}

func TestSelectSingleStructValues(t *testing.T) {
	plans := []interval.Option[plan]{
		{Label: "Free", Value: plan{"free", 0}},
		{Label: "Pro", Value: plan{"pro", 10}, Description: "For teams", Image: &interval.Image{URL: "https://x/p.png", Size: interval.SizeSmall}},
	}
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		p, err := interval.SelectSingle(tx.IO, "Plan", plans).Default(plan{"pro", 10}).Searchable().Run(ctx)
		return p.Price, err
	})
	r := a.next()
	want := `{"defaultValue":{"label":"Pro","value":"1"},"options":[{"label":"Free","value":"0"},{"description":"For teams","image":{"size":"small","url":"https://x/p.png"},"label":"Pro","value":"1"}],"searchable":true}`
	if got := jsonOf(t, props(t, r, "Plan")); got != want {
		t.Fatalf("props %s", got)
	}
	r = a.rejects(r, "Plan", map[string]any{"label": "Gold", "value": "7"}, "Please choose one of the options.")
	r = a.rejects(r, "Plan", "1", "Please choose one of the options.")
	a.answer(r, intervaltest.Values{"Plan": map[string]any{"label": "Pro", "value": "1"}})
	if res := a.result(); res.Data != float64(10) {
		t.Fatalf("result %v", res.Data)
	}
}

func TestSelectSingleTypedPrimitives(t *testing.T) {
	day := time.Date(2024, 3, 9, 0, 0, 0, 0, time.UTC)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		n := interval.SelectSingle(tx.IO, "Count", interval.OptionsOf(1, 2, 3))
		d := interval.SelectSingle(tx.IO, "Day", []interval.Option[time.Time]{{Label: "Launch", Value: day}})
		if _, err := tx.IO.Group(n, d).Run(ctx); err != nil {
			return nil, err
		}
		return fmt.Sprint(n.Value()+1, d.Value().Equal(day)), nil
	})
	r := a.next()
	c, _ := r.Component("Day")
	if string(c.PropsMeta) != `{"values":{"options.0.value":["Date"]}}` {
		t.Fatalf("Day props %s meta %s", c.Props, c.PropsMeta)
	}
	a.answer(r, intervaltest.Values{"Count": map[string]any{"label": "2", "value": 2}, "Day": map[string]any{"label": "Launch", "value": "2024-03-09T00:00:00.000Z"}})
	if res := a.result(); res.Data != "3 true" {
		t.Fatalf("result %v", res.Data)
	}
}

func TestSelectMultipleBounds(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return interval.SelectMultiple(tx.IO, "Sizes", interval.OptionsOf(36, 38, 40)).MinSelections(1).MaxSelections(2).Run(ctx)
	})
	r := a.next()
	if got := jsonOf(t, props(t, r, "Sizes")); got != `{"defaultValue":[],"maxSelections":2,"minSelections":1,"options":[{"label":"36","value":36},{"label":"38","value":38},{"label":"40","value":40}]}` {
		t.Fatalf("props %s", got)
	}
	lv := func(v int) map[string]any { return map[string]any{"label": strconv.Itoa(v), "value": v} }
	r = a.rejects(r, "Sizes", []any{}, "Please choose at least 1.")
	r = a.rejects(r, "Sizes", []any{lv(36), lv(38), lv(40)}, "Please choose at most 2.")
	r = a.rejects(r, "Sizes", []any{lv(37)}, "Please choose from the options.")
	r = a.rejects(r, "Sizes", lv(36), "Please choose from the options.")
	a.answer(r, intervaltest.Values{"Sizes": []any{lv(40), lv(36)}})
	if res := a.result(); jsonOf(t, res.Data) != `[36,40]` {
		t.Fatalf("result %v", res.Data)
	}
}

type account struct {
	ID      int       `json:"id"`
	Name    string    `json:"name" interval:"Account name"`
	Balance float64   `json:"balance"`
	Opened  time.Time `json:"opened"`
	Secret  string    `json:"-"`
	Note    *string   `json:"note"`
}

func accounts(n int) []account {
	out := make([]account, n)
	for i := range out {
		out[i] = account{ID: i, Name: fmt.Sprintf("acct %d", i%7), Balance: float64((i*13)%50) - 10, Opened: time.Date(2024, 1, 1+i%28, 0, 0, 0, 0, time.UTC)}
	}
	return out
}

func TestSelectTable(t *testing.T) {
	rows := accounts(600)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		picked, err := interval.SelectTable(tx.IO, "Accounts", rows).
			InitiallySelected(func(a account) bool { return a.ID < 2 }).
			MinSelections(1).MaxSelections(3).PageSize(10).Run(ctx)
		if err != nil {
			return nil, err
		}
		ids := []string{}
		for _, p := range picked {
			ids = append(ids, strconv.Itoa(p.ID))
		}
		return strings.Join(ids, ","), nil
	})
	r := a.next()
	c, _ := r.Component("Accounts")
	var p struct {
		Columns      []map[string]string `json:"columns"`
		Data         []map[string]any    `json:"data"`
		TotalRecords int                 `json:"totalRecords"`
		SelectedKeys []string            `json:"selectedKeys"`
		IsSortable   *bool               `json:"isSortable"`
	}
	decodeFresh(t, c.Props, &p)
	if c.MethodName != "SELECT_TABLE" || !c.IsStateful || len(p.Data) != 500 || p.TotalRecords != 600 || jsonOf(t, p.SelectedKeys) != `["0","1"]` || p.IsSortable != nil {
		t.Fatalf("render: %d rows, total %d, selected %v", len(p.Data), p.TotalRecords, p.SelectedKeys)
	}
	if got := jsonOf(t, p.Columns); got != `[{"accessorKey":"id","label":"id"},{"accessorKey":"name","label":"Account name"},{"accessorKey":"balance","label":"balance"},{"accessorKey":"opened","label":"opened"},{"accessorKey":"note","label":"note"}]` {
		t.Fatalf("columns %s", got)
	}
	if got := jsonOf(t, p.Data[3]); got != `{"data":{"balance":29,"id":3,"name":"acct 3","note":null,"opened":"2024-01-04T00:00:00.000Z"},"filterValue":"3 acct 3 29 1/4/2024 null","key":"3","menu":null}` {
		t.Fatalf("row 3 %s", got)
	}
	// Select all rows matching a search: selectedKeys are all matches.
	a.setState(r, intervaltest.Values{"Accounts": map[string]any{"queryTerm": "ACCT 6", "offset": 0, "pageSize": 10, "isSelectAll": true, "sortColumn": "balance", "sortDirection": "asc"}})
	r = a.next()
	decodeFresh(t, mustRaw(t, r, "Accounts"), &p)
	if p.TotalRecords != 85 || len(p.SelectedKeys) != 85 || len(p.Data) != 85 || p.Data[0]["filterValue"] != nil {
		t.Fatalf("after search: total %d selected %d rows %d", p.TotalRecords, len(p.SelectedKeys), len(p.Data))
	}
	for i := 1; i < len(p.Data); i++ {
		if p.Data[i-1]["data"].(map[string]any)["balance"].(float64) > p.Data[i]["data"].(map[string]any)["balance"].(float64) {
			t.Fatal("rows not sorted by balance")
		}
	}
	key := func(k string) map[string]string { return map[string]string{"key": k} }
	r = a.rejects(r, "Accounts", []any{}, "Please select at least 1 rows.")
	r = a.rejects(r, "Accounts", []any{key("1"), key("2"), key("3"), key("4")}, "Please select at most 3 rows.")
	r = a.rejects(r, "Accounts", []any{key("600")}, "Please select rows of the table.")
	r = a.rejects(r, "Accounts", []any{key("01")}, "Please select rows of the table.")
	r = a.rejects(r, "Accounts", "everything", "Please select rows of the table.")
	a.answer(r, intervaltest.Values{"Accounts": []any{key("599"), key("5")}})
	if res := a.result(); res.Data != "5,599" {
		t.Fatalf("result %v", res.Data)
	}
}

func mustRaw(t *testing.T, r *intervaltest.Render, label string) json.RawMessage {
	t.Helper()
	c, ok := r.Component(label)
	if !ok {
		t.Fatalf("no component %q", label)
	}
	return c.Props
}

type tableProps struct {
	Columns      []map[string]string `json:"columns"`
	Data         []map[string]any    `json:"data"`
	TotalRecords *int                `json:"totalRecords"`
	IsAsync      bool                `json:"isAsync"`
	Orientation  string              `json:"orientation"`
}

func TestDisplayTablePagingSearchSortAndBadState(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayTable(tx.IO, "Accounts", accounts(2000)).
			Columns(
				interval.Column[account]{Label: "ID", Accessor: "id"},
				interval.Column[account]{Label: "Balance", Accessor: "balance", Render: func(a account) interval.Cell {
					color := ""
					if a.Balance < 0 {
						color = interval.HighlightRed
					}
					return interval.Cell{Label: fmt.Sprintf("$%.2f", a.Balance), Value: a.Balance, HighlightColor: color}
				}},
				interval.Column[account]{Label: "Link", Render: func(a account) interval.Cell {
					return interval.Cell{Label: "open", Route: "accounts/show", Params: map[string]any{"id": a.ID}}
				}},
			).Vertical().Run(ctx)
	}, intervaltest.WithoutAppendUI())
	r := a.next()
	var p tableProps
	decodeFresh(t, mustRaw(t, r, "Accounts"), &p)
	if len(p.Data) != 500 || *p.TotalRecords != 2000 || p.Orientation != "vertical" || jsonOf(t, p.Columns) != `[{"accessorKey":"id","label":"ID"},{"accessorKey":"balance","label":"Balance"},{"label":"Link"}]` {
		t.Fatalf("initial: %d rows total %v cols %v", len(p.Data), p.TotalRecords, p.Columns)
	}
	if got := jsonOf(t, p.Data[1]["data"]); got != `{"2":{"label":"open","params":{"id":1},"route":"accounts/show"},"balance":{"label":"$3.00","value":3},"id":1}` {
		t.Fatalf("row 1 data %s", got)
	}
	if got := jsonOf(t, p.Data[0]["data"].(map[string]any)["balance"]); got != `{"highlightColor":"red","label":"$-10.00","value":-10}` {
		t.Fatalf("row 0 balance %s", got)
	}
	// Bad states are ignored (no re-render); the good one after them is
	// answered.
	for _, bad := range []any{map[string]any{"offset": -5, "pageSize": 10}, map[string]any{"offset": 0}, map[string]any{"pageSize": 10, "sortColumn": "id", "sortDirection": "sideways"}, "page 2"} {
		a.setState(r, intervaltest.Values{"Accounts": bad})
	}
	// Absurd numbers are clamped, never a panic.
	a.setState(r, intervaltest.Values{"Accounts": map[string]any{"offset": int64(9e18), "pageSize": int64(9e18)}})
	r = a.next()
	decodeFresh(t, mustRaw(t, r, "Accounts"), &p)
	if len(p.Data) != 0 || *p.TotalRecords != 2000 {
		t.Fatalf("huge offset: %d rows", len(p.Data))
	}
	a.setState(r, intervaltest.Values{"Accounts": map[string]any{"offset": 1990, "pageSize": 20}})
	r = a.next()
	decodeFresh(t, mustRaw(t, r, "Accounts"), &p)
	if len(p.Data) != 10 || p.Data[0]["key"] != "1990" || *p.TotalRecords != 2000 {
		t.Fatalf("page: %d rows from %v", len(p.Data), p.Data[0]["key"])
	}
	// Sort by a rich cell sorts by its value; descending.
	a.setState(r, intervaltest.Values{"Accounts": map[string]any{"offset": 0, "pageSize": 5, "sortColumn": "balance", "sortDirection": "desc", "queryTerm": "$39"}})
	r = a.next()
	decodeFresh(t, mustRaw(t, r, "Accounts"), &p)
	if *p.TotalRecords != 40 || len(p.Data) != 15 || p.Data[0]["data"].(map[string]any)["balance"].(map[string]any)["value"] != float64(39) {
		t.Fatalf("search+sort: total %d rows %d first %v", *p.TotalRecords, len(p.Data), p.Data[0])
	}
	a.answer(r, intervaltest.Values{})
	a.result()
}

func TestDisplayTableAsync(t *testing.T) {
	calls := make(chan interval.TableState, 4)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayTableAsync(tx.IO, "Remote", func(ctx context.Context, s interval.TableState) ([]map[string]any, int, error) {
			calls <- s
			out := []map[string]any{}
			for i := s.Offset; i < s.Offset+s.PageSize; i++ {
				out = append(out, map[string]any{"n": i, "sq": i * i})
			}
			return out, 1_000_000, nil
		}).Run(ctx)
	}, intervaltest.WithoutAppendUI())
	r := a.next()
	if got := mustComponent(t, r, "Remote").Props; got != `{"columns":[],"data":[],"orientation":"horizontal","isSortable":true,"isFilterable":true,"isAsync":true}` {
		t.Fatalf("initial %s", got)
	}
	a.setState(r, intervaltest.Values{"Remote": map[string]any{"offset": 100, "pageSize": 2, "queryTerm": "x", "sortColumn": "sq", "sortDirection": "asc"}})
	r = a.next()
	if s := <-calls; s != (interval.TableState{Offset: 100, PageSize: 2, Query: "x", SortColumn: "sq", SortDirection: "asc"}) {
		t.Fatalf("fetch state %+v", s)
	}
	var p tableProps
	decodeFresh(t, mustRaw(t, r, "Remote"), &p)
	if *p.TotalRecords != 1_000_000 || len(p.Data) != 2 || p.Data[1]["key"] != "101" || jsonOf(t, p.Data[1]["data"]) != `{"n":101,"sq":10201}` ||
		jsonOf(t, p.Columns) != `[{"accessorKey":"n","label":"n"},{"accessorKey":"sq","label":"sq"}]` {
		t.Fatalf("after state %s", mustComponent(t, r, "Remote").Props)
	}
	a.answer(r, intervaltest.Values{})
	a.result()
}

func TestDisplayGrid(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayGrid(tx.IO, "Cards", accounts(30), func(a account) interval.GridItem {
			return interval.GridItem{Label: a.Name, Description: strconv.Itoa(a.ID), Route: "accounts/show", Params: map[string]any{"id": a.ID},
				Image: &interval.GridImage{URL: "https://x/" + strconv.Itoa(a.ID), Fit: "cover"}}
		}).IdealColumnWidth(200).Run(ctx)
	}, intervaltest.WithoutAppendUI())
	r := a.next()
	var p struct {
		Data         []map[string]any `json:"data"`
		TotalRecords int              `json:"totalRecords"`
		IsFilterable bool             `json:"isFilterable"`
	}
	decodeFresh(t, mustRaw(t, r, "Cards"), &p)
	if len(p.Data) != 30 || p.TotalRecords != 30 || !p.IsFilterable || jsonOf(t, p.Data[2]) != `{"data":{"description":"2","image":{"fit":"cover","url":"https://x/2"},"label":"acct 2","params":{"id":2},"route":"accounts/show"},"filterValue":"2 acct 2 16 1/3/2024 null","key":"2"}` {
		t.Fatalf("grid %s", jsonOf(t, p.Data[2]))
	}
	a.setState(r, intervaltest.Values{"Cards": map[string]any{"queryTerm": "acct 3", "pageSize": 10}})
	r = a.next()
	decodeFresh(t, mustRaw(t, r, "Cards"), &p)
	if len(p.Data) != 4 || p.TotalRecords != 30 || p.Data[1]["key"] != "10" {
		t.Fatalf("after search %d rows, total %d", len(p.Data), p.TotalRecords)
	}
	a.answer(r, intervaltest.Values{})
	a.result()
}

// TestPageTableState: a table in a page layout answers the browser's
// SET_STATE (sent with the page key) with a new layout.
func TestPageTableState(t *testing.T) {
	h := intervaltest.New(t, pageRoutes{"accounts": interval.PageHandlerFunc(func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "Accounts", Children: []interval.Component{
			p.Display.Heading("All accounts"),
			interval.DisplayTable(p, "Accounts", accounts(1000)).PageSize(10),
		}}, nil
	})})
	ctx := testCtx(t)
	view, err := h.OpenPage(ctx, "accounts")
	if err != nil || view.Answer.Type != "SUCCESS" {
		t.Fatalf("open %+v %v", view.Answer, err)
	}
	l, err := view.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l.Children == nil || len(l.Children.ToRender) != 2 || !l.Children.ToRender[1].IsStateful {
		t.Fatalf("layout %+v", l)
	}
	host, _ := h.WaitHost(ctx)
	resp, _ := json.Marshal(protocol.IOResponse{ID: l.Children.ID, TransactionID: view.Key, InputGroupKey: l.Children.InputGroupKey, Kind: protocol.KindSetState,
		Values: []json.RawMessage{json.RawMessage(`null`), json.RawMessage(`{"offset":0,"pageSize":10,"sortColumn":"id","sortDirection":"desc"}`)}})
	if _, err := host.Call(ctx, protocol.MethodIOResponse, protocol.IOResponseInputs{Value: string(resp), TransactionID: view.Key}); err != nil {
		t.Fatal(err)
	}
	l, err = view.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var p tableProps
	decodeFresh(t, l.Children.ToRender[1].Props, &p)
	if len(p.Data) != 30 || p.Data[0]["key"] != "999" || *p.TotalRecords != 1000 {
		t.Fatalf("re-rendered page table: %d rows, first %v", len(p.Data), p.Data[0]["key"])
	}
	// Concurrent state updates (the browser pages quickly) each get a
	// layout; the race detector checks they do not collide with renders.
	errs := make(chan error, 5)
	for i := range 5 {
		go func() {
			resp, _ := json.Marshal(protocol.IOResponse{ID: l.Children.ID, TransactionID: view.Key, InputGroupKey: l.Children.InputGroupKey, Kind: protocol.KindSetState,
				Values: []json.RawMessage{json.RawMessage(`null`), json.RawMessage(fmt.Sprintf(`{"offset":%d,"pageSize":10,"queryTerm":"acct %d"}`, i*10, i))}})
			_, err := host.Call(ctx, protocol.MethodIOResponse, protocol.IOResponseInputs{Value: string(resp), TransactionID: view.Key})
			errs <- err
		}()
	}
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		l, err := view.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		decodeFresh(t, l.Children.ToRender[1].Props, &p)
		if *p.TotalRecords != 143 && *p.TotalRecords != 142 {
			t.Fatalf("search in page: total %d", *p.TotalRecords)
		}
	}
}

// pageRoutes serves pages for tests.
type pageRoutes map[string]interval.PageHandler

func (r pageRoutes) RouteTable() interval.RouteTable {
	var t interval.RouteTable
	for slug, h := range r {
		t.Pages = append(t.Pages, interval.PageRoute{PageInfo: interval.PageInfo{Slug: slug, Name: slug}, Handler: h})
	}
	return t
}

func TestDisplayGridAsync(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayGridAsync(tx.IO, "Photos", func(ctx context.Context, s interval.TableState) ([]account, int, error) {
			return accounts(s.Offset + s.PageSize)[s.Offset:], 5000, nil
		}, func(a account) interval.GridItem { return interval.GridItem{Label: a.Name} }).Run(ctx)
	}, intervaltest.WithoutAppendUI())
	r := a.next()
	if got := mustComponent(t, r, "Photos").Props; got != `{"data":[],"isFilterable":true,"isAsync":true}` {
		t.Fatalf("initial %s", got)
	}
	a.setState(r, intervaltest.Values{"Photos": map[string]any{"offset": 40, "pageSize": 2}})
	r = a.next()
	if got := mustComponent(t, r, "Photos").Props; got != `{"data":[{"key":"40","data":{"label":"acct 5"},"filterValue":"40 acct 5 10 1/13/2024 null"},{"key":"41","data":{"label":"acct 6"},"filterValue":"41 acct 6 23 1/14/2024 null"}],"isFilterable":true,"totalRecords":5000,"isAsync":true}` {
		t.Fatalf("after state %s", got)
	}
	a.answer(r, intervaltest.Values{})
	a.result()
}

// Row and grid item menus drop the themes their schema lacks (only danger
// is known there), heading menus keep them; an item without a route or a
// URL is sent disabled, the protocol having no other form for it.
func TestMenuItemThemesAndTargets(t *testing.T) {
	menu := []interval.MenuItem{{Label: "Open", Route: "a", Theme: interval.ThemePrimary}, {Label: "Delete", Route: "b", Theme: interval.ThemeDanger}, {Label: "Soon"}}
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		_, err := tx.IO.Group(
			tx.IO.Display.Heading("Head").MenuItems(menu...),
			interval.DisplayTable(tx.IO, "Rows", people[:1]).RowMenu(func(person) []interval.MenuItem { return menu }),
			interval.DisplayGrid(tx.IO, "Cards", people[:1], func(p person) interval.GridItem { return interval.GridItem{Label: p.Name, Menu: menu} }),
		).Run(ctx)
		return nil, err
	})
	r := a.next()
	var head struct{ MenuItems []map[string]any }
	decodeFresh(t, mustRaw(t, r, "Head"), &head)
	var rows struct {
		Data []struct{ Menu []map[string]any }
	}
	decodeFresh(t, mustRaw(t, r, "Rows"), &rows)
	var cards struct {
		Data []struct {
			Data struct{ Menu []map[string]any }
		}
	}
	decodeFresh(t, mustRaw(t, r, "Cards"), &cards)
	if got := jsonOf(t, head.MenuItems); got != `[{"label":"Open","route":"a","theme":"primary"},{"label":"Delete","route":"b","theme":"danger"},{"disabled":true,"label":"Soon"}]` {
		t.Errorf("heading menu %s", got)
	}
	want := `[{"label":"Open","route":"a"},{"label":"Delete","route":"b","theme":"danger"},{"disabled":true,"label":"Soon"}]`
	if got := jsonOf(t, rows.Data[0].Menu); got != want {
		t.Errorf("row menu %s", got)
	}
	if got := jsonOf(t, cards.Data[0].Data.Menu); got != want {
		t.Errorf("grid item menu %s", got)
	}
	a.result()
}
