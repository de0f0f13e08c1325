package middleware

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/interval-go/sdk/interval"
)

// Logger logs one record per transaction when its handler returns: the
// action slug ("action"), the operator's email ("user"), the transaction id
// ("transaction"), the handler's run time ("duration") and its outcome
// ("status": "ok", "error" or "canceled"), plus "error" with the message
// when there is one. Successful and canceled transactions log at Info,
// failed ones at Error. A cancellation is an error that is
// interval.ErrCanceled or context.Canceled (the operator left, the
// transaction was closed, the client shut down).
//
// On a page it logs one record "interval: page" per render and per update
// of its children's data, with the page's slug ("page") and key ("key")
// instead of "action" and "transaction".
//
// Use it on the root router so every action is logged, before (outside)
// Recoverer so that panics are logged as failed transactions. A nil l logs to slog.Default() at the time of
// each record.
func Logger(l *slog.Logger) interval.Middleware {
	return func(next interval.Handler) interval.Handler {
		return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			start := time.Now()
			res, err := next.ServeAction(ctx, tx)
			d := time.Since(start)

			log := l
			if log == nil {
				log = slog.Default()
			}
			status, level := "ok", slog.LevelInfo
			switch {
			case err == nil:
			case errors.Is(err, interval.ErrCanceled) || errors.Is(err, context.Canceled):
				status = "canceled"
			default:
				status, level = "error", slog.LevelError
			}
			msg, slugKey, idKey := "interval: transaction", "action", "transaction"
			if tx.Page != nil {
				msg, slugKey, idKey = "interval: page", "page", "key"
			}
			attrs := []slog.Attr{
				slog.String(slugKey, tx.Action.Slug),
				slog.String("user", tx.User.Email),
				slog.String(idKey, tx.ID),
				slog.Duration("duration", d),
				slog.String("status", status),
			}
			if err != nil {
				attrs = append(attrs, slog.String("error", err.Error()))
			}
			log.LogAttrs(ctx, level, msg, attrs...)
			return res, err
		})
	}
}
