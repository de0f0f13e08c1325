package interval

import "context"

// Handler runs one action. ServeAction is called in its own goroutine for
// each transaction; ctx is cancelled when the transaction is closed or
// cancelled by the operator, or when the client closes. The returned value
// becomes the transaction's result (encoded as JSON, with time.Time and
// *big.Int kept typed for the console); a non-nil error fails the
// transaction with its message.
type Handler interface {
	// ServeAction runs the action for one transaction and returns its
	// result or error.
	ServeAction(ctx context.Context, tx *Tx) (any, error)
}

// HandlerFunc adapts an ordinary function to the Handler interface.
type HandlerFunc func(ctx context.Context, tx *Tx) (any, error)

// ServeAction calls f(ctx, tx).
func (f HandlerFunc) ServeAction(ctx context.Context, tx *Tx) (any, error) { return f(ctx, tx) }

// Middleware wraps a Handler, like net/http middleware wraps an
// http.Handler. The first middleware of a chain is the outermost.
//
// The same middleware wraps actions and pages. For an action, the chain
// runs once around the action's handler. For a page, it runs around the
// page's handler (with the lazy values of its metadata children), and again
// around each update of its children's data (an async table or grid
// fetching the operator's page, search or sort): there the *Tx describes the
// page (Tx.Page is non-nil, Tx.ID is the page key, Tx.Action.Slug the page's
// slug, Tx.IO has no inputs), and the result is the *Layout for a render and
// nil for a data update. A middleware that returns an error without calling
// next (an access check) keeps the page's handler or data from running, and
// the operator sees the error on the page; a context it derives (a deadline,
// a value) is the one the handler or the fetch receives.
type Middleware func(Handler) Handler

// Chain composes middlewares: Chain(a, b).Then(h) runs a, then b, then h.
type Chain []Middleware

// Then returns h wrapped by every middleware of the chain, the first one
// outermost. A nil h is a programming error and panics.
func (c Chain) Then(h Handler) Handler {
	if h == nil {
		panic("interval: Chain.Then called with a nil Handler")
	}
	for i := len(c) - 1; i >= 0; i-- {
		h = c[i](h)
	}
	return h
}

// PageHandler renders a page: it returns the layout the console shows. It is
// called when an operator opens the page; ctx is cancelled when the page is
// closed.
type PageHandler interface {
	// ServePage returns the layout of the page p; an error is shown to
	// the operator instead of the page.
	ServePage(ctx context.Context, p *Page) (*Layout, error)
}

// PageHandlerFunc adapts an ordinary function to the PageHandler interface.
type PageHandlerFunc func(ctx context.Context, p *Page) (*Layout, error)

// ServePage calls f(ctx, p).
func (f PageHandlerFunc) ServePage(ctx context.Context, p *Page) (*Layout, error) { return f(ctx, p) }

// ActionInfo describes an action to the server and the console.
type ActionInfo struct {
	// Slug is the full slug ("billing/refund" for an action under the
	// "billing" page).
	Slug        string
	Name        string
	Description string
	// Backgroundable lets the action keep running when the operator leaves.
	Backgroundable bool
	// Unlisted hides the action from the console's lists; it can still be
	// run by URL, redirect or queue.
	Unlisted bool
	// WarnOnClose asks the console to confirm before leaving a running
	// transaction. Nil leaves the server default (true).
	WarnOnClose *bool
	// Teams restricts the action to members of these team slugs (enforced by
	// the server). Empty means the whole organization.
	Teams []string
}

// PageInfo describes a page (a group of actions, optionally with its own
// handler).
type PageInfo struct {
	Slug        string // full path
	Name        string
	Description string
	Unlisted    bool
	Teams       []string
}

// ActionRoute is one action of a RouteTable, with its handler already
// wrapped in its middleware chain.
type ActionRoute struct {
	ActionInfo
	Handler Handler
}

// PageRoute is one page of a RouteTable. Handler is nil for a page that only
// groups actions.
type PageRoute struct {
	PageInfo
	Handler PageHandler
	// Middlewares wrap the page's handler and its children's data updates,
	// outermost first (see Middleware).
	Middlewares []Middleware
}

// RouteTable is the flat list of everything a host serves.
type RouteTable struct {
	Actions []ActionRoute
	Pages   []PageRoute
}

// Routes is what a Client serves; router.Mux implements it.
type Routes interface {
	// RouteTable returns every action and page to declare. It is called
	// by New and again after each change notified by a RoutesNotifier.
	RouteTable() RouteTable
}

// RoutesNotifier is implemented by Routes that can change after Listen
// (actions added or removed at run time). The Client re-initializes with
// the server, batched by Options.ReinitializeBatchTimeout, after every call
// of the registered function. The returned func unregisters it.
type RoutesNotifier interface {
	// OnChange registers a function to call after each change of the
	// routes and returns a function that unregisters it.
	OnChange(func()) (unregister func())
}
