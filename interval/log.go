package interval

import (
	"context"
	"log/slog"
)

var discardLogger = slog.New(slog.DiscardHandler)

// levelLogger filters l by the client's LogLevel.
func levelLogger(l *slog.Logger, lvl LogLevel) *slog.Logger {
	min := slog.LevelInfo
	switch lvl {
	case LogQuiet:
		min = slog.LevelError
	case LogDebug:
		min = slog.LevelDebug
	}
	return slog.New(&levelHandler{min: min, h: l.Handler()})
}

type levelHandler struct {
	min slog.Level
	h   slog.Handler
}

func (h *levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.h.Enabled(ctx, l)
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error { return h.h.Handle(ctx, r) }

func (h *levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &levelHandler{min: h.min, h: h.h.WithAttrs(as)}
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{min: h.min, h: h.h.WithGroup(name)}
}
