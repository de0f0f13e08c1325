// Package middleware holds interval.Middleware for common needs, one file
// each, in the spirit of chi's middleware package: logging, panic recovery,
// access control by role or team, time limits and context values.
//
// A middleware wraps an action's handler, and a page's handler with its
// children's data updates (see interval.Middleware); register it with a
// router:
//
//	r := router.New()
//	r.Use(middleware.Logger(slog.Default()), middleware.Recoverer)
//	r.With(middleware.RequireTeams("support")).Action("refund", refund)
//
// The first middleware is the outermost. Put Logger before Recoverer, as in
// chi: Recoverer turns a panic of everything after it into an error, which
// Logger then logs with the transaction. (With Recoverer first, a panic
// unwinds through Logger and only Recoverer's own record is written.)
//
// Errors returned by the middlewares wrap the exported sentinels
// (ErrForbidden, ErrTimeout) or are a *PanicError, for errors.Is and
// errors.As.
//
// Tracing with OpenTelemetry lives in its own package,
// middleware/otelinterval, so that a host without it builds none of the
// OpenTelemetry API.
package middleware
