package router

import (
	"fmt"
	"strings"
	"sync"

	"github.com/interval-go/sdk/interval"
)

// Router is the registration interface of a Mux and of the Routers derived
// from it by With, Group and Route. Every method panics on a programming
// error, with a message prefixed "router: " (see the package documentation);
// Remove never panics.
type Router interface {
	// Use appends middlewares to this Router's stack. They wrap every
	// action and page handler registered afterwards through this Router or
	// a Router derived from it, the first one outermost (a page's
	// middlewares also wrap its children's data updates; see
	// interval.Middleware). Use panics when a middleware is nil
	// or when a route (action, page or sub-router) has already been
	// registered through this Router or one derived from it.
	Use(mw ...interval.Middleware)

	// With returns an inline Router for the same page whose actions and
	// pages are also wrapped by mw (after this Router's middlewares), like
	// chi's r.With(mw).Get(...). It panics when a middleware is nil.
	With(mw ...interval.Middleware) Router

	// Group calls fn with a new inline Router for the same page: middleware
	// added there with Use applies only to the routes fn registers. It
	// returns that Router. fn may be nil.
	Group(fn func(r Router)) Router

	// Route declares the page at slug, a path relative to this Router's page
	// ("billing" or "billing/refunds"; intermediate pages are created), and
	// calls fn with a Router for it. It returns that Router. Options set the
	// page's Name, Description, Unlisted and Teams; it panics on an invalid
	// slug, a slug already declared, or an action-only option. fn may be
	// nil.
	Route(slug string, fn func(r Router), opts ...Option) Router

	// Mount makes sub, routes built elsewhere (typically in another
	// package), the page at slug, as chi's Mount takes any http.Handler:
	// sub's actions and pages are nested under it, wrapped by this Router's
	// middleware outside sub's own. Later changes to sub (at run time too)
	// change this tree.
	//
	// A *Mux is grafted into the tree: its root Index becomes the page's
	// handler, the page's options are those given to New(opts...) for sub,
	// then opts, and a Mux can be mounted once. Any other interval.Routes
	// is read through its RouteTable each time this tree is (its slugs
	// prefixed with the page's path), under this tree's lock, so it must
	// not read this tree; if it is an interval.RoutesNotifier, its changes
	// are notified to this tree's OnChange functions until the page is
	// removed.
	//
	// Mount panics on a nil sub, an already mounted Mux, mounting a Mux into
	// its own tree, an invalid or taken slug, or an action-only option.
	Mount(slug string, sub interval.Routes, opts ...Option)

	// Action registers the action at slug (a local slug, without "/") on
	// this Router's page. It panics on a nil handler, an invalid slug, a
	// full slug already declared, or an option that does not apply.
	Action(slug string, h interval.HandlerFunc, opts ...Option)

	// Handle is Action for any interval.Handler.
	Handle(slug string, h interval.Handler, opts ...Option)

	// Index sets the handler of this Router's page: opening the page in the
	// console renders the layout h returns. h and the page's children's
	// data updates are wrapped by this Router's middlewares, as an action
	// registered here would be. On a Mux that is never mounted (the root
	// has no page in Interval) it is unused. It panics on a nil handler or
	// when the page already has one.
	Index(h interval.PageHandlerFunc)

	// Page declares the page at slug with h as its handler: shorthand for
	// Route(slug, func(r Router) { r.Index(h) }, opts...). It panics like
	// Route and Index.
	Page(slug string, h interval.PageHandlerFunc, opts ...Option)

	// Remove removes the action or page (with everything under it) at slug,
	// a path relative to this Router's page, and reports whether there was
	// one. The slug may then be declared again. It is meant for run-time
	// changes and notifies the OnChange functions.
	Remove(slug string) bool
}

// mountMu serializes Mount calls, the only operation that locks two trees.
var mountMu sync.Mutex

// registry is the lock and the listeners shared by every scope of a tree.
// When the tree is mounted into another, forward points to that tree's
// registry and this one is no longer used.
type registry struct {
	mu        sync.Mutex
	forward   *registry // guarded by mu, written under mountMu too
	listeners []*listener
}

type listener struct{ fn func() }

// lock locks the registry that currently guards the tree and returns it.
func (r *registry) lock() *registry {
	for {
		r.mu.Lock()
		f := r.forward
		if f == nil {
			return r
		}
		r.mu.Unlock()
		r = f
	}
}

// root follows forward pointers; callers hold mountMu.
func (r *registry) root() *registry {
	for r.forward != nil {
		r = r.forward
	}
	return r
}

// page is a node of the tree: a page, or the root (slug "").
type page struct {
	slug     string // local slug
	parent   *page
	declared bool // by Route, Page or Mount (not only as an intermediate)
	cfg      config
	handler  interval.PageHandler
	scope    *scope   // the Router Index was called on: its chain wraps handler
	entries  []*entry // actions and sub-pages in registration order
	ext      *external
}

// external is an interval.Routes other than a *Mux mounted on a page: its
// table is read at every walk and nested under the page.
type external struct {
	routes     interval.Routes
	scope      *scope // the Router Mount was called on: its chain wraps routes
	unregister func() // stops forwarding routes' changes; nil if it has none
}

// chain returns the middlewares wrapping the page's handler and its
// children's data, outermost first; none for a page without a handler.
func (p *page) chain() []interval.Middleware {
	if p.scope == nil {
		return nil
	}
	return p.scope.chain()
}

type entry struct {
	slug   string
	page   *page
	action *action
}

type action struct {
	cfg     config
	handler interval.Handler
	scope   *scope
	wrapped interval.Handler // handler in its chain, built on first use
}

func (p *page) find(slug string) (int, *entry) {
	for i, e := range p.entries {
		if e.slug == slug {
			return i, e
		}
	}
	return -1, nil
}

func (p *page) path() string {
	var segs []string
	for n := p; n != nil && n.parent != nil; n = n.parent {
		segs = append(segs, n.slug)
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, "/")
}

func join(prefix, slug string) string {
	if prefix == "" {
		return slug
	}
	return prefix + "/" + slug
}

// scope is one Router: a page plus a middleware stack. Inline scopes (With,
// Group) share their parent's page. All fields but reg are guarded by the
// tree's registry lock.
type scope struct {
	reg    *registry
	parent *scope // middleware parent; for a mounted Mux, the scope it was mounted on
	node   *page
	mws    []interval.Middleware
	sealed bool // a route was registered through this scope or a descendant
}

var _ Router = (*scope)(nil)

// update runs fn under the tree's lock and, if fn reports a change and did
// not panic, calls the listeners after unlocking.
func (s *scope) update(fn func() bool) {
	reg := s.reg.lock()
	var ls []*listener
	func() {
		defer reg.mu.Unlock()
		if fn() {
			ls = append(ls, reg.listeners...)
		}
	}()
	for _, l := range ls {
		l.fn()
	}
}

func (s *scope) seal() {
	for sc := s; sc != nil; sc = sc.parent {
		sc.sealed = true
	}
}

func checkMiddlewares(method string, mw []interval.Middleware) {
	for i, m := range mw {
		if m == nil {
			panic(fmt.Sprintf("router: %s: middleware %d is nil", method, i))
		}
	}
}

func (s *scope) Use(mw ...interval.Middleware) {
	checkMiddlewares("Use", mw)
	reg := s.reg.lock()
	defer reg.mu.Unlock()
	if s.sealed {
		where := s.node.path()
		if where == "" {
			where = "the root"
		} else {
			where = fmt.Sprintf("page %q", where)
		}
		panic(fmt.Sprintf("router: Use must be called before any route is registered on a Router (%s already has routes); call Use first, or use With or Group", where))
	}
	s.mws = append(s.mws, mw...)
}

func (s *scope) With(mw ...interval.Middleware) Router {
	checkMiddlewares("With", mw)
	return s.inline(mw)
}

func (s *scope) inline(mw []interval.Middleware) *scope {
	return &scope{reg: s.reg, parent: s, node: s.node, mws: append([]interval.Middleware(nil), mw...)}
}

func (s *scope) Group(fn func(r Router)) Router {
	g := s.inline(nil)
	if fn != nil {
		fn(g)
	}
	return g
}

// descend returns the page at segs under p, creating intermediate pages.
// It panics when a segment names an action.
func descend(method, full string, p *page, segs []string) *page {
	for _, seg := range segs {
		_, e := p.find(seg)
		switch {
		case e == nil:
			child := &page{slug: seg, parent: p}
			p.entries = append(p.entries, &entry{slug: seg, page: child})
			p = child
		case e.action != nil:
			panic(fmt.Sprintf("router: %s(%q): %q is an action, not a page", method, full, join(p.path(), seg)))
		default:
			p = e.page
		}
	}
	return p
}

// declarePage declares the page at segs under s's page; fresh, if non-nil,
// is used as the node for a page that does not exist yet.
func (s *scope) declarePage(method, slug string, segs []string, cfg config, fresh *page) *page {
	parent := descend(method, slug, s.node, segs[:len(segs)-1])
	last := segs[len(segs)-1]
	_, e := parent.find(last)
	switch {
	case e == nil:
		n := fresh
		if n == nil {
			n = &page{}
		}
		n.slug, n.parent = last, parent
		parent.entries = append(parent.entries, &entry{slug: last, page: n})
		e = &entry{page: n}
	case e.action != nil:
		panic(fmt.Sprintf("router: %s(%q): duplicate slug %q: already an action", method, slug, join(parent.path(), last)))
	case fresh != nil:
		panic(fmt.Sprintf("router: %s(%q): duplicate slug %q: a page already exists there", method, slug, join(parent.path(), last)))
	case e.page.declared:
		panic(fmt.Sprintf("router: %s(%q): duplicate slug %q: page already declared", method, slug, join(parent.path(), last)))
	}
	e.page.declared = true
	e.page.cfg = cfg
	s.seal()
	return e.page
}

func (s *scope) Route(slug string, fn func(r Router), opts ...Option) Router {
	return s.route("Route", slug, fn, opts)
}

func (s *scope) route(method, slug string, fn func(r Router), opts []Option) Router {
	segs := checkPagePath(method, slug)
	cfg := newConfig(opts).forPage(method, slug)
	var sub *scope
	s.update(func() bool {
		n := s.declarePage(method, slug, segs, cfg, nil)
		sub = &scope{reg: s.reg, parent: s, node: n}
		return true
	})
	if fn != nil {
		fn(sub)
	}
	return sub
}

func (s *scope) Page(slug string, h interval.PageHandlerFunc, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("router: Page(%q): nil handler", slug))
	}
	s.route("Page", slug, func(r Router) { r.Index(h) }, opts)
}

func (s *scope) Index(h interval.PageHandlerFunc) {
	if h == nil {
		panic("router: Index: nil handler")
	}
	s.update(func() bool {
		if s.node.handler != nil {
			panic(fmt.Sprintf("router: Index: page %q already has an Index handler", s.node.path()))
		}
		s.node.handler, s.node.scope = h, s
		s.seal()
		return true
	})
}

func (s *scope) Action(slug string, h interval.HandlerFunc, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("router: Action(%q): nil handler", slug))
	}
	s.handle("Action", slug, h, opts)
}

func (s *scope) Handle(slug string, h interval.Handler, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("router: Handle(%q): nil handler", slug))
	}
	s.handle("Handle", slug, h, opts)
}

func (s *scope) handle(method, slug string, h interval.Handler, opts []Option) {
	checkActionSlug(method, slug)
	cfg := newConfig(opts)
	s.update(func() bool {
		if _, e := s.node.find(slug); e != nil {
			kind := "an action"
			if e.page != nil {
				kind = "a page"
			}
			panic(fmt.Sprintf("router: %s(%q): duplicate slug %q: already %s", method, slug, join(s.node.path(), slug), kind))
		}
		s.node.entries = append(s.node.entries, &entry{slug: slug, action: &action{cfg: cfg, handler: h, scope: s}})
		s.seal()
		return true
	})
}

func (s *scope) Mount(slug string, sub interval.Routes, opts ...Option) {
	segs := checkPagePath("Mount", slug)
	if sub == nil {
		panic(fmt.Sprintf("router: Mount(%q): nil Routes", slug))
	}
	m, ok := sub.(*Mux)
	if !ok {
		s.mountExternal(slug, segs, sub, opts)
		return
	}
	s.mountMux(slug, segs, m, opts)
}

// mountExternal mounts routes that are not a *Mux: the page at slug holds
// them and walk expands them.
func (s *scope) mountExternal(slug string, segs []string, sub interval.Routes, opts []Option) {
	cfg := newConfig(opts).forPage("Mount", slug)
	ext := &external{routes: sub, scope: s}
	s.update(func() bool {
		n := s.declarePage("Mount", slug, segs, cfg, &page{})
		n.ext = ext
		return true
	})
	n, ok := sub.(interval.RoutesNotifier)
	if !ok {
		return
	}
	// Registered after the page exists, so a change notified at once
	// already sees it. The registry is looked up at each call: this tree
	// may be mounted into another later.
	unregister := n.OnChange(func() {
		reg := s.reg.lock()
		ls := append([]*listener(nil), reg.listeners...)
		reg.mu.Unlock()
		for _, l := range ls {
			l.fn()
		}
	})
	reg := s.reg.lock()
	removed := ext.scope == nil
	if !removed {
		ext.unregister = unregister
	}
	reg.mu.Unlock()
	if removed { // Remove ran between the two locks
		unregister()
	}
}

func (s *scope) mountMux(slug string, segs []string, sub *Mux, opts []Option) {
	if sub == nil || sub.root == nil {
		panic(fmt.Sprintf("router: Mount(%q): nil Mux (create it with router.New)", slug))
	}
	cfg := newConfig(append(append([]Option(nil), sub.opts...), opts...)).forPage("Mount", slug)

	mountMu.Lock()
	pr, sr := s.reg.root(), sub.root.reg.root()
	if pr == sr {
		mountMu.Unlock()
		panic(fmt.Sprintf("router: Mount(%q): the Mux is already part of this tree", slug))
	}
	if sr != sub.root.reg {
		mountMu.Unlock()
		panic(fmt.Sprintf("router: Mount(%q): the Mux is already mounted elsewhere", slug))
	}
	var ls []*listener
	func() {
		defer mountMu.Unlock()
		pr.mu.Lock()
		defer pr.mu.Unlock()
		sr.mu.Lock()
		defer sr.mu.Unlock()
		s.declarePage("Mount", slug, segs, cfg, sub.root.node)
		sub.root.parent = s
		forEachAction(sub.root.node, func(a *action) { a.wrapped = nil })
		pr.listeners = append(pr.listeners, sr.listeners...)
		sr.listeners = nil
		sr.forward = pr
		ls = append(ls, pr.listeners...)
	}()
	for _, l := range ls {
		l.fn()
	}
}

func forEachAction(p *page, fn func(a *action)) {
	for _, e := range p.entries {
		if e.action != nil {
			fn(e.action)
		} else {
			forEachAction(e.page, fn)
		}
	}
}

func (s *scope) Remove(slug string) bool {
	segs := splitPath(slug)
	if segs == nil {
		return false
	}
	removed := false
	var detached []func()
	s.update(func() bool {
		p := s.node
		for _, seg := range segs[:len(segs)-1] {
			_, e := p.find(seg)
			if e == nil || e.page == nil {
				return false
			}
			p = e.page
		}
		i, _ := p.find(segs[len(segs)-1])
		if i < 0 {
			return false
		}
		if e := p.entries[i]; e.page != nil {
			detached = externals(e.page, detached)
		}
		p.entries = append(p.entries[:i:i], p.entries[i+1:]...)
		removed = true
		return true
	})
	for _, ext := range detached {
		ext()
	}
	return removed
}

// externals detaches the external routes mounted at or under p: it appends
// their unregister functions to fns (to be called once the lock is
// released) and marks them removed. Callers hold the lock.
func externals(p *page, fns []func()) []func() {
	if p.ext != nil {
		if p.ext.unregister != nil {
			fns = append(fns, p.ext.unregister)
		}
		p.ext.scope, p.ext.unregister = nil, nil
	}
	for _, e := range p.entries {
		if e.page != nil {
			fns = externals(e.page, fns)
		}
	}
	return fns
}

// chain returns the middlewares wrapping actions of s, outermost first.
func (s *scope) chain() []interval.Middleware {
	var scopes []*scope
	for sc := s; sc != nil; sc = sc.parent {
		scopes = append(scopes, sc)
	}
	var mws []interval.Middleware
	for i := len(scopes) - 1; i >= 0; i-- {
		mws = append(mws, scopes[i].mws...)
	}
	return mws
}

func (a *action) wrap() interval.Handler {
	if a.wrapped == nil {
		a.wrapped = interval.Chain(a.scope.chain()).Then(a.handler)
	}
	return a.wrapped
}
