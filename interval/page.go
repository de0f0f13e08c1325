package interval

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
)

// Page is the context of an open page: who views it with what params, and
// the display methods that build its layout's children.
type Page struct {
	// Key identifies this opening of the page (chosen by the browser).
	Key string
	// Slug is the page's full slug.
	Slug         string
	User         User
	Params       Params
	Environment  string
	Organization Organization
	// Display builds the layout's children.
	Display DisplayIO
	// Loading controls the loading indicator shown on the page, like a
	// transaction's (SEND_LOADING_CALL with the page's key).
	Loading *Loading

	p *pageState
}

// Redirect sends the operator viewing the page elsewhere (SEND_REDIRECT
// with the page's key): to an action or page (Route with Params) or to a
// URL, like the official SDK's page ctx.redirect.
func (p *Page) Redirect(ctx context.Context, r Redirect) error {
	if p == nil || p.p == nil {
		return ErrForeignComponent
	}
	return p.p.c.redirect(ctx, p.Key, r)
}

// redirect sends a redirect for a transaction or page (SEND_REDIRECT).
func (c *Client) redirect(ctx context.Context, id string, r Redirect) error {
	in := protocol.SendRedirectInputs{TransactionID: id}
	switch {
	case r.URL != "" && r.Route != "":
		return fmt.Errorf("interval: redirect needs a Route or a URL, not both")
	case r.Download != "" && r.URL == "":
		return fmt.Errorf("interval: a redirect's Download needs a URL")
	case r.URL != "":
		in.URL = r.URL
		in.Download = r.Download
	case r.Route != "":
		in.Route = r.Route
		in.Params = r.Params
	default:
		return fmt.Errorf("interval: redirect needs a Route or a URL")
	}
	if r.Replace {
		in.Replace = ptr(true)
	}
	var ok bool
	if err := c.call(ctx, protocol.MethodSendRedirect, in, &ok); err != nil {
		return fmt.Errorf("interval: sending redirect: %w", err)
	}
	if !ok {
		return fmt.Errorf("interval: failed sending redirect")
	}
	return nil
}

// Layout is what a page shows: a title, a description, menu buttons and
// display components (built with Page.Display).
type Layout struct {
	Title       string
	Description string
	MenuItems   []MenuItem
	Children    []Component
}

type pageState struct {
	key    string
	c      *Client
	ctx    context.Context
	cancel context.CancelCauseFunc
	io     *ioClient
	// loading is the page's loading indicator state, kept like a
	// transaction's (only its loading fields are used).
	loading *txState

	mu     sync.Mutex
	page   *string
	sent   bool
	layout *Layout
	// rendered are the children in the order of the last render's
	// toRender (children that failed to render are left out), which is
	// the order of a state update's values.
	rendered []Component
	// stateMu serializes state updates of stateful children with the
	// renders that read their state.
	stateMu sync.Mutex
	// states applies the operator's state updates in order.
	states stateQueue

	// tx is what the page's middlewares see (guarded by mu: its
	// Organization is filled in once known); each run gets a copy.
	tx  Tx
	mws []Middleware
}

// through runs fn, the page's handler or a data update, inside the page's
// middleware chain with a copy of the page's Tx. A panic anywhere in the
// chain becomes the error "panic: <value>", logged with its stack.
func (p *pageState) through(ctx context.Context, fn func(ctx context.Context) (any, error)) (res any, err error) {
	p.mu.Lock()
	tx := p.tx
	p.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			p.c.log.Error("panic in page handler", "page", tx.Action.Slug, "panic", r, "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	inner := HandlerFunc(func(ctx context.Context, _ *Tx) (any, error) { return fn(ctx) })
	return Chain(p.mws).Then(inner).ServeAction(ctx, &tx)
}

// current returns the layout last rendered.
func (p *pageState) current() *Layout {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.layout
}

// children returns the layout's non-nil children: the components rendered,
// in the order of the render's values.
func (l *Layout) children() []Component {
	out := make([]Component, 0, len(l.Children))
	for _, ch := range l.Children {
		if ch != nil {
			out = append(out, ch)
		}
	}
	return out
}

func (p *pageState) last() (*string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.page, p.sent
}

// response handles an IO_RESPONSE for the page (state changes of its
// stateful children) by re-rendering the layout. It is called on the
// connection's reader, so the work is queued to the page's stateQueue,
// which applies the updates in order, each followed by a layout.
func (p *pageState) response(resp protocol.IOResponse) {
	if resp.Kind != protocol.KindSetState {
		return
	}
	p.states.push(p.c, p.ctx, resp, func(next protocol.IOResponse) {
		var l *Layout
		changed := false
		_, err := p.through(p.ctx, func(ctx context.Context) (any, error) {
			var err error
			l, changed, err = p.applyState(ctx, next)
			if changed {
				l.resolve(ctx)
			}
			return nil, err
		})
		switch {
		case p.ctx.Err() != nil:
		case err != nil:
			// Show the failure (a fetch error, an access check, a
			// deadline) with the layout, with whatever did update.
			p.c.log.Warn("page data update failed", "page", p.key, "err", err)
			if l = p.current(); l != nil {
				p.send(p.ctx, l, err)
			}
		case changed:
			p.send(p.ctx, l, nil)
		}
	})
}

// applyState applies a state update to the rendered children. It returns
// the layout, whether a child changed, and the children's errors.
func (p *pageState) applyState(ctx context.Context, resp protocol.IOResponse) (*Layout, bool, error) {
	p.mu.Lock()
	l := p.layout
	children := p.rendered
	p.mu.Unlock()
	if l == nil {
		return nil, false, nil
	}
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	changed := false
	var errs []error
	for i, raw := range resp.Values {
		if i >= len(children) || isNull(raw) {
			continue
		}
		cp := children[i].core()
		if cp.onState == nil {
			continue
		}
		if err := cp.onState(ctx, raw); err != nil {
			errs = append(errs, err)
			continue
		}
		changed = true
	}
	return l, changed, errors.Join(errs...)
}

// resolve computes the lazy values of the layout's metadata children (a
// nil layout has none).
func (l *Layout) resolve(ctx context.Context) {
	if l == nil {
		return
	}
	for _, ch := range l.children() {
		if m, ok := ch.(*MetadataDisplay); ok {
			m.resolveAll(ctx)
		}
	}
}

// openPage answers OPEN_PAGE and renders the page in its own goroutine.
func (c *Client) openPage(in protocol.OpenPageInputs) protocol.OpenPageReturns {
	c.mu.Lock()
	route, ok := c.table.pages[in.Page.Slug]
	shutdown := !c.state.accepts()
	c.mu.Unlock()
	switch {
	case shutdown:
		return protocol.OpenPageReturns{Type: "ERROR", Message: "Host shutting down."}
	case !ok || route.Handler == nil:
		return protocol.OpenPageReturns{Type: "ERROR", Message: "No page handler found."}
	}
	params, err := decodeParams(in.Params, in.ParamsMeta)
	if err != nil {
		c.log.Warn("page params not decoded, using none", "page", in.Page.Slug, "err", err)
		params = Params{}
	}
	ctx, cancel := context.WithCancelCause(c.life)
	ps := &pageState{key: in.PageKey, c: c, ctx: ctx, cancel: cancel}
	ps.io = &ioClient{}
	ps.loading = &txState{id: in.PageKey, c: c, ctx: ctx, cancel: cancel}
	pg := &Page{Key: in.PageKey, Slug: in.Page.Slug, User: userFromWire(in.User), Params: params,
		Environment: in.Environment, Display: DisplayIO{ps.io}, Loading: &Loading{t: ps.loading}, p: ps}
	ps.tx = Tx{ID: in.PageKey, IO: newIO(nil), User: pg.User, Params: params, Environment: in.Environment,
		Action: ActionRef{Slug: in.Page.Slug}, Loading: pg.Loading, Page: pg, t: ps.loading}
	ps.mws = route.Middlewares
	c.mu.Lock()
	if !c.state.accepts() {
		c.mu.Unlock()
		cancel(ErrClosed)
		return protocol.OpenPageReturns{Type: "ERROR", Message: "Host shutting down."}
	}
	if old := c.pages[in.PageKey]; old != nil {
		old.cancel(ErrCanceled)
	}
	c.pages[in.PageKey] = ps
	c.work++
	c.mu.Unlock()
	go func() {
		defer c.workDone()
		org := c.organization(ctx)
		pg.Organization = org
		ps.mu.Lock()
		ps.tx.Organization = org
		ps.mu.Unlock()
		res, err := ps.through(ctx, func(ctx context.Context) (any, error) {
			l, err := route.Handler.ServePage(ctx, pg)
			l.resolve(ctx)
			return l, err
		})
		layout, _ := res.(*Layout)
		ps.send(ctx, layout, err)
	}()
	return protocol.OpenPageReturns{Type: "SUCCESS", PageKey: in.PageKey}
}

// send renders the layout (or the handler's error) and sends SEND_PAGE.
func (p *pageState) send(ctx context.Context, l *Layout, herr error) {
	out := protocol.Layout{Kind: "BASIC", Errors: []protocol.LayoutError{}}
	var page *string
	var rendered []Component
	if herr != nil {
		out.Errors = append(out.Errors, protocol.LayoutError{Error: "Error", Message: herr.Error()})
	}
	if l != nil {
		if l.Title != "" {
			out.Title = ptr(l.Title)
		}
		if l.Description != "" {
			out.Description = ptr(l.Description)
		}
		for _, m := range wireMenu(l.MenuItems) {
			out.MenuItems = append(out.MenuItems, protocol.ButtonItem{Label: m.Label, Theme: m.Theme, Route: m.Route, URL: m.URL, Params: m.Params, Disabled: m.Disabled})
		}
		if len(l.Children) > 0 {
			r := &protocol.IORender{ID: uuid.NewString(), InputGroupKey: p.key, Kind: protocol.KindRender}
			p.stateMu.Lock()
			for _, ch := range l.children() {
				err := ch.core().err // a construction error (an unknown size, theme, …)
				var cr protocol.ComponentRender
				if err == nil {
					cr, err = ch.core().render()
				}
				if err != nil {
					out.Errors = append(out.Errors, protocol.LayoutError{LayoutKey: "children", Error: "Error", Message: err.Error()})
					continue
				}
				r.ToRender = append(r.ToRender, cr)
				rendered = append(rendered, ch)
			}
			p.stateMu.Unlock()
			out.Children = r
		}
	}
	if l != nil || herr != nil {
		b, err := protocol.Marshal(out)
		if err != nil {
			p.c.log.Error("encoding page layout", "page", p.key, "err", err)
			return
		}
		s := string(b)
		page = &s
	}
	p.mu.Lock()
	p.page, p.sent, p.layout, p.rendered = page, true, l, rendered
	p.mu.Unlock()
	var ok bool
	if err := p.c.call(ctx, protocol.MethodSendPage, protocol.SendPageInputs{PageKey: p.key, Page: page}, &ok); err != nil && !errors.Is(err, context.Canceled) {
		p.c.log.Warn("sending page failed", "page", p.key, "err", err)
	}
}

func (c *Client) closePage(key string) {
	c.mu.Lock()
	p := c.pages[key]
	delete(c.pages, key)
	c.mu.Unlock()
	if p != nil {
		p.cancel(ErrCanceled)
		p.loading.mu.Lock()
		p.loading.done = true // no more loading states for a closed page
		p.loading.mu.Unlock()
		p.loading.stopTimers()
	}
}
