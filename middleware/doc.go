// Package middleware holds interval.Middleware for common needs, one file
// each, in the spirit of chi's middleware package: logging, panic recovery,
// access control by role or team, time limits and context values.
//
// A middleware wraps an action's handler; register it with a router:
//
//	r := router.New()
//	r.Use(middleware.Recoverer, middleware.Logger(slog.Default()))
//	r.With(middleware.RequireTeams("support")).Action("refund", refund)
//
// The first middleware is the outermost, so put Recoverer first to turn
// panics of everything after it into errors, and Logger next to log them.
//
// Errors returned by the middlewares wrap the exported sentinels
// (ErrForbidden, ErrTimeout) or are a *PanicError, for errors.Is and
// errors.As.
package middleware
