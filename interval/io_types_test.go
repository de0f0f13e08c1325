package interval_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/router"
)

// The zero Date, DateTime (what an optional date input left empty gives)
// and a zero Date under a TimeOfDay are no instant: their Time is the zero
// time.Time, not a day of year -1 (DateTime{}.Time gave
// -0001-11-30T00:00:00Z), and they print as "".
func TestZeroDatesAreNoInstant(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	for name, got := range map[string]time.Time{
		"Date{}.Time(nil)":            interval.Date{}.Time(nil),
		"Date{}.Time(loc)":            interval.Date{}.Time(loc),
		"DateTime{}.Time(nil)":        interval.DateTime{}.Time(nil),
		"DateTime{no day, 10:30}":     interval.DateTime{TimeOfDay: interval.TimeOfDay{Hour: 10, Minute: 30}}.Time(loc),
		"TimeOfDay{9:00}.On(Date{})":  interval.TimeOfDay{Hour: 9}.On(interval.Date{}, nil),
		"TimeOfDay{}.On(Date{}, loc)": interval.TimeOfDay{}.On(interval.Date{}, loc),
	} {
		if !got.IsZero() {
			t.Errorf("%s = %v, want the zero time.Time", name, got)
		}
	}
	if s := (interval.Date{}).String() + (interval.DateTime{}).String(); s != "" {
		t.Errorf("zero Date and DateTime print %q, want \"\"", s)
	}
	if !(interval.DateTime{}).IsZero() || (interval.DateTime{Date: interval.Date{Year: 2024, Month: 1, Day: 1}}).IsZero() {
		t.Error("DateTime.IsZero must report a DateTime without a day, only")
	}
	// Real values are unchanged, midnight and year 1 included.
	day := interval.Date{Year: 1, Month: 1, Day: 1}
	if got := day.Time(nil); !got.Equal(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) || day.String() != "0001-01-01" {
		t.Errorf("Date{1,1,1} = %v %q", got, day.String())
	}
	dt := interval.DateTime{Date: interval.Date{Year: 2024, Month: 2, Day: 29}}
	if got := dt.Time(loc); !got.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, loc)) || dt.String() != "2024-02-29 00:00" {
		t.Errorf("midnight of 2024-02-29 = %v %q", got, dt.String())
	}
}

// A *Tx is a Source: typed selects, tables and forms built from tx in an
// action run in its transaction, and from the Tx a page's middleware
// receives they join the page.
func TestTxIsASource(t *testing.T) {
	type row struct {
		N int `json:"n"`
	}
	rows := []row{{1}, {2}, {3}}
	type pick struct {
		Count int `interval:"min=1"`
	}
	r := router.New()
	r.Action("a", func(ctx context.Context, tx *interval.Tx) (any, error) {
		picked, err := interval.SelectTable(tx, "Rows", rows).Run(ctx)
		if err != nil {
			return nil, err
		}
		plan, err := interval.SelectSingle(tx, "Plan", interval.OptionsOf(1, 2)).Run(ctx)
		if err != nil {
			return nil, err
		}
		f, err := interval.Form[pick](tx, "").Run(ctx)
		return fmt.Sprint(picked, plan, f.Count), err
	})
	banner := func(next interval.Handler) interval.Handler {
		return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			res, err := next.ServeAction(ctx, tx)
			if l, ok := res.(*interval.Layout); ok && tx.Page != nil {
				l.Children = append([]interval.Component{interval.DisplayTable(tx, "Audit", rows)}, l.Children...)
			}
			return res, err
		})
	}
	r.With(banner).Page("p", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "P", Children: []interval.Component{p.Display.Heading("Body")}}, nil
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)

	run, err := h.Start(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	a := &act{t: t, ctx: ctx, h: h, run: run}
	a.answer(a.next(), intervaltest.Values{"Rows": []map[string]any{{"key": "1"}}})
	plan := a.next()
	var props struct{ Options []map[string]any }
	if err := plan.Props("Plan", &props); err != nil || len(props.Options) != 2 {
		t.Fatalf("Plan props %+v %v", props, err)
	}
	a.answer(plan, intervaltest.Values{"Plan": props.Options[1]})
	a.answer(a.next(), intervaltest.Values{"Count": 4})
	if res := a.result(); res.Data != "[{2}] 2 4" {
		t.Fatalf("result %v", res.Data)
	}

	p, err := h.OpenPage(ctx, "p")
	if err != nil || p.Answer.Type != "SUCCESS" {
		t.Fatalf("OPEN_PAGE %+v %v", p, err)
	}
	l, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Errors) != 0 || l.Children == nil || len(l.Children.ToRender) != 2 || l.Children.ToRender[0].Label != "Audit" {
		t.Fatalf("page layout %+v", l)
	}
}
