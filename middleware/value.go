package middleware

import (
	"context"

	"github.com/interval-go/sdk/interval"
)

// WithValue puts key and val in the context of every transaction it wraps,
// like chi's middleware.WithValue. Use it to hand shared dependencies (a
// database handle, a feature-flag client) to a group of actions without
// globals. The key should be of an unexported type, as for
// context.WithValue.
func WithValue(key, val any) interval.Middleware {
	return func(next interval.Handler) interval.Handler {
		return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			return next.ServeAction(context.WithValue(ctx, key, val), tx)
		})
	}
}
