package interval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interval-go/sdk/adapters/websocket"
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

// TestGoldenPageLayout: the layout of the Node SDK host's dashboard page
// (trace 21) and ours for the same page are equal but for the render ids.
func TestGoldenPageLayout(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "internal", "protocol", "testdata", "21-page-open-close.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	for _, line := range strings.Split(string(raw), "\n") {
		var ev struct{ Raw string }
		var frame struct{ Data string }
		var env struct {
			MethodName string
			Data       struct{ Page string }
		}
		if json.Unmarshal([]byte(line), &ev) != nil || json.Unmarshal([]byte(ev.Raw), &frame) != nil ||
			json.Unmarshal([]byte(frame.Data), &env) != nil || env.MethodName != "SEND_PAGE" {
			continue
		}
		if err := json.Unmarshal([]byte(env.Data.Page), &want); err != nil {
			t.Fatal(err)
		}
	}
	if want == nil {
		t.Fatal("no SEND_PAGE in trace 21")
	}
	r := router.New()
	r.Route("dashboard", func(r router.Router) {
		r.Index(func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
			return &interval.Layout{
				Title:       "Dashboard",
				Description: "Things at a glance",
				MenuItems:   []interval.MenuItem{{Label: "Refresh", Route: "dashboard/refresh"}, {Label: "Docs", URL: "https://example.com/docs"}},
				Children: []interval.Component{
					p.Display.Markdown("Welcome to the **dashboard**."),
					p.Display.Metadata("Stats", interval.MetaItem{Label: "Users", Value: 10},
						interval.MetaItem{Label: "Updated", Value: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}),
				},
			}, nil
		})
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	p, err := h.OpenPage(ctx, "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	l, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := decoded(t, l).(map[string]any)
	for _, m := range []map[string]any{got, want} {
		ch := m["children"].(map[string]any)
		delete(ch, "id")
		delete(ch, "inputGroupKey")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("layout\n ours %s\nNode's %s", jsonOf(t, got), jsonOf(t, want))
	}
}

// TestPageNestedErrorsAndClose: a router.Page nested in a Route renders
// and pages its table; a handler's error or panic becomes the layout's
// errors (the host keeps serving); a closed page answers no more state.
func TestPageNestedErrorsAndClose(t *testing.T) {
	r := router.New()
	r.Route("billing", func(r router.Router) {
		r.Page("invoices", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
			n, _ := p.Params.Int("n")
			rows := make([]map[string]any, n)
			for i := range rows {
				rows[i] = map[string]any{"no": i}
			}
			return &interval.Layout{Title: "Invoices of " + p.Slug, Children: []interval.Component{interval.DisplayTable(p, "All", rows)}}, nil
		})
		r.Action("refund", func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil })
	})
	r.Page("broken", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return nil, fmt.Errorf("database down")
	})
	r.Page("panics", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		panic("boom")
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)

	// The page is declared under its Route, and the action beside it is
	// listed under the same group.
	host, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defs := host.Definitions()
	groups := map[string]bool{}
	for _, g := range defs.Groups {
		groups[g.Slug] = g.HasHandler
	}
	refundUnderBilling := false
	for _, a := range defs.Actions {
		refundUnderBilling = refundUnderBilling || a.GroupSlug == "billing" && a.Slug == "refund"
	}
	if has, ok := groups["billing"]; !ok || has || !groups["billing/invoices"] || !groups["broken"] || !refundUnderBilling {
		t.Fatalf("definitions: groups %v, actions %+v", groups, defs.Actions)
	}

	p, err := h.OpenPage(ctx, "billing/invoices", intervaltest.WithParams(map[string]any{"n": 700}))
	if err != nil || p.Answer.Type != "SUCCESS" {
		t.Fatalf("OPEN_PAGE %+v %v", p, err)
	}
	l, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var props struct {
		Data         []map[string]any
		TotalRecords int
	}
	decodeFresh(t, l.Children.ToRender[0].Props, &props)
	if *l.Title != "Invoices of billing/invoices" || len(l.Errors) != 0 || len(props.Data) != 500 || props.TotalRecords != 700 {
		t.Fatalf("layout %+v: %d rows of %d", l, len(props.Data), props.TotalRecords)
	}
	if err := p.SetState(ctx, l, intervaltest.Values{"All": map[string]any{"offset": 600, "pageSize": 50}}); err != nil {
		t.Fatal(err)
	}
	if l, err = p.Next(ctx); err != nil {
		t.Fatal(err)
	}
	decodeFresh(t, l.Children.ToRender[0].Props, &props)
	if len(props.Data) != 100 || props.Data[0]["key"] != "600" {
		t.Fatalf("page 600: %d rows from %v", len(props.Data), props.Data[0]["key"])
	}

	for slug, msg := range map[string]string{"broken": "database down", "panics": "panic: boom"} {
		bp, err := h.OpenPage(ctx, slug)
		if err != nil || bp.Answer.Type != "SUCCESS" {
			t.Fatalf("OPEN_PAGE %s: %+v %v", slug, bp, err)
		}
		bl, err := bp.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bl.Title != nil || bl.Children != nil || len(bl.Errors) != 1 || bl.Errors[0].Message != msg {
			t.Fatalf("%s layout %+v", slug, bl)
		}
	}

	// After CLOSE_PAGE a state update re-renders nothing; the next layout
	// seen is the fresh page's.
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(ctx, l, intervaltest.Values{"All": map[string]any{"offset": 0, "pageSize": 50}}); err != nil {
		t.Fatal(err)
	}
	again, err := h.OpenPage(ctx, "billing/invoices", intervaltest.WithParams(map[string]any{"n": 3}))
	if err != nil {
		t.Fatal(err)
	}
	if l, err = again.Next(ctx); err != nil {
		t.Fatal(err)
	}
	decodeFresh(t, l.Children.ToRender[0].Props, &props)
	if props.TotalRecords != 3 {
		t.Fatalf("reopened page: %d records", props.TotalRecords)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if extra, err := p.Next(short); err == nil {
		t.Fatalf("closed page sent a layout: %+v", extra)
	}
}

// spyTransport is the websocket transport recording every message the
// host sends.
type spyTransport struct {
	mu   sync.Mutex
	sent []string
}

func (s *spyTransport) Dial(ctx context.Context, cfg interval.DialConfig) (interval.Conn, error) {
	c, err := (&websocket.Transport{}).Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return spyConn{c, s}, nil
}

type spyConn struct {
	interval.Conn
	s *spyTransport
}

func (c spyConn) Post(ctx context.Context, data string, timeout time.Duration, acked func(error)) error {
	c.s.mu.Lock()
	c.s.sent = append(c.s.sent, data)
	c.s.mu.Unlock()
	return c.Conn.Post(ctx, data, timeout, acked)
}

func (c spyConn) SendTimeout(ctx context.Context, data string, timeout time.Duration) error {
	c.s.mu.Lock()
	c.s.sent = append(c.s.sent, data)
	c.s.mu.Unlock()
	return c.Conn.SendTimeout(ctx, data, timeout)
}

// calls returns the inputs of the host's calls of method.
func (s *spyTransport) calls(t *testing.T, method string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, d := range s.sent {
		var env struct {
			Kind, MethodName string
			Data             map[string]any
		}
		if json.Unmarshal([]byte(d), &env) == nil && env.Kind == "CALL" && env.MethodName == method {
			out = append(out, env.Data)
		}
	}
	return out
}

// TestPageRedirectAndLoading: a page handler shows a loading indicator
// and redirects the operator, both sent with the page's key as the
// transaction id (PROTOCOL.md §6); a bad redirect is refused unsent.
func TestPageRedirectAndLoading(t *testing.T) {
	spy := &spyTransport{}
	errs := make(chan error, 2)
	r := router.New()
	r.Page("moved", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		p.Loading.Start(interval.LoadingState{Label: "Looking up", ItemsInQueue: 2})
		p.Loading.CompleteOne()
		errs <- p.Redirect(ctx, interval.Redirect{})
		errs <- p.Redirect(ctx, interval.Redirect{Route: "billing/invoices", Params: map[string]any{"id": 7}, Replace: true})
		return &interval.Layout{Title: "Moved"}, nil
	})
	h := intervaltest.New(t, r, func(o *interval.Options) { o.Transport = spy })
	ctx := testCtx(t)
	p, err := h.OpenPage(ctx, "moved")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err == nil {
		t.Fatal("a redirect without a route or URL was accepted")
	}
	<-errs // the test server records redirects of transactions only and answers false for a page
	if _, err := p.Next(ctx); err != nil {
		t.Fatal(err)
	}
	rs := spy.calls(t, "SEND_REDIRECT")
	if len(rs) != 1 || rs[0]["transactionId"] != p.Key || rs[0]["route"] != "billing/invoices" ||
		jsonOf(t, rs[0]["params"]) != `{"id":7}` || rs[0]["replace"] != true {
		t.Fatalf("redirects %v", rs)
	}
	// The loading state is sent after its 100 ms coalescing window.
	for {
		if ls := spy.calls(t, "SEND_LOADING_CALL"); len(ls) > 0 {
			if len(ls) != 1 || ls[0]["transactionId"] != p.Key || ls[0]["label"] != "Looking up" || ls[0]["itemsInQueue"] != float64(2) || ls[0]["itemsCompleted"] != float64(1) {
				t.Fatalf("loading %v", ls)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no loading state sent")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// In a page, lazy metadata values are computed before the layout is sent.
func TestPageLazyMetadata(t *testing.T) {
	r := router.New()
	r.Page("stats", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Children: []interval.Component{p.Display.Metadata("Stats",
			interval.MetaItem{Label: "Users", Lazy: func(ctx context.Context) (any, error) { return 12, nil }})}}, nil
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	p, err := h.OpenPage(ctx, "stats")
	if err != nil {
		t.Fatal(err)
	}
	l, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(l.Children.ToRender[0].Props); got != `{"data":[{"label":"Users","value":12}],"layout":"grid"}` {
		t.Fatalf("props %s", got)
	}
}

// A page child with a construction error (an unknown image size) is left
// out and its error shown in the layout's errors; the other children stay.
func TestPageChildConstructionError(t *testing.T) {
	r := router.New()
	r.Page("p", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "P", Children: []interval.Component{
			p.Display.Image("Logo", "https://x/l.png").Size("huge"),
			p.Display.Markdown("still here"),
			interval.DisplayTable(p, "Rows", people),
		}}, nil
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	pv, err := h.OpenPage(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	l, err := pv.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Children.ToRender) != 2 || l.Children.ToRender[0].Label != "still here" || len(l.Errors) != 1 ||
		l.Errors[0].LayoutKey != "children" || !strings.Contains(l.Errors[0].Message, `size "huge"`) {
		t.Fatalf("layout %+v", l)
	}
	// State updates follow the rendered children: the table is the second.
	if err := pv.SetState(ctx, l, intervaltest.Values{"Rows": map[string]any{"offset": 0, "pageSize": 10, "queryTerm": "grace"}}); err != nil {
		t.Fatal(err)
	}
	if l, err = pv.Next(ctx); err != nil {
		t.Fatal(err)
	}
	var props struct{ TotalRecords int }
	decodeFresh(t, l.Children.ToRender[1].Props, &props)
	if props.TotalRecords != 1 {
		t.Fatalf("searched table: %d records", props.TotalRecords)
	}
}

// A page table's slow fetch does not hold up the connection: while it
// runs, an action on the same host starts and renders; the page's layout
// follows once the fetch returns.
func TestPageSlowFetchDoesNotBlockHost(t *testing.T) {
	release := make(chan struct{})
	fetching := make(chan struct{}, 1)
	r := router.New()
	r.Page("remote", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Children: []interval.Component{interval.DisplayTableAsync(p, "Rows", func(ctx context.Context, st interval.TableState) ([]person, int, error) {
			fetching <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return people, len(people), nil
		})}}, nil
	})
	r.Action("ping", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Text("Still there?").Run(ctx)
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	pv, err := h.OpenPage(ctx, "remote")
	if err != nil {
		t.Fatal(err)
	}
	l, err := pv.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pv.SetState(ctx, l, intervaltest.Values{"Rows": map[string]any{"offset": 0, "pageSize": 10}}); err != nil {
		t.Fatal(err)
	}
	<-fetching // the fetch now blocks until released
	run, err := h.Start(ctx, "ping")
	if err != nil {
		t.Fatal(err)
	}
	r0, err := run.Next(ctx)
	if err != nil {
		t.Fatalf("the action did not render while the page fetched: %v", err)
	}
	close(release)
	if l, err = pv.Next(ctx); err != nil {
		t.Fatal(err)
	}
	var props struct{ TotalRecords int }
	decodeFresh(t, l.Children.ToRender[0].Props, &props)
	if props.TotalRecords != 3 {
		t.Fatalf("fetched layout: %d records", props.TotalRecords)
	}
	if err := r0.Answer(ctx, intervaltest.Values{"Still there?": "yes"}); err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "yes" {
		t.Fatalf("result %+v %v", res, err)
	}
}

// A page's async table whose fetch fails or panics (no middleware) shows
// the error with the layout it had, and the host keeps serving: the panic
// used to escape the page's state worker and end the process.
func TestPageDataFailureShownAndRecovered(t *testing.T) {
	r := router.New()
	r.Page("data", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "Data", Children: []interval.Component{
			interval.DisplayTableAsync(p, "Rows", func(ctx context.Context, s interval.TableState) ([]map[string]any, int, error) {
				switch s.Offset {
				case 1:
					return nil, 0, fmt.Errorf("warehouse down")
				case 2:
					panic("fetch bug")
				}
				return []map[string]any{{"n": s.Offset}}, 10, nil
			}),
		}}, nil
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	p, err := h.OpenPage(ctx, "data")
	if err != nil || p.Answer.Type != "SUCCESS" {
		t.Fatalf("OPEN_PAGE: %+v %v", p, err)
	}
	l, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for offset, want := range []string{"", `table "Rows" data: warehouse down`, "panic: fetch bug", ""} {
		if err := p.SetState(ctx, l, intervaltest.Values{"Rows": map[string]any{"offset": offset % 3, "pageSize": 5}}); err != nil {
			t.Fatal(err)
		}
		next, err := p.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if len(next.Errors) > 0 {
			got = next.Errors[0].Message
		}
		if got != want || *next.Title != "Data" || len(next.Children.ToRender) != 1 {
			t.Fatalf("update %d: error %q, want %q; layout %+v", offset, got, want, next)
		}
	}
}
