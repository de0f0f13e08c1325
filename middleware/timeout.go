package middleware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/interval-go/sdk/interval"
)

// ErrTimeout ("timed out") is wrapped, together with the handler's own
// error, by the error Timeout returns when the handler failed after its
// deadline passed.
var ErrTimeout = errors.New("timed out")

// Timeout gives the handler a context that ends d after the transaction
// starts. IO methods and any other context-aware call then return, and the
// handler should return too; Timeout does not abandon a handler that ignores
// its context. When the handler returns an error after the deadline passed
// (and not because the transaction was canceled first), Timeout returns
// "action timed out after <d>: <error>", which wraps both ErrTimeout and
// the handler's error (usually context.DeadlineExceeded).
//
// On a page, the deadline bounds the page's handler and, separately, each
// update of its children's data (an async table's fetch); the error reads
// "page timed out after <d>: <error>" and is shown on the page.
//
// Use it for actions that call slow systems without an operator in the loop
// (reports, batch jobs, queued actions) and for pages whose data comes from
// slow systems, so they do not hang forever. A deadline also bounds the time
// an operator has to answer. Timeout panics when d is not positive.
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
				return res, fmt.Errorf("%s %w after %v: %w", kind(tx), ErrTimeout, d, err)
			}
			return res, err
		})
	}
}

// kind names what tx runs, for messages: "action" or "page".
func kind(tx *interval.Tx) string {
	if tx.Page != nil {
		return "page"
	}
	return "action"
}
