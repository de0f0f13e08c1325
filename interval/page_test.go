package interval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/router"
)

// A page renders its layout; its table answers paging from the operator
// with a new layout; a page without handler and a closed page behave.
func TestPageLayoutAndTableState(t *testing.T) {
	type row struct {
		N    int    `json:"n"`
		Name string `json:"name"`
	}
	var rows []row
	for i := range 50 {
		rows = append(rows, row{i, fmt.Sprintf("item %d", i)})
	}
	r := router.New()
	r.Route("dashboard", func(r router.Router) {
		r.Index(func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
			return &interval.Layout{
				Title:       "Dashboard",
				Description: "for " + p.User.Email,
				MenuItems:   []interval.MenuItem{{Label: "Refresh", Route: "dashboard/refresh"}},
				Children:    []interval.Component{p.Display.Heading("Overview"), interval.DisplayTable(p, "Items", rows).PageSize(5)},
			}, nil
		})
		r.Action("refresh", func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, nil })
	})
	r.Route("reports", func(r router.Router) {
		r.Action("weekly", func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, nil })
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)

	p, err := h.OpenPage(ctx, "dashboard")
	if err != nil || p.Answer.Type != "SUCCESS" {
		t.Fatalf("OPEN_PAGE: %+v %v", p, err)
	}
	l, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if *l.Title != "Dashboard" || *l.Description != "for alice@example.com" || l.MenuItems[0].Route != "dashboard/refresh" || len(l.Children.ToRender) != 2 {
		t.Fatalf("layout %+v", l)
	}
	if err := p.SetState(ctx, l, intervaltest.Values{"Items": map[string]any{"offset": 0, "pageSize": 5, "queryTerm": "item 4"}}); err != nil {
		t.Fatal(err)
	}
	l2, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var props struct{ TotalRecords int }
	json.Unmarshal(l2.Children.ToRender[1].Props, &props)
	if props.TotalRecords != 11 { // item 4, item 40..49
		t.Fatalf("searched table: %d records", props.TotalRecords)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	none, err := h.OpenPage(ctx, "reports")
	if err != nil || none.Answer.Type != "ERROR" || none.Answer.Message != "No page handler found." {
		t.Fatalf("page without handler: %+v %v", none.Answer, err)
	}
}
