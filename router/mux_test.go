package router_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// recorder records the order in which middlewares and handlers run.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recorder) mw(name string) interval.Middleware {
	return func(next interval.Handler) interval.Handler {
		return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			r.add(name)
			return next.ServeAction(ctx, tx)
		})
	}
}

func (r *recorder) h(name string) interval.HandlerFunc {
	return func(ctx context.Context, tx *interval.Tx) (any, error) {
		r.add(name)
		return name, nil
	}
}

func noop(context.Context, *interval.Tx) (any, error) { return nil, nil }

func page(context.Context, *interval.Page) (*interval.Layout, error) { return nil, nil }

func action(t *testing.T, rt interval.RouteTable, slug string) interval.ActionRoute {
	t.Helper()
	for _, a := range rt.Actions {
		if a.Slug == slug {
			return a
		}
	}
	t.Fatalf("no action %q in %v", slug, slugs(rt))
	return interval.ActionRoute{}
}

func pageRoute(t *testing.T, rt interval.RouteTable, slug string) interval.PageRoute {
	t.Helper()
	for _, p := range rt.Pages {
		if p.Slug == slug {
			return p
		}
	}
	t.Fatalf("no page %q in %v", slug, slugs(rt))
	return interval.PageRoute{}
}

// slugs lists the table as "a:slug" and "p:slug" entries.
func slugs(rt interval.RouteTable) []string {
	var s []string
	for _, p := range rt.Pages {
		s = append(s, "p:"+p.Slug)
	}
	for _, a := range rt.Actions {
		s = append(s, "a:"+a.Slug)
	}
	return s
}

func serve(t *testing.T, m *router.Mux, slug string) (any, error) {
	t.Helper()
	a := action(t, m.RouteTable(), slug)
	return a.Handler.ServeAction(context.Background(), &interval.Tx{ID: "tx", Action: interval.ActionRef{Slug: slug}})
}

func TestMiddlewareChainOrder(t *testing.T) {
	rec := &recorder{}
	m := router.New()
	m.Use(rec.mw("a"), rec.mw("b"))
	m.Action("plain", rec.h("plain"))
	m.With(rec.mw("w1"), rec.mw("w2")).Action("with", rec.h("with"))
	m.With(rec.mw("w1")).With(rec.mw("w2")).Action("with2", rec.h("with2"))
	m.Group(func(r router.Router) {
		r.Use(rec.mw("g"))
		r.Action("group", rec.h("group"))
		r.With(rec.mw("gw")).Action("group_with", rec.h("group_with"))
	})
	m.Route("p", func(r router.Router) {
		r.Use(rec.mw("p"))
		r.Action("x", rec.h("px"))
		r.Route("q", func(r router.Router) {
			r.Use(rec.mw("q"))
			r.Action("y", rec.h("pqy"))
		})
	})
	m.Action("after_group", rec.h("after_group"))

	tests := []struct {
		slug string
		want []string
	}{
		{"plain", []string{"a", "b", "plain"}},
		{"with", []string{"a", "b", "w1", "w2", "with"}},
		{"with2", []string{"a", "b", "w1", "w2", "with2"}},
		{"group", []string{"a", "b", "g", "group"}},
		{"group_with", []string{"a", "b", "g", "gw", "group_with"}},
		{"p/x", []string{"a", "b", "p", "px"}},
		{"p/q/y", []string{"a", "b", "p", "q", "pqy"}},
		{"after_group", []string{"a", "b", "after_group"}},
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			res, err := serve(t, m, tt.slug)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.take(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("calls = %v, want %v", got, tt.want)
			}
			if res != tt.want[len(tt.want)-1] {
				t.Errorf("result = %v, want the handler's", res)
			}
		})
	}
}

func TestUseOnInlineRouterBeforeItsRoutes(t *testing.T) {
	rec := &recorder{}
	m := router.New()
	w := m.With(rec.mw("w"))
	m.Use(rec.mw("late")) // allowed: nothing registered yet
	w.Use(rec.mw("w2"))
	w.Action("x", rec.h("x"))
	if _, err := serve(t, m, "x"); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"late", "w", "w2", "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestRouteTableSlugsAndNames(t *testing.T) {
	m := router.New()
	m.Action("hello", noop)
	m.Route("billing", func(r router.Router) {
		r.Action("refund_user", noop)
		r.Route("refunds", func(r router.Router) {
			r.Action("listRefunds", noop)
			r.Index(page)
		}, router.Name("All refunds"))
		r.Group(func(r router.Router) { r.Action("in_group", noop) })
	}, router.Description("Money"))
	m.Route("a/b/c", func(r router.Router) { r.Action("deep", noop) })
	m.Route("a", nil, router.Name("Explicit A")) // declares the intermediate page
	m.Page("reports", page)

	rt := m.RouteTable()
	wantSlugs := []string{
		"p:billing", "p:billing/refunds", "p:a", "p:a/b", "p:a/b/c", "p:reports",
		"a:hello", "a:billing/refund_user", "a:billing/refunds/listRefunds", "a:billing/in_group", "a:a/b/c/deep",
	}
	if got := slugs(rt); !reflect.DeepEqual(got, wantSlugs) {
		t.Fatalf("slugs =\n%v\nwant\n%v", got, wantSlugs)
	}

	pages := []struct {
		slug, name, desc string
		handler          bool
	}{
		{"billing", "Billing", "Money", false},
		{"billing/refunds", "All refunds", "", true},
		{"a", "Explicit A", "", false},
		{"a/b", "B", "", false},
		{"reports", "Reports", "", true},
	}
	for _, tt := range pages {
		p := pageRoute(t, rt, tt.slug)
		if p.Name != tt.name || p.Description != tt.desc || (p.Handler != nil) != tt.handler {
			t.Errorf("page %q = {Name:%q Description:%q Handler:%v}, want {%q %q %v}", tt.slug, p.Name, p.Description, p.Handler != nil, tt.name, tt.desc, tt.handler)
		}
	}
	actions := map[string]string{
		"hello":                       "Hello",
		"billing/refund_user":         "Refund user",
		"billing/refunds/listRefunds": "List refunds",
		"a/b/c/deep":                  "Deep",
		"billing/in_group":            "In group",
	}
	for slug, name := range actions {
		if got := action(t, rt, slug).Name; got != name {
			t.Errorf("action %q name = %q, want %q", slug, got, name)
		}
	}
}

func TestOptions(t *testing.T) {
	m := router.New()
	m.Action("a", noop,
		router.Name("Refund"), router.Description("Gives money back"), router.Unlisted(),
		router.Backgroundable(), router.WarnOnClose(false), router.Teams("support", "finance"))
	m.Action("plain", noop)
	m.Route("p", nil, router.Name("P"), router.Description("d"), router.Unlisted(), router.Teams("ops"))

	rt := m.RouteTable()
	f := false
	wantA := interval.ActionInfo{Slug: "a", Name: "Refund", Description: "Gives money back", Backgroundable: true,
		Unlisted: true, WarnOnClose: &f, Teams: []string{"support", "finance"}}
	if got := action(t, rt, "a").ActionInfo; !reflect.DeepEqual(got, wantA) {
		t.Errorf("action a = %+v, want %+v", got, wantA)
	}
	wantPlain := interval.ActionInfo{Slug: "plain", Name: "Plain"}
	if got := action(t, rt, "plain").ActionInfo; !reflect.DeepEqual(got, wantPlain) {
		t.Errorf("action plain = %+v, want %+v", got, wantPlain)
	}
	wantP := interval.PageInfo{Slug: "p", Name: "P", Description: "d", Unlisted: true, Teams: []string{"ops"}}
	if got := pageRoute(t, rt, "p").PageInfo; !reflect.DeepEqual(got, wantP) {
		t.Errorf("page p = %+v, want %+v", got, wantP)
	}

	// The table is a copy: changing it does not change the Mux.
	rt.Actions[0].Teams[0] = "changed"
	*rt.Actions[0].WarnOnClose = true
	if got := action(t, m.RouteTable(), "a"); got.Teams[0] != "support" || *got.WarnOnClose {
		t.Errorf("RouteTable shares state with the Mux: %+v", got.ActionInfo)
	}
}

func TestMount(t *testing.T) {
	rec := &recorder{}
	sub := router.New(router.Name("Billing dept"), router.Description("from New"))
	sub.Use(rec.mw("sub"))
	sub.Action("refund", rec.h("refund"))
	sub.Route("inner", func(r router.Router) { r.Action("x", rec.h("x")) })
	sub.Index(page)

	m := router.New()
	m.Use(rec.mw("root"))
	m.Route("admin", func(r router.Router) {
		r.Use(rec.mw("admin"))
		r.Mount("billing", sub, router.Description("from Mount"))
	})

	rt := m.RouteTable()
	want := []string{"p:admin", "p:admin/billing", "p:admin/billing/inner", "a:admin/billing/refund", "a:admin/billing/inner/x"}
	if got := slugs(rt); !reflect.DeepEqual(got, want) {
		t.Fatalf("slugs = %v, want %v", got, want)
	}
	p := pageRoute(t, rt, "admin/billing")
	if p.Name != "Billing dept" || p.Description != "from Mount" || p.Handler == nil {
		t.Errorf("mounted page = %+v (handler %v), want New's name, Mount's description and sub's Index", p.PageInfo, p.Handler != nil)
	}
	if _, err := serve(t, m, "admin/billing/inner/x"); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"root", "admin", "sub", "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}

	// Run-time changes through the mounted Mux reach the tree and its listeners.
	var n atomic.Int32
	m.OnChange(func() { n.Add(1) })
	sub.Action("late", rec.h("late"))
	if n.Load() != 1 {
		t.Errorf("OnChange calls after sub.Action = %d, want 1", n.Load())
	}
	if _, err := serve(t, m, "admin/billing/late"); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"root", "admin", "sub", "late"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	// The mounted Mux's own table uses full slugs of the tree.
	if got, want := slugs(sub.RouteTable()), []string{"p:admin/billing/inner", "a:admin/billing/refund", "a:admin/billing/inner/x", "a:admin/billing/late"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sub slugs = %v, want %v", got, want)
	}
	if !sub.Remove("refund") {
		t.Error("sub.Remove(refund) = false")
	}
	if n.Load() != 2 {
		t.Errorf("OnChange calls after sub.Remove = %d, want 2", n.Load())
	}
}

func TestMountCarriesListenersAndRebuildsChains(t *testing.T) {
	rec := &recorder{}
	sub := router.New()
	sub.Action("x", rec.h("x"))
	_ = sub.RouteTable() // builds x's chain before the mount
	var n atomic.Int32
	sub.OnChange(func() { n.Add(1) })

	m := router.New()
	m.Use(rec.mw("root"))
	m.Mount("s", sub)
	if n.Load() != 1 {
		t.Errorf("sub listener calls after Mount = %d, want 1", n.Load())
	}
	m.Action("y", noop)
	if n.Load() != 2 {
		t.Errorf("sub listener calls after m.Action = %d, want 2", n.Load())
	}
	if _, err := serve(t, m, "s/x"); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"root", "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestChainBuiltOnce(t *testing.T) {
	var wraps atomic.Int32
	m := router.New()
	m.Use(func(next interval.Handler) interval.Handler { wraps.Add(1); return next })
	m.Action("x", noop)
	m.Action("y", noop)
	for range 3 {
		m.RouteTable()
	}
	if got := wraps.Load(); got != 2 {
		t.Errorf("middleware applied %d times for 2 actions over 3 RouteTable calls, want 2", got)
	}
}

// mustPanic runs fn and checks it panics with a "router: " message
// containing want.
func mustPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		if v == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		msg, ok := v.(string)
		if !ok {
			t.Fatalf("panic value %T %v, want a string", v, v)
		}
		if !strings.HasPrefix(msg, "router: ") || !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want prefix \"router: \" and %q", msg, want)
		}
	}()
	fn()
}

func TestRegistrationPanics(t *testing.T) {
	mw := func(next interval.Handler) interval.Handler { return next }
	tests := []struct {
		name string
		want string
		fn   func(m *router.Mux)
	}{
		{"duplicate action", `duplicate slug "x": already an action`, func(m *router.Mux) { m.Action("x", noop); m.Action("x", noop) }},
		{"duplicate action via Group", `duplicate slug "x"`, func(m *router.Mux) {
			m.Action("x", noop)
			m.Group(func(r router.Router) { r.Action("x", noop) })
		}},
		{"duplicate nested action", `duplicate slug "p/x"`, func(m *router.Mux) {
			m.Route("p", func(r router.Router) { r.Action("x", noop); r.With(mw).Action("x", noop) })
		}},
		{"action over page", `duplicate slug "p": already a page`, func(m *router.Mux) { m.Route("p", nil); m.Action("p", noop) }},
		{"page over action", `duplicate slug "p": already an action`, func(m *router.Mux) { m.Action("p", noop); m.Route("p", nil) }},
		{"page through action", `"p" is an action, not a page`, func(m *router.Mux) { m.Action("p", noop); m.Route("p/q", nil) }},
		{"duplicate page", `duplicate slug "p": page already declared`, func(m *router.Mux) { m.Route("p", nil); m.Page("p", page) }},
		{"duplicate nested page", `duplicate slug "a/b"`, func(m *router.Mux) {
			m.Route("a/b", nil)
			m.Route("a", func(r router.Router) { r.Route("b", nil) })
		}},
		{"mount over intermediate page", `duplicate slug "a": a page already exists`, func(m *router.Mux) { m.Route("a/b", nil); m.Mount("a", router.New()) }},
		{"action slug with slash", `Action("a/b"): invalid action slug`, func(m *router.Mux) { m.Action("a/b", noop) }},
		{"empty action slug", `Action(""): invalid action slug`, func(m *router.Mux) { m.Action("", noop) }},
		{"action slug with space", `invalid action slug`, func(m *router.Mux) { m.Action("a b", noop) }},
		{"action slug non-ASCII", `invalid action slug`, func(m *router.Mux) { m.Handle("café", interval.HandlerFunc(noop)) }},
		{"empty page slug", `Route(""): invalid page slug`, func(m *router.Mux) { m.Route("", nil) }},
		{"leading slash", `Route("/a"): invalid page slug`, func(m *router.Mux) { m.Route("/a", nil) }},
		{"trailing slash", `Page("a/"): invalid page slug`, func(m *router.Mux) { m.Page("a/", page) }},
		{"double slash", `Mount("a//b"): invalid page slug`, func(m *router.Mux) { m.Mount("a//b", router.New()) }},
		{"page slug bad char", `invalid page slug`, func(m *router.Mux) { m.Route("a/b?c", nil) }},
		{"nil HandlerFunc", `Action("x"): nil handler`, func(m *router.Mux) { m.Action("x", nil) }},
		{"nil Handler", `Handle("x"): nil handler`, func(m *router.Mux) { m.Handle("x", nil) }},
		{"nil page handler", `Page("p"): nil handler`, func(m *router.Mux) { m.Page("p", nil) }},
		{"nil Index", `Index: nil handler`, func(m *router.Mux) { m.Index(nil) }},
		{"Index twice", `page "p" already has an Index handler`, func(m *router.Mux) {
			m.Route("p", func(r router.Router) { r.Index(page); r.Group(func(r router.Router) { r.Index(page) }) })
		}},
		{"nil middleware in Use", `Use: middleware 1 is nil`, func(m *router.Mux) { m.Use(mw, nil) }},
		{"nil middleware in With", `With: middleware 0 is nil`, func(m *router.Mux) { m.With(nil) }},
		{"Use after Action", `Use must be called before any route`, func(m *router.Mux) { m.Action("x", noop); m.Use(mw) }},
		{"Use after Route", `Use must be called before any route`, func(m *router.Mux) { m.Route("p", nil); m.Use(mw) }},
		{"Use after Index", `Use must be called before any route`, func(m *router.Mux) { m.Index(page); m.Use(mw) }},
		{"Use after route in Group", `Use must be called before any route`, func(m *router.Mux) {
			m.Group(func(r router.Router) { r.Action("x", noop) })
			m.Use(mw)
		}},
		{"Use after route in With", `Use must be called before any route`, func(m *router.Mux) { m.With(mw).Action("x", noop); m.Use(mw) }},
		{"Use after Mount", `Use must be called before any route`, func(m *router.Mux) { m.Mount("s", router.New()); m.Use(mw) }},
		{"Use in Route after its routes", `(page "p" already has routes)`, func(m *router.Mux) {
			m.Route("p", func(r router.Router) { r.Action("x", noop); r.Use(mw) })
		}},
		{"Backgroundable on page", `Route("p"): option Backgroundable applies to actions`, func(m *router.Mux) { m.Route("p", nil, router.Backgroundable()) }},
		{"WarnOnClose on Page", `Page("p"): option WarnOnClose applies to actions`, func(m *router.Mux) { m.Page("p", page, router.WarnOnClose(true)) }},
		{"Backgroundable on Mount", `Mount("p"): option Backgroundable`, func(m *router.Mux) { m.Mount("p", router.New(), router.Backgroundable()) }},
		{"Backgroundable on New", `New(""): option Backgroundable`, func(*router.Mux) { router.New(router.Backgroundable()) }},
		{"nil option", `nil Option`, func(m *router.Mux) { m.Action("x", noop, nil) }},
		{"Teams without slugs", `Teams needs at least one team slug`, func(*router.Mux) { router.Teams() }},
		{"Teams with empty slug", `Teams: empty team slug`, func(*router.Mux) { router.Teams("a", "") }},
		{"mount nil", `Mount("s"): nil Routes`, func(m *router.Mux) { m.Mount("s", nil) }},
		{"mount nil Mux", `Mount("s"): nil Mux`, func(m *router.Mux) { m.Mount("s", (*router.Mux)(nil)) }},
		{"mount zero Mux", `Mount("s"): nil Mux`, func(m *router.Mux) { m.Mount("s", &router.Mux{}) }},
		{"mount into itself", `already part of this tree`, func(m *router.Mux) { m.Mount("s", m) }},
		{"mount into own descendant", `already part of this tree`, func(m *router.Mux) {
			sub := router.New()
			m.Mount("s", sub)
			sub.Mount("loop", m)
		}},
		{"mount twice", `already mounted elsewhere`, func(m *router.Mux) {
			sub := router.New()
			m.Mount("s", sub)
			router.New().Mount("t", sub)
		}},
		{"OnChange nil", `OnChange: nil func`, func(m *router.Mux) { m.OnChange(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, tt.want, func() { tt.fn(router.New()) })
		})
	}
}

func TestPanicLeavesMuxUsable(t *testing.T) {
	m := router.New()
	m.Action("x", noop)
	mustPanic(t, "duplicate", func() { m.Action("x", noop) })
	m.Action("y", noop) // the lock was released
	if got, want := slugs(m.RouteTable()), []string{"a:x", "a:y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("slugs = %v, want %v", got, want)
	}
}

func TestRemove(t *testing.T) {
	build := func() (*router.Mux, router.Router) {
		m := router.New()
		m.Action("x", noop)
		p := m.Route("p", func(r router.Router) {
			r.Action("y", noop)
			r.Route("q", func(r router.Router) { r.Action("z", noop) })
		})
		return m, p
	}
	tests := []struct {
		name string
		// remove is called on the root, or on the Router of page "p" when onPage.
		onPage bool
		slug   string
		ok     bool
		want   []string
	}{
		{"action", false, "x", true, []string{"p:p", "p:p/q", "a:p/y", "a:p/q/z"}},
		{"nested action", false, "p/q/z", true, []string{"p:p", "p:p/q", "a:x", "a:p/y"}},
		{"page with subtree", false, "p", true, []string{"a:x"}},
		{"nested page", false, "p/q", true, []string{"p:p", "a:x", "a:p/y"}},
		{"relative to a page", true, "q/z", true, []string{"p:p", "p:p/q", "a:x", "a:p/y"}},
		{"unknown", false, "nope", false, []string{"p:p", "p:p/q", "a:x", "a:p/y", "a:p/q/z"}},
		{"unknown under page", false, "p/nope", false, []string{"p:p", "p:p/q", "a:x", "a:p/y", "a:p/q/z"}},
		{"through an action", false, "x/y", false, []string{"p:p", "p:p/q", "a:x", "a:p/y", "a:p/q/z"}},
		{"invalid", false, "p//q", false, []string{"p:p", "p:p/q", "a:x", "a:p/y", "a:p/q/z"}},
		{"empty", false, "", false, []string{"p:p", "p:p/q", "a:x", "a:p/y", "a:p/q/z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, p := build()
			var n atomic.Int32
			m.OnChange(func() { n.Add(1) })
			var r router.Router = m
			if tt.onPage {
				r = p
			}
			if got := r.Remove(tt.slug); got != tt.ok {
				t.Errorf("Remove(%q) = %v, want %v", tt.slug, got, tt.ok)
			}
			if got := slugs(m.RouteTable()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("slugs = %v, want %v", got, tt.want)
			}
			wantN := int32(0)
			if tt.ok {
				wantN = 1
			}
			if n.Load() != wantN {
				t.Errorf("OnChange calls = %d, want %d", n.Load(), wantN)
			}
		})
	}
}

func TestRemoveThenRegisterAgain(t *testing.T) {
	rec := &recorder{}
	m := router.New()
	m.Action("x", rec.h("old"))
	m.Route("p", func(r router.Router) { r.Action("y", noop) })
	if !m.Remove("x") || !m.Remove("p") {
		t.Fatal("Remove failed")
	}
	m.Action("x", rec.h("new"))
	m.Route("p", nil) // the page can be declared again
	if res, err := serve(t, m, "x"); err != nil || res != "new" {
		t.Errorf("x = %v, %v; want the new handler", res, err)
	}
	if got, want := slugs(m.RouteTable()), []string{"p:p", "a:x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("slugs = %v, want %v", got, want)
	}
}

func TestOnChange(t *testing.T) {
	m := router.New()
	var calls []int
	var tables []int
	unregister := m.OnChange(func() {
		calls = append(calls, 1)
		tables = append(tables, len(m.RouteTable().Actions)) // no deadlock: called unlocked
	})
	other := 0
	m.OnChange(func() { other++ })

	m.Action("a", noop)
	m.Handle("b", interval.HandlerFunc(noop))
	m.Route("p", nil)
	m.Page("q", page)
	m.Remove("a")
	m.Remove("missing") // no change, no call
	if len(calls) != 6 {
		t.Errorf("calls = %d, want 6 (Action, Handle, Route, Route+Index of Page, Remove)", len(calls))
	}
	if want := []int{1, 2, 2, 2, 2, 1}; !reflect.DeepEqual(tables, want) {
		t.Errorf("action counts seen by the listener = %v, want %v", tables, want)
	}
	func() {
		defer func() { _ = recover() }()
		m.Action("b", noop) // duplicate: panics, must not notify
	}()
	if len(calls) != 6 {
		t.Errorf("a panicking registration notified")
	}
	unregister()
	unregister() // idempotent
	m.Action("c", noop)
	if len(calls) != 6 {
		t.Errorf("unregistered listener called")
	}
	if other != 7 {
		t.Errorf("other listener calls = %d, want 7", other)
	}
}

func TestConcurrentRouteTableAndChanges(t *testing.T) {
	rec := &recorder{}
	m := router.New()
	m.Use(rec.mw("root"))
	m.Action("fixed", noop)
	var notified atomic.Int64
	m.OnChange(func() { notified.Add(1) })

	const workers, rounds = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range rounds {
				slug := fmt.Sprintf("w%d_%d", w, i)
				m.Route(slug, func(r router.Router) { r.Action("x", noop) })
				if !m.Remove(slug) {
					t.Errorf("Remove(%q) = false", slug)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range rounds {
				rt := m.RouteTable()
				if len(rt.Actions) == 0 || rt.Actions[0].Slug != "fixed" {
					t.Errorf("fixed action missing: %v", slugs(rt))
				}
				if err := router.Walk(m, func(router.Definition) error { return nil }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := slugs(m.RouteTable()); !reflect.DeepEqual(got, []string{"a:fixed"}) {
		t.Errorf("slugs after all removals = %v", got)
	}
	// Route notifies once for the page and once for the action, Remove once.
	if got, want := notified.Load(), int64(workers*rounds*3); got != want {
		t.Errorf("notifications = %d, want %d", got, want)
	}
}

func TestConcurrentMounts(t *testing.T) {
	m := router.New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := router.New()
			sub.Action("x", noop)
			m.Mount(fmt.Sprintf("s%d", i), sub)
			sub.Action("y", noop)
			m.RouteTable()
		}()
	}
	wg.Wait()
	if got := len(m.RouteTable().Actions); got != 16 {
		t.Errorf("actions = %d, want 16", got)
	}
}

func TestWalk(t *testing.T) {
	rec := &recorder{}
	a, b := rec.mw("a"), rec.mw("b")
	m := router.New()
	m.Use(a)
	m.Route("p", func(r router.Router) {
		r.Index(page)
		r.With(b).Action("x", rec.h("x"), router.Backgroundable())
	})
	m.Action("y", noop)

	var got []string
	err := router.Walk(m, func(d router.Definition) error {
		if d.IsPage {
			got = append(got, fmt.Sprintf("page %s %q handler=%v", d.Slug, d.PageInfo.Name, d.PageHandler != nil))
			return nil
		}
		got = append(got, fmt.Sprintf("action %s %q bg=%v mws=%d", d.Slug, d.ActionInfo.Name, d.ActionInfo.Backgroundable, len(d.Middlewares)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`page p "P" handler=true`,
		`action p/x "X" bg=true mws=2`,
		`action y "Y" bg=false mws=1`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("walk =\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Handler is unwrapped and Middlewares are outermost first.
	err = router.Walk(m, func(d router.Definition) error {
		if d.Slug != "p/x" {
			return nil
		}
		_, err := interval.Chain(d.Middlewares).Then(d.Handler).ServeAction(context.Background(), &interval.Tx{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"a", "b", "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}

	// An error stops the walk and is returned as is.
	stop := errors.New("stop")
	n := 0
	err = router.Walk(m, func(router.Definition) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Walk = %v after %d calls, want stop after 1", err, n)
	}

	// fn may change the Mux.
	err = router.Walk(m, func(d router.Definition) error {
		if d.Slug == "y" {
			m.Remove("y")
		}
		return nil
	})
	if err != nil || len(m.RouteTable().Actions) != 1 {
		t.Errorf("Walk with a change = %v, actions %v", err, slugs(m.RouteTable()))
	}
}

func TestHumanize(t *testing.T) {
	tests := map[string]string{
		"refund_user":   "Refund user",
		"refundUser":    "Refund user",
		"refund-user":   "Refund user",
		"refund.user":   "Refund user",
		"a/b/my_page":   "My page",
		"parseURLQuery": "Parse url query",
		"APIKeys":       "Api keys",
		"parseURL":      "Parse url",
		"HELLO_WORLD":   "Hello world",
		"v2_export":     "V2 export",
		"x":             "X",
		"__":            "",
		"Already Nice":  "Already nice",
	}
	for in, want := range tests {
		if got := router.Humanize(in); got != want {
			t.Errorf("Humanize(%q) = %q, want %q", in, got, want)
		}
	}
}

// A page's handler gets the middlewares of the Router its Index was
// registered on, as an action there would: Use outside, With, Use inside a
// Route before Index, and the middlewares of the Router a Mux is mounted
// on; a page without Index has none.
func TestPageMiddlewares(t *testing.T) {
	rec := &recorder{}
	m := router.New()
	m.Use(rec.mw("root"))
	m.With(rec.mw("with")).Page("w", page)
	m.Route("r", func(r router.Router) {
		r.Use(rec.mw("inner"))
		r.Index(page)
		r.Action("a", noop)
	})
	m.Route("bare", nil)
	sub := router.New()
	sub.Use(rec.mw("sub"))
	sub.Index(page)
	m.Group(func(g router.Router) {
		g.Use(rec.mw("group"))
		g.Mount("mounted", sub)
	})

	rt := m.RouteTable()
	chain := func(slug string) []string {
		t.Helper()
		p := pageRoute(t, rt, slug)
		var h interval.Handler = interval.HandlerFunc(func(context.Context, *interval.Tx) (any, error) {
			rec.add("page")
			return nil, nil
		})
		if _, err := interval.Chain(p.Middlewares).Then(h).ServeAction(context.Background(), &interval.Tx{}); err != nil {
			t.Fatal(err)
		}
		return rec.take()
	}
	for slug, want := range map[string][]string{
		"w":       {"root", "with", "page"},
		"r":       {"root", "inner", "page"},
		"bare":    {"page"},
		"mounted": {"root", "group", "sub", "page"},
	} {
		if got := chain(slug); !reflect.DeepEqual(got, want) {
			t.Errorf("page %s: chain %v, want %v", slug, got, want)
		}
	}

	// Walk reports the same middlewares for pages.
	n := map[string]int{}
	if err := router.Walk(m, func(d router.Definition) error {
		if d.IsPage {
			n[d.Slug] = len(d.Middlewares)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"w": 2, "r": 2, "bare": 0, "mounted": 3}; !reflect.DeepEqual(n, want) {
		t.Errorf("Walk: page middlewares %v, want %v", n, want)
	}

	// Use after Index on the same Router is a programming error, as after
	// an action.
	defer func() {
		if r := recover(); r == nil {
			t.Error("Use after Index did not panic")
		}
	}()
	late := router.New()
	late.Route("p", func(r router.Router) {
		r.Index(page)
		r.Use(rec.mw("late"))
	})
}

// feature is interval.Routes written without the router package, as a
// feature package may expose its routes; it notifies changes like a Mux.
type feature struct {
	mu        sync.Mutex
	table     interval.RouteTable
	listeners map[int]func()
	next      int
}

func (f *feature) RouteTable() interval.RouteTable {
	f.mu.Lock()
	defer f.mu.Unlock()
	return interval.RouteTable{Actions: slicesClone(f.table.Actions), Pages: slicesClone(f.table.Pages)}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

func (f *feature) OnChange(fn func()) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listeners == nil {
		f.listeners = map[int]func(){}
	}
	id := f.next
	f.next++
	f.listeners[id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.listeners, id)
	}
}

func (f *feature) add(a interval.ActionRoute) {
	f.mu.Lock()
	f.table.Actions = append(f.table.Actions, a)
	var fns []func()
	for _, fn := range f.listeners {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func (f *feature) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.listeners)
}

func TestMountRoutesInterface(t *testing.T) {
	rec := &recorder{}
	f := &feature{table: interval.RouteTable{
		Actions: []interval.ActionRoute{
			{ActionInfo: interval.ActionInfo{Slug: "refund", Name: "Refund", Teams: []string{"finance"}}, Handler: rec.h("refund")},
			{ActionInfo: interval.ActionInfo{Slug: "reports/monthly", Name: "Monthly"}, Handler: rec.h("monthly")},
		},
		Pages: []interval.PageRoute{
			{PageInfo: interval.PageInfo{Slug: "reports", Name: "Reports"}, Handler: interval.PageHandlerFunc(page), Middlewares: []interval.Middleware{rec.mw("own")}},
		},
	}}
	var routes interval.Routes = f // all a feature package has to return

	m := router.New()
	m.Use(rec.mw("root"))
	m.Route("admin", func(r router.Router) {
		r.Use(rec.mw("admin"))
		r.Mount("billing", routes, router.Name("Billing dept"))
	})
	var n atomic.Int32
	m.OnChange(func() { n.Add(1) })

	rt := m.RouteTable()
	want := []string{"p:admin", "p:admin/billing", "p:admin/billing/reports", "a:admin/billing/refund", "a:admin/billing/reports/monthly"}
	if got := slugs(rt); !reflect.DeepEqual(got, want) {
		t.Fatalf("slugs = %v, want %v", got, want)
	}
	if p := pageRoute(t, rt, "admin/billing"); p.Name != "Billing dept" || p.Handler != nil {
		t.Errorf("mount page = %+v (handler %v), want Mount's name and no handler", p.PageInfo, p.Handler != nil)
	}
	if a := action(t, rt, "admin/billing/refund"); a.Name != "Refund" || !reflect.DeepEqual(a.Teams, []string{"finance"}) {
		t.Errorf("mounted action = %+v", a.ActionInfo)
	}
	// The page keeps its own middlewares inside the mounting Router's.
	p := pageRoute(t, rt, "admin/billing/reports")
	if len(p.Middlewares) != 3 {
		t.Fatalf("page middlewares = %d, want root, admin, own", len(p.Middlewares))
	}
	if _, err := interval.Chain(p.Middlewares).Then(rec.h("page")).ServeAction(context.Background(), &interval.Tx{}); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"root", "admin", "own", "page"}; !reflect.DeepEqual(got, want) {
		t.Errorf("page chain calls = %v, want %v", got, want)
	}
	if _, err := serve(t, m, "admin/billing/reports/monthly"); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"root", "admin", "monthly"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}

	// Its changes are read at once and notified to the tree's listeners.
	f.add(interval.ActionRoute{ActionInfo: interval.ActionInfo{Slug: "late"}, Handler: rec.h("late")})
	if n.Load() != 1 {
		t.Errorf("OnChange calls after the feature changed = %d, want 1", n.Load())
	}
	if _, err := serve(t, m, "admin/billing/late"); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"root", "admin", "late"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	// Walk sees them too, with the mounting Router's middlewares.
	var walked []string
	_ = router.Walk(m, func(d router.Definition) error {
		walked = append(walked, fmt.Sprintf("%s:%d", d.Slug, len(d.Middlewares)))
		return nil
	})
	if want := []string{"admin:0", "admin/billing:0", "admin/billing/reports:3", "admin/billing/refund:2", "admin/billing/reports/monthly:2", "admin/billing/late:2"}; !reflect.DeepEqual(walked, want) {
		t.Errorf("Walk = %v, want %v", walked, want)
	}

	// Removing the page stops listening to the feature.
	if !m.Remove("admin/billing") {
		t.Fatal("Remove(admin/billing) = false")
	}
	if got := f.subscribers(); got != 0 {
		t.Errorf("feature subscribers after Remove = %d, want 0", got)
	}
	n.Store(0)
	f.add(interval.ActionRoute{ActionInfo: interval.ActionInfo{Slug: "later"}, Handler: rec.h("later")})
	if n.Load() != 0 {
		t.Errorf("OnChange calls after removal = %d, want 0", n.Load())
	}

	// The same routes may be mounted again, and a slug mounted twice panics.
	m.Mount("billing", routes)
	if got := slugs(m.RouteTable()); len(got) != 7 {
		t.Errorf("slugs after remount = %v", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "duplicate slug") {
			t.Errorf("second Mount at one slug: recover() = %v", r)
		}
	}()
	m.Mount("billing", routes)
}
