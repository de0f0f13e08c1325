package interval

import (
	"context"
	"log/slog"
)

var discardLogger = slog.New(slog.DiscardHandler)

// levelLogger filters l by the client's LogLevel (nil: slog.LevelInfo).
func levelLogger(l *slog.Logger, min slog.Leveler) *slog.Logger {
	if min == nil {
		min = slog.LevelInfo
	}
	return slog.New(&levelHandler{min: min, h: l.Handler()})
}

type levelHandler struct {
	min slog.Leveler
	h   slog.Handler
}

func (h *levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min.Level() && h.h.Enabled(ctx, l)
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error { return h.h.Handle(ctx, r) }

func (h *levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &levelHandler{min: h.min, h: h.h.WithAttrs(as)}
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{min: h.min, h: h.h.WithGroup(name)}
}
