// Package router is a chi-like registry of Interval actions and pages.
//
// A Mux declares what a host serves: actions (Go handlers an operator runs
// from the console) and pages (groups of actions in the console, optionally
// with their own layout handler). It implements interval.Routes, so it is
// what interval.Options.Routes takes, and interval.RoutesNotifier, so actions
// added or removed while the client listens are re-declared to the server.
//
//	r := router.New()
//	r.Use(middleware.Logger(slog.Default()), middleware.Recoverer)
//	r.Action("hello", hello)
//	r.Route("billing", func(r router.Router) {
//		r.Index(billingDashboard)                  // the page's own layout
//		r.With(middleware.RequireTeams("support")). // inline middleware
//			Action("refund_user", refund, router.Backgroundable())
//	}, router.Description("Money in, money out"))
//	r.Mount("users", users.Routes()) // an interval.Routes from another package
//
// # Slugs
//
// An action's local slug matches [A-Za-z0-9_.-]+. A page's slug is a path of
// such segments joined by "/" ("billing/refunds"), with no empty segment, so
// no leading, trailing or double slash. Route, Page and Mount accept a path
// and create the intermediate pages; an action's full slug is its page's
// path, "/", and its local slug ("billing/refunds/refund_user"), which is the
// slug the console, redirects and queued actions use. Names default to the
// humanized last segment, as Interval names folders of a routesDirectory:
// "refund_user" and "refundUser" both become "Refund user".
//
// # Middleware
//
// Middleware (interval.Middleware, a func(interval.Handler) interval.Handler)
// wraps every action and page handler registered through the Router it was
// added to, or through a Router derived from it by With, Group, Route or
// Mount. The first middleware is the outermost: after r.Use(a, b) and
// r.With(c).Action("x", h), running "x" runs a, then b, then c, then h. A
// page's middlewares are those of the Router its Index was called on
// (Page calls Index on the Route it declares); they run around the page's
// handler and around each update of its children's data, with a Tx whose
// Page is set (see interval.Middleware), so r.Use(middleware.RequireRole(
// "admin")) guards the pages declared after it as well as the actions.
//
// # Registration errors panic
//
// Like chi and net/http.ServeMux, mistakes in the route declarations are
// programming errors and panic at once, at the line that made them, with a
// message prefixed "router: ": an invalid slug, a full slug declared twice
// (an action and a page share one namespace), a nil handler or middleware,
// Use on a Router that already has routes, an option that does not apply (an
// action-only option on a page), a Mux mounted twice. A program whose routes
// are declared at start-up therefore fails on its first run, never in front
// of an operator. Remove, which usually runs at run time, reports a missing
// slug by returning false instead.
//
// # Run-time changes
//
// A Mux is safe for concurrent use: RouteTable, Walk, Action, Handle, Page,
// Route, Mount and Remove may be called from any goroutine, also while the
// client serves. Every change calls the functions registered with OnChange,
// synchronously, after the Mux's lock is released.
//
// # Mounting: the Go routesDirectory
//
// Interval's Node SDK can load a directory tree of route files. Go has no
// run-time equivalent; instead each package exports its routes and the
// program mounts them as a page: r.Mount("billing", billing.Routes()).
// Like chi's Mount, which takes any http.Handler, Mount takes any
// interval.Routes, so a feature package can return interval.Routes and its
// callers need not know it is a *Mux. The mounted routes keep their own
// middleware, nested inside the middleware of the Router they are mounted
// on; a mounted Mux's root Index becomes the page's handler.
package router
