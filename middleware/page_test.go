package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/router"
)

// pageCall is one run of a page's middleware chain, as the outermost
// middleware saw it.
type pageCall struct {
	slug string
	page bool // tx.Page was set
	err  error
}

// pageRig is a host whose pages are wrapped by the given middlewares inside
// an outer recorder, each page showing an async table whose fetch is
// counted and whose behaviour the test picks.
type pageRig struct {
	h       *intervaltest.Harness
	mu      sync.Mutex
	calls   []pageCall
	fetches atomic.Int32
	// demote, when set, makes every later chain run see a member of no
	// team: an outer middleware's doing, so the data updates of a page
	// opened by an admin meet the inner access checks anew.
	demote   atomic.Bool
	rendered atomic.Int32
}

func (rg *pageRig) recorded() []pageCall {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	return slices.Clone(rg.calls)
}

func newPageRig(t *testing.T, log *slog.Logger) *pageRig {
	rg := &pageRig{}
	record := func(next interval.Handler) interval.Handler {
		return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			if rg.demote.Load() {
				tx.User.Role, tx.User.Teams = interval.RoleMember, nil
			}
			res, err := next.ServeAction(ctx, tx)
			rg.mu.Lock()
			rg.calls = append(rg.calls, pageCall{slug: tx.Action.Slug, page: tx.Page != nil && tx.Page.Slug == tx.Action.Slug && tx.Page.Key == tx.ID, err: err})
			rg.mu.Unlock()
			return res, err
		})
	}
	page := func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		rg.rendered.Add(1)
		switch p.Slug {
		case "panics":
			panic("render boom")
		case "slow":
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return &interval.Layout{Title: p.Slug, Children: []interval.Component{
			interval.DisplayTableAsync(p, "Items", func(ctx context.Context, s interval.TableState) ([]map[string]any, int, error) {
				rg.fetches.Add(1)
				switch p.Slug {
				case "panicky_data":
					panic("fetch boom")
				case "slow_data":
					<-ctx.Done()
					return nil, 0, ctx.Err()
				}
				return []map[string]any{{"n": s.Offset}}, 100, nil
			}),
		}}, nil
	}
	r := router.New()
	r.Use(record, middleware.Logger(log), middleware.RecovererWithLogger(log))
	r.With(middleware.RequireRole(interval.RoleAdmin)).Page("admins", page)
	r.Route("support", func(r router.Router) {
		r.Use(middleware.RequireTeams("support"))
		r.Index(page)
	})
	r.Page("panics", page)
	r.Page("panicky_data", page)
	r.Group(func(r router.Router) {
		r.Use(middleware.Timeout(50 * time.Millisecond))
		r.Page("slow", page)
		r.Page("slow_data", page)
	})
	r.Page("logged", page)
	rg.h = intervaltest.New(t, r)
	return rg
}

// open opens slug as u and returns its first layout.
func (rg *pageRig) open(ctx context.Context, t *testing.T, slug string, u intervaltest.User) (*intervaltest.PageView, *intervaltest.Layout) {
	t.Helper()
	p, err := rg.h.OpenPage(ctx, slug, intervaltest.As(u))
	if err != nil || p.Answer.Type != "SUCCESS" {
		t.Fatalf("OPEN_PAGE %s: %+v %v", slug, p, err)
	}
	l, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p, l
}

// page asks for the table's rows at offset and returns the next layout.
func (rg *pageRig) page(ctx context.Context, t *testing.T, p *intervaltest.PageView, l *intervaltest.Layout, offset int) *intervaltest.Layout {
	t.Helper()
	if err := p.SetState(ctx, l, intervaltest.Values{"Items": map[string]any{"offset": offset, "pageSize": 10}}); err != nil {
		t.Fatal(err)
	}
	next, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return next
}

func layoutErrors(l *intervaltest.Layout) []string {
	var out []string
	if l != nil {
		for _, e := range l.Errors {
			out = append(out, e.Message)
		}
	}
	return out
}

// Middleware registered on a router wraps pages as it wraps actions: the
// page's handler and each update of its children's async data (an async
// table's fetch) run inside RequireRole, RequireTeams, Logger, Timeout and
// Recoverer, and an outer middleware sees the page's Tx and their errors.
func TestMiddlewareOnPages(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	rg := newPageRig(t, log)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	member := intervaltest.User{Email: "bob@example.com", Role: interval.RoleMember, Teams: []string{"sales"}}
	supporter := intervaltest.User{Email: "sue@example.com", Role: interval.RoleMember, Teams: []string{"support"}}

	t.Run("RequireRole", func(t *testing.T) {
		before := rg.rendered.Load()
		_, l := rg.open(ctx, t, "admins", member)
		if got := layoutErrors(l); !slices.Equal(got, []string{`access denied: requires role "admin"`}) || l.Children != nil || rg.rendered.Load() != before {
			t.Fatalf("member opened the admins page: errors %q, children %v, handler ran %d times", got, l.Children, rg.rendered.Load()-before)
		}
		p, l := rg.open(ctx, t, "admins", intervaltest.Admin)
		if got := layoutErrors(l); len(got) != 0 || l.Children == nil {
			t.Fatalf("admin: errors %q", got)
		}
		fetched := rg.fetches.Load()
		if got := layoutErrors(rg.page(ctx, t, p, l, 10)); len(got) != 0 || rg.fetches.Load() != fetched+1 {
			t.Fatalf("admin's data: errors %q, %d fetches", got, rg.fetches.Load()-fetched)
		}
		rg.demote.Store(true)
		defer rg.demote.Store(false)
		if got := layoutErrors(rg.page(ctx, t, p, l, 20)); !slices.Equal(got, []string{`access denied: requires role "admin"`}) || rg.fetches.Load() != fetched+1 {
			t.Fatalf("demoted operator's data: errors %q, %d fetches", got, rg.fetches.Load()-fetched)
		}
	})

	t.Run("RequireTeams", func(t *testing.T) {
		before := rg.rendered.Load()
		_, l := rg.open(ctx, t, "support", member)
		if got := layoutErrors(l); !slices.Equal(got, []string{`access denied: requires team "support"`}) || rg.rendered.Load() != before {
			t.Fatalf("outsider opened the support page: errors %q, handler ran %d times", got, rg.rendered.Load()-before)
		}
		p, l := rg.open(ctx, t, "support", supporter)
		if got := layoutErrors(l); len(got) != 0 {
			t.Fatalf("supporter: errors %q", got)
		}
		fetched := rg.fetches.Load()
		rg.demote.Store(true)
		defer rg.demote.Store(false)
		if got := layoutErrors(rg.page(ctx, t, p, l, 10)); !slices.Equal(got, []string{`access denied: requires team "support"`}) || rg.fetches.Load() != fetched {
			t.Fatalf("data for an operator out of the team: errors %q, %d fetches", got, rg.fetches.Load()-fetched)
		}
		var forbidden int
		for _, c := range rg.recorded() {
			if c.slug == "support" && errors.Is(c.err, middleware.ErrForbidden) {
				forbidden++
			}
		}
		if forbidden != 2 {
			t.Fatalf("the outer middleware saw %d ErrForbidden for the support page, want 2 (render and data)", forbidden)
		}
	})

	t.Run("Recoverer", func(t *testing.T) {
		_, l := rg.open(ctx, t, "panics", intervaltest.Admin)
		if got := layoutErrors(l); !slices.Equal(got, []string{"panic: render boom"}) {
			t.Fatalf("panicking page: errors %q", got)
		}
		p, l := rg.open(ctx, t, "panicky_data", intervaltest.Admin)
		if got := layoutErrors(rg.page(ctx, t, p, l, 10)); !slices.Equal(got, []string{"panic: fetch boom"}) {
			t.Fatalf("panicking fetch: errors %q", got)
		}
		var panics []string
		for _, c := range rg.recorded() {
			var pe *middleware.PanicError
			if errors.As(c.err, &pe) {
				panics = append(panics, c.slug+": "+pe.Error())
			}
		}
		if want := []string{"panics: panic: render boom", "panicky_data: panic: fetch boom"}; !slices.Equal(panics, want) {
			t.Fatalf("the outer middleware saw panics %q, want %q (a *PanicError each)", panics, want)
		}
		recs := pageRecords(t, &buf, "interval: panic in page")
		if len(recs) != 2 || recs[0]["page"] != "panics" || recs[1]["page"] != "panicky_data" || recs[1]["key"] != p.Key ||
			!strings.Contains(recs[1]["stack"].(string), "goroutine") {
			t.Fatalf("panic records: %v", recs)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		_, l := rg.open(ctx, t, "slow", intervaltest.Admin)
		if got := layoutErrors(l); !slices.Equal(got, []string{"page timed out after 50ms: context deadline exceeded"}) {
			t.Fatalf("slow page: errors %q", got)
		}
		p, l := rg.open(ctx, t, "slow_data", intervaltest.Admin)
		if got := layoutErrors(rg.page(ctx, t, p, l, 10)); !slices.Equal(got, []string{`page timed out after 50ms: table "Items" data: context deadline exceeded`}) {
			t.Fatalf("slow data: errors %q", got)
		}
		var timeouts []string
		for _, c := range rg.recorded() {
			if errors.Is(c.err, middleware.ErrTimeout) {
				timeouts = append(timeouts, c.slug)
			}
		}
		if want := []string{"slow", "slow_data"}; !slices.Equal(timeouts, want) {
			t.Fatalf("timeouts seen %q, want %q", timeouts, want)
		}
	})

	t.Run("Logger", func(t *testing.T) {
		p, l := rg.open(ctx, t, "logged", intervaltest.Admin)
		rg.page(ctx, t, p, l, 30)
		var got []string
		for _, r := range pageRecords(t, &buf, "interval: page") {
			if r["page"] == "logged" && r["key"] == p.Key && r["user"] == "alice@example.com" && r["status"] == "ok" {
				got = append(got, r["level"].(string))
			}
		}
		if !slices.Equal(got, []string{"INFO", "INFO"}) {
			t.Fatalf("Logger records of the logged page (render, data): %q\n%s", got, buf.snapshot())
		}
		denied := 0
		for _, r := range pageRecords(t, &buf, "interval: page") {
			if r["page"] == "admins" && r["status"] == "error" && r["level"] == "ERROR" {
				denied++
			}
		}
		if denied != 2 {
			t.Fatalf("Logger logged %d failures of the admins page, want 2 (member's render, demoted data)", denied)
		}
	})

	for _, c := range rg.recorded() {
		if !c.page {
			t.Fatalf("a page's chain ran with a Tx that does not describe the page: %+v", c)
		}
	}
}

// pageRecords returns the JSON log records with message msg, in order.
func pageRecords(t *testing.T, buf *syncBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.snapshot().String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}
