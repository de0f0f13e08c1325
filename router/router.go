package router

import (
	"slices"

	"github.com/interval-go/sdk/interval"
)

// Mux is a tree of actions and pages with their middleware. It implements
// Router for its root, interval.Routes and interval.RoutesNotifier. Create
// one with New; the zero Mux is not usable. A Mux is safe for concurrent use.
type Mux struct {
	root *scope
	opts []Option
}

var (
	_ Router                  = (*Mux)(nil)
	_ interval.Routes         = (*Mux)(nil)
	_ interval.RoutesNotifier = (*Mux)(nil)
)

// New returns an empty Mux. The options describe the page the Mux becomes
// when it is mounted (Name, Description, Unlisted, Teams; options given to
// Mount override them); on a Mux that is never mounted they are unused.
// New panics on an action-only option.
func New(opts ...Option) *Mux {
	newConfig(opts).forPage("New", "")
	return &Mux{
		root: &scope{reg: &registry{}, node: &page{}},
		opts: append([]Option(nil), opts...),
	}
}

// Use appends middlewares to the root's stack; see Router.Use. It panics
// once a route has been registered on the Mux.
func (m *Mux) Use(mw ...interval.Middleware) { m.root.Use(mw...) }

// With returns an inline Router whose actions are also wrapped by mw; see
// Router.With.
func (m *Mux) With(mw ...interval.Middleware) Router { return m.root.With(mw...) }

// Group calls fn with a new middleware scope on the root; see Router.Group.
func (m *Mux) Group(fn func(r Router)) Router { return m.root.Group(fn) }

// Route declares a page and calls fn to fill it; see Router.Route. It panics
// on an invalid or duplicate slug.
func (m *Mux) Route(slug string, fn func(r Router), opts ...Option) Router {
	return m.root.Route(slug, fn, opts...)
}

// Mount makes sub the page at slug; sub is a *Mux or any other
// interval.Routes. See Router.Mount. It panics on a nil or already mounted
// sub, an invalid or duplicate slug.
func (m *Mux) Mount(slug string, sub interval.Routes, opts ...Option) {
	m.root.Mount(slug, sub, opts...)
}

// Action registers an action at the root; see Router.Action. It panics on a
// nil handler, an invalid or duplicate slug.
func (m *Mux) Action(slug string, h interval.HandlerFunc, opts ...Option) {
	m.root.Action(slug, h, opts...)
}

// Handle registers an interval.Handler at the root; see Router.Handle. It
// panics like Action.
func (m *Mux) Handle(slug string, h interval.Handler, opts ...Option) {
	m.root.Handle(slug, h, opts...)
}

// Index sets the handler of the page this Mux becomes when it is mounted;
// see Router.Index. It panics on a nil handler or when called twice.
func (m *Mux) Index(h interval.PageHandlerFunc) { m.root.Index(h) }

// Page declares a page with its handler; see Router.Page. It panics like
// Route and Index.
func (m *Mux) Page(slug string, h interval.PageHandlerFunc, opts ...Option) {
	m.root.Page(slug, h, opts...)
}

// Remove removes the action or page at slug (a full path from this Mux's
// root) and reports whether there was one; see Router.Remove.
func (m *Mux) Remove(slug string) bool { return m.root.Remove(slug) }

// OnChange registers fn to be called after every change of the routes
// (a registration, a Mount or a successful Remove), synchronously in the
// goroutine that made it, after the Mux's lock is released, so fn may call
// RouteTable. It returns a function that unregisters fn. On a Mux mounted
// in another, fn is registered with the whole tree. OnChange panics on a
// nil fn.
func (m *Mux) OnChange(fn func()) (unregister func()) {
	if fn == nil {
		panic("router: OnChange: nil func")
	}
	l := &listener{fn: fn}
	reg := m.root.reg.lock()
	reg.listeners = append(reg.listeners, l)
	reg.mu.Unlock()
	return func() {
		reg := m.root.reg.lock()
		defer reg.mu.Unlock()
		if i := slices.Index(reg.listeners, l); i >= 0 {
			reg.listeners = slices.Delete(slices.Clone(reg.listeners), i, i+1)
		}
	}
}

// RouteTable flattens the Mux into the full-slug list the client declares
// to the server: every page (pre-order, in registration order; a page
// created only as an intermediate of a path has no handler and its default
// name) with its middlewares, and every action with its handler already
// wrapped in its middleware chain. For a Mux mounted in another, slugs are full paths in that tree.
func (m *Mux) RouteTable() interval.RouteTable {
	t := interval.RouteTable{Actions: []interval.ActionRoute{}, Pages: []interval.PageRoute{}}
	reg := m.root.reg.lock()
	defer reg.mu.Unlock()
	walk(m.root.node, m.root.node.path(), func(d Definition, a *action) {
		if d.IsPage {
			t.Pages = append(t.Pages, interval.PageRoute{PageInfo: d.PageInfo, Handler: d.PageHandler, Middlewares: d.Middlewares})
			return
		}
		h := d.Handler
		if a != nil {
			h = a.wrap()
		} else { // from mounted routes: wrapped in their own chain already
			h = interval.Chain(d.Middlewares).Then(h)
		}
		t.Actions = append(t.Actions, interval.ActionRoute{ActionInfo: d.ActionInfo, Handler: h})
	})
	return t
}

// Definition is one action or page as declared, passed to a WalkFunc.
type Definition struct {
	// IsPage tells a page (PageInfo, PageHandler) from an action
	// (ActionInfo, Handler, Middlewares).
	IsPage bool
	// Slug is the full slug.
	Slug       string
	ActionInfo interval.ActionInfo
	PageInfo   interval.PageInfo
	// Handler is the action's own handler, not wrapped. For an action of
	// routes mounted that are not a *Mux, it is the handler their
	// RouteTable gives, already wrapped in their own middlewares.
	Handler interval.Handler
	// PageHandler is the page's handler; nil for a page without Index.
	PageHandler interval.PageHandler
	// Middlewares wrap Handler, or PageHandler and the page's children's
	// data updates, outermost first; none for a page without Index.
	Middlewares []interval.Middleware
}

// WalkFunc is called by Walk for each definition. A non-nil error stops the
// walk and is returned by Walk.
type WalkFunc func(d Definition) error

// Walk calls fn for every page and action of m, depth first: a page, then
// what it holds, in registration order (RouteTable lists its pages and its
// actions in the same relative order). It works on a
// snapshot taken under m's lock, so fn may use m (even change it), and
// returns the first error fn returns, unchanged.
func Walk(m *Mux, fn WalkFunc) error {
	var defs []Definition
	func() {
		reg := m.root.reg.lock()
		defer reg.mu.Unlock()
		walk(m.root.node, m.root.node.path(), func(d Definition, a *action) {
			defs = append(defs, d)
		})
	}()
	for _, d := range defs {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// walk visits the entries under p (whose full path is prefix); callers hold
// the lock.
func walk(p *page, prefix string, visit func(d Definition, a *action)) {
	for _, e := range p.entries {
		full := join(prefix, e.slug)
		if a := e.action; a != nil {
			visit(Definition{
				Slug: full,
				ActionInfo: interval.ActionInfo{
					Slug:           full,
					Name:           nameOr(a.cfg.name, e.slug),
					Description:    a.cfg.description,
					Backgroundable: a.cfg.backgroundable,
					Unlisted:       a.cfg.unlisted,
					WarnOnClose:    clonePtr(a.cfg.warnOnClose),
					Teams:          slices.Clone(a.cfg.teams),
				},
				Handler:     a.handler,
				Middlewares: a.scope.chain(),
			}, a)
			continue
		}
		n := e.page
		visit(Definition{
			IsPage: true,
			Slug:   full,
			PageInfo: interval.PageInfo{
				Slug:        full,
				Name:        nameOr(n.cfg.name, e.slug),
				Description: n.cfg.description,
				Unlisted:    n.cfg.unlisted,
				Teams:       slices.Clone(n.cfg.teams),
			},
			PageHandler: n.handler,
			Middlewares: n.chain(),
		}, nil)
		if n.ext != nil {
			walkExternal(n.ext, full, visit)
			continue
		}
		walk(n, full, visit)
	}
}

// walkExternal visits the table of routes mounted at prefix, their slugs
// prefixed and the chain of the Router they were mounted on outside their
// own middlewares; callers hold the lock.
func walkExternal(ext *external, prefix string, visit func(d Definition, a *action)) {
	chain := ext.scope.chain()
	t := ext.routes.RouteTable()
	for _, p := range t.Pages {
		info := p.PageInfo
		info.Slug = join(prefix, p.Slug)
		info.Teams = slices.Clone(p.Teams)
		var mws []interval.Middleware
		if p.Handler != nil {
			mws = append(slices.Clone(chain), p.Middlewares...)
		}
		visit(Definition{IsPage: true, Slug: info.Slug, PageInfo: info, PageHandler: p.Handler, Middlewares: mws}, nil)
	}
	for _, r := range t.Actions {
		info := r.ActionInfo
		info.Slug = join(prefix, r.Slug)
		info.Teams = slices.Clone(r.Teams)
		info.WarnOnClose = clonePtr(r.WarnOnClose)
		visit(Definition{Slug: info.Slug, ActionInfo: info, Handler: r.Handler, Middlewares: slices.Clone(chain)}, nil)
	}
}

func nameOr(name, slug string) string {
	if name != "" {
		return name
	}
	return Humanize(slug)
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
