package middleware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/interval-go/sdk/interval"
)

// ErrTimeout is wrapped, together with the handler's own error, by the error
// Timeout returns when the handler failed after its deadline passed.
var ErrTimeout = errors.New("action timed out")

// Timeout gives the handler a context that ends d after the transaction
// starts. IO methods and any other context-aware call then return, and the
// handler should return too; Timeout does not abandon a handler that ignores
// its context. When the handler returns an error after the deadline passed
// (and not because the transaction was canceled first), Timeout returns
// "action timed out after <d>: <error>", which wraps both ErrTimeout and
// the handler's error (usually context.DeadlineExceeded).
//
// Use it for actions that call slow systems without an operator in the loop
// (reports, batch jobs, queued actions) and must not hang forever. A
// deadline also bounds the time an operator has to answer. Timeout panics
// when d is not positive.
func Timeout(d time.Duration) interval.Middleware {
	if d <= 0 {
		panic(fmt.Sprintf("middleware: Timeout needs a positive duration, got %v", d))
	}
	return func(next interval.Handler) interval.Handler {
		return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			tctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			res, err := next.ServeAction(tctx, tx)
			if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
				return res, fmt.Errorf("%w after %v: %w", ErrTimeout, d, err)
			}
			return res, err
		})
	}
}
