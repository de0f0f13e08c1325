package interval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

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

// pageRoutes serves pages for tests.
type pageRoutes map[string]interval.PageHandler

func (r pageRoutes) RouteTable() interval.RouteTable {
	var t interval.RouteTable
	for slug, h := range r {
		t.Pages = append(t.Pages, interval.PageRoute{PageInfo: interval.PageInfo{Slug: slug, Name: slug}, Handler: h})
	}
	return t
}
