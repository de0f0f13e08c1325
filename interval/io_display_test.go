package interval_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestDisplays(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		d := tx.IO.Display
		_, err := tx.IO.Group(
			d.Code("Query", "SELECT 1").Language("sql"),
			d.HTML("Note", "<b>bold</b>"),
			d.Image("Logo", "https://x/logo.png").Alt("Logo").Size(interval.SizeSmall),
			d.ImageData("Pixel", []byte("\x89PNG\r\n\x1a\n")),
			d.Link("Docs", "https://x/docs").Theme(interval.ThemeSecondary),
			d.Link("Refund", "").Route("billing/refund", map[string]any{"id": 7}),
			d.Link("Export", "https://x/e.csv").Download("e.csv"),
			d.Object("Order", map[string]any{"id": 1, "at": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "big": big.NewInt(12345678901234567)}),
			d.Video("Demo", "https://x/v.mp4").Size(interval.SizeLarge).Loop().Muted(),
			d.ProgressThroughList("Steps", interval.ProgressItem{Label: "Fetch", IsComplete: true, Result: "ok"}, interval.ProgressItem{Label: "Send"}),
			d.Metadata("Facts", interval.MetaItem{Label: "Error", Error: "boom"}).Layout(interval.LayoutList),
			d.Heading("Title").Level(3).Description("Sub").MenuItems(interval.MenuItem{Label: "Go", Route: "a"}),
		).Run(ctx)
		return "ok", err
	})
	r := a.next()
	want := map[string][3]string{
		"Query":  {"DISPLAY_CODE", `{"code":"SELECT 1","language":"sql"}`, ``},
		"Note":   {"DISPLAY_HTML", `{"html":"<b>bold</b>"}`, ``},
		"Logo":   {"DISPLAY_IMAGE", `{"alt":"Logo","width":"small","height":"small","url":"https://x/logo.png"}`, ``},
		"Pixel":  {"DISPLAY_IMAGE", `{"url":"data:image/png;base64,iVBORw0KGgo="}`, ``},
		"Docs":   {"DISPLAY_LINK", `{"theme":"secondary","url":"https://x/docs"}`, ``},
		"Refund": {"DISPLAY_LINK", `{"route":"billing/refund","params":{"id":7}}`, ``},
		"Export": {"DISPLAY_LINK", `{"url":"https://x/e.csv","download":"e.csv"}`, ``},
		"Order":  {"DISPLAY_OBJECT", `{"data":{"at":"2024-01-02T03:04:05.000Z","big":"12345678901234567","id":1}}`, `{"values":{"data.at":["Date"],"data.big":["bigint"]}}`},
		"Demo":   {"DISPLAY_VIDEO", `{"width":"large","height":"large","url":"https://x/v.mp4","loop":true,"muted":true}`, ``},
		"Steps":  {"DISPLAY_PROGRESS_THROUGH_LIST", `{"items":[{"label":"Fetch","isComplete":true,"resultDescription":"ok"},{"label":"Send","isComplete":false,"resultDescription":null}]}`, ``},
		"Facts":  {"DISPLAY_METADATA", `{"data":[{"label":"Error","value":null,"error":"boom"}],"layout":"list"}`, ``},
		"Title":  {"DISPLAY_HEADING", `{"level":3,"description":"Sub","menuItems":[{"label":"Go","route":"a"}]}`, ``},
	}
	for label, w := range want {
		c := mustComponent(t, r, label)
		if c.MethodName != w[0] || c.Props != w[1] || c.Meta != w[2] {
			t.Errorf("%s: %s %s %s\nwant %s %s %s", label, c.MethodName, c.Props, c.Meta, w[0], w[1], w[2])
		}
	}
	// Displays resolve at once with the append UI: no answer needed.
	a.result()
}

func TestProgressDisplaysResolveImmediately(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		if err := tx.IO.Display.ProgressSteps("Import", 2, 5).CurrentStep("Rows").SubTitle("a.csv").Run(ctx); err != nil {
			return nil, err
		}
		if err := tx.IO.Display.ProgressIndeterminate("Waiting").Run(ctx); err != nil {
			return nil, err
		}
		// A plain display waits for the operator without the append UI.
		return "done", tx.IO.Display.Markdown("**done**").Run(ctx)
	}, intervaltest.WithoutAppendUI())
	r := a.next()
	if c := mustComponent(t, r, "Import"); c.MethodName != "DISPLAY_PROGRESS_STEPS" || c.Props != `{"steps":{"completed":2,"total":5},"currentStep":"Rows","subTitle":"a.csv"}` {
		t.Fatalf("%+v", c)
	}
	if c := mustComponent(t, a.next(), "Waiting"); c.MethodName != "DISPLAY_PROGRESS_INDETERMINATE" || c.Props != `{}` {
		t.Fatalf("%+v", c)
	}
	r = a.next()
	a.answer(r, intervaltest.Values{})
	if res := a.result(); res.Data != "done" {
		t.Fatalf("result %v", res.Data)
	}
}

// TestMetadataLazyValues: lazy items are first sent without a value, and
// the display is shown again as each resolves (a value, or its error as
// the item's error), as the official SDK does with promise values; in a
// page they are resolved before the layout is sent.
func TestMetadataLazyValues(t *testing.T) {
	releaseA, releaseB := make(chan struct{}), make(chan struct{})
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "shown", tx.IO.Display.Metadata("Account",
			interval.MetaItem{Label: "Plan", Value: "pro"},
			interval.MetaItem{Label: "Balance", URL: "https://x/b", Lazy: func(ctx context.Context) (any, error) {
				<-releaseA
				return 42.5, nil
			}},
			interval.MetaItem{Label: "Invoices", Lazy: func(ctx context.Context) (any, error) {
				<-releaseB
				return nil, errors.New("billing is down")
			}},
		).Run(ctx)
	})
	r := a.next()
	if c := mustComponent(t, r, "Account"); c.Props != `{"data":[{"label":"Plan","value":"pro"},{"label":"Balance","value":null,"url":"https://x/b"},{"label":"Invoices","value":null}],"layout":"grid"}` ||
		c.Meta != `{"values":{"data.1.value":["undefined"],"data.2.value":["undefined"]}}` {
		t.Fatalf("first render %s %s", c.Props, c.Meta)
	}
	if res := a.result(); res.Data != "shown" { // the display resolved at once
		t.Fatalf("result %v", res.Data)
	}
	close(releaseA)
	r2 := a.next()
	if c := mustComponent(t, r2, "Account"); c.Props != `{"data":[{"label":"Plan","value":"pro"},{"label":"Balance","value":42.5,"url":"https://x/b"},{"label":"Invoices","value":null}],"layout":"grid"}` ||
		c.Meta != `{"values":{"data.2.value":["undefined"]}}` {
		t.Fatalf("after the balance %s %s", c.Props, c.Meta)
	}
	if r2.InputGroupKey != r.InputGroupKey || r2.ID == r.ID {
		t.Fatal("a lazy re-render keeps the inputGroupKey and gets a new id")
	}
	close(releaseB)
	if c := mustComponent(t, a.next(), "Account"); c.Props != `{"data":[{"label":"Plan","value":"pro"},{"label":"Balance","value":42.5,"url":"https://x/b"},{"label":"Invoices","value":null,"error":"billing is down"}],"layout":"grid"}` || c.Meta != "" {
		t.Fatalf("after the invoices %s %s", c.Props, c.Meta)
	}
}

// Without the append UI, a lazy value that resolves after the operator
// moved on does not bring the old display back.
func TestMetadataLazyAfterContinue(t *testing.T) {
	release, resolved := make(chan struct{}), make(chan struct{})
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		if err := tx.IO.Display.Metadata("Slow", interval.MetaItem{Label: "N", Lazy: func(ctx context.Context) (any, error) {
			<-release
			defer close(resolved)
			return 1, nil
		}}).Run(ctx); err != nil {
			return nil, err
		}
		return tx.IO.Input.Text("Next").Run(ctx)
	}, intervaltest.WithoutAppendUI())
	r := a.next()
	a.answer(r, intervaltest.Values{"Slow": nil})
	next := a.next()
	if next.Labels()[0] != "Next" {
		t.Fatalf("second render %v", next.Labels())
	}
	close(release)
	<-resolved
	a.answer(next, intervaltest.Values{"Next": "x"})
	a.result()
	a.h.Close() // waits for the lazy value's goroutine
	for _, r := range a.run.Renders()[2:] {
		t.Fatalf("render after the operator moved on: %v", r.Labels())
	}
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
