package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/interval-go/sdk/interval"
)

// PanicError is the error Recoverer returns for a handler that panicked. Its
// message, which the operator sees as the transaction's failure, is
// "panic: " followed by the panic value.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the panicking goroutine's stack trace.
	Stack []byte
}

// Error returns "panic: <value>".
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, so errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Recoverer recovers a panic of the handler it wraps: that transaction fails
// with a *PanicError ("panic: <value>"), one structured record with the
// stack is logged at Error level with slog.Default(), and the host keeps
// serving every other transaction. Nothing is re-panicked. On a page it
// recovers the page's handler and each update of its children's data (an
// async table's fetch): the operator sees the error on the page.
//
// The client already recovers every handler, so a panic never takes the
// host down without Recoverer. What Recoverer adds: the error is a typed
// *PanicError (errors.As finds it, with the panic value and the stack, and
// errors.Is sees through a panic(err)); the record goes through slog with
// the action and transaction as attributes (RecovererWithLogger picks the
// logger); and the middleware outside it (Logger, an access check,
// Options.OnError) receives the failure as an error instead of being
// unwound by the panic. Put it right after Logger on the root router, as
// in chi. It only sees panics of the handler's own goroutine: a goroutine
// the handler starts must recover its own.
func Recoverer(next interval.Handler) interval.Handler { return recoverer(nil, next) }

// RecovererWithLogger is Recoverer logging to l instead of slog.Default() (a
// nil l means slog.Default() at the time of the panic). The record has the
// message "interval: panic in action" and the attributes "action",
// "transaction", "panic" and "stack"; for a page's handler or data update,
// "interval: panic in page" with "page" and "key" instead of "action" and
// "transaction".
func RecovererWithLogger(l *slog.Logger) interval.Middleware {
	return func(next interval.Handler) interval.Handler { return recoverer(l, next) }
}

func recoverer(l *slog.Logger, next interval.Handler) interval.Handler {
	return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (res any, err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			pe := &PanicError{Value: v, Stack: debug.Stack()}
			log := l
			if log == nil {
				log = slog.Default()
			}
			msg, slugKey, idKey := "interval: panic in action", "action", "transaction"
			if tx.Page != nil {
				msg, slugKey, idKey = "interval: panic in page", "page", "key"
			}
			log.LogAttrs(ctx, slog.LevelError, msg,
				slog.String(slugKey, tx.Action.Slug),
				slog.String(idKey, tx.ID),
				slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(pe.Stack)))
			res, err = nil, pe
		}()
		return next.ServeAction(ctx, tx)
	})
}
