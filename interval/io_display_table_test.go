package interval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// BenchmarkTableRequestEndToEnd measures one operator request on a
// 1,000,000-row table through a real client and the in-process server
// (websocket, RPC, JSON): SET_STATE sent → re-render received. The states
// cycle through a page, a sort and a search, so no view is reused.
func BenchmarkTableRequestEndToEnd(b *testing.B) {
	rows := bigRows(1_000_000)
	h := intervaltest.New(b, routes{"big": func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayTable(tx.IO, "Big", rows).PageSize(20).Index().Run(ctx)
	}})
	ctx := context.Background()
	run, err := h.Start(ctx, "big", intervaltest.WithoutAppendUI())
	if err != nil {
		b.Fatal(err)
	}
	r, err := run.Next(ctx)
	if err != nil {
		b.Fatal(err)
	}
	states := []map[string]any{
		{"offset": 0, "pageSize": 20},
		{"offset": 0, "pageSize": 20, "sortColumn": "score", "sortDirection": "desc"},
		{"offset": 0, "pageSize": 20, "queryTerm": ""},
		{"offset": 0, "pageSize": 20, "sortColumn": "name", "sortDirection": "asc"},
	}
	i := 0
	for b.Loop() {
		s := states[i%len(states)]
		i++
		if s["queryTerm"] != nil {
			s = map[string]any{"offset": 0, "pageSize": 20, "queryTerm": "row " + strconv.Itoa(i%1000)}
		} else if s["sortColumn"] == nil {
			s = map[string]any{"offset": (i * 7919) % 999_000, "pageSize": 20}
		}
		if err := r.SetState(ctx, intervaltest.Values{"Big": s}); err != nil {
			b.Fatal(err)
		}
		if r, err = run.Next(ctx); err != nil {
			b.Fatal(fmt.Errorf("state %v: %w", s, err))
		}
	}
	b.StopTimer()
	if err := r.Answer(ctx, intervaltest.Values{}); err != nil {
		b.Fatal(err)
	}
	if _, err := run.Result(ctx); err != nil {
		b.Fatal(err)
	}
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
