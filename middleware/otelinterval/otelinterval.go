// Package otelinterval traces and measures a host's actions and pages with
// OpenTelemetry: a span per action run, per page render or data update
// and per IO call, and metrics of the runs, through the OTel API
// (go.opentelemetry.io/otel). A host that does not import it does not
// build it.
//
//	r := router.New()
//	r.Use(otelinterval.Middleware(), middleware.Logger(nil), middleware.Recoverer)
//
// Like every middleware, it wraps the pages registered after it too: a
// page's handler, and each update of its children's data, is a span
// ("page SLUG").
//
// The action's span is in the ctx its handler gets, so the handler's own
// instrumented calls (a database driver, an HTTP client with otelhttp)
// nest under it, and each IO call (tx.IO.Input.Text(…).Run(ctx)) is a
// child span lasting until the operator answers.
//
// Spans carry the action's slug, the environment, the transaction id and
// the outcome (success, error, canceled or panic); the error's message is
// recorded on a failed span. No personal data is recorded by default: not
// the operator's identity, not the params, not the operator's answers, not
// the IO calls' labels (the action's code may put data in them). Options
// add the operator's email, or the labels, where a team accepts it.
//
// The host's connection to the server is measured by ConnectionHook, set as
// the client's interval.Options.OnConnection: the connection's state, the
// reconnections and the calls re-sent after them. A host wires both:
//
//	r := router.New()
//	r.Use(otelinterval.Middleware(), middleware.Logger(nil), middleware.Recoverer)
//	// … routes …
//	client, err := interval.New(interval.Options{
//		Routes:       r,
//		OnConnection: otelinterval.ConnectionHook(),
//	})
//
// The metrics, all under the scope ScopeName:
//
//   - interval.host.runs.active (up/down counter, by action and
//     environment): action runs, page renders and page data updates being
//     served.
//   - interval.host.run.duration (histogram, s, by action, environment and
//     outcome): how long a run or page took.
//   - interval.host.io.duration (histogram, s, by outcome): how long an IO
//     call waited, mostly on the operator.
//   - interval.host.connections (up/down counter, ConnectionHook): 1 while
//     the host's connection is up, 0 while it is away or closed.
//   - interval.host.reconnects (counter, ConnectionHook): connections
//     initialized again after a drop.
//   - interval.host.reconnect.downtime (histogram, s, ConnectionHook): from
//     a drop to the reconnection.
//   - interval.host.resends (counter, by AttrResendKind, ConnectionHook):
//     calls delivered again over a new connection: IO calls, loading
//     states, page layouts, results, log lines, redirects.
//
// Without options the global TracerProvider and MeterProvider
// (otel.SetTracerProvider, otel.SetMeterProvider) are used when a run
// starts (when the first connection event comes, for ConnectionHook), so
// the middleware and the hook may be built before the providers are set.
package otelinterval

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/middleware"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/interval-go/sdk/middleware/otelinterval"

// Attribute keys set on spans and metrics.
const (
	// AttrAction is the action's (or page's) full slug.
	AttrAction = attribute.Key("interval.action.slug")
	// AttrPage is the page's full slug, on page spans.
	AttrPage = attribute.Key("interval.page.slug")
	// AttrPageKey identifies one opening of a page, on page spans.
	AttrPageKey = attribute.Key("interval.page.key")
	// AttrEnvironment is the environment ("production", "development").
	AttrEnvironment = attribute.Key("interval.environment")
	// AttrTransaction is the transaction id (the console's run URL ends
	// with it); on spans only, never on metrics.
	AttrTransaction = attribute.Key("interval.transaction.id")
	// AttrOutcome is "success", "error", "canceled" or "panic".
	AttrOutcome = attribute.Key("interval.outcome")
	// AttrIOMethods are the method names of an IO call's components.
	AttrIOMethods = attribute.Key("interval.io.methods")
	// AttrIOLabels are an IO call's component labels (WithIOLabels only).
	AttrIOLabels = attribute.Key("interval.io.labels")
	// AttrIOChoices is the number of submit buttons of an IO call.
	AttrIOChoices = attribute.Key("interval.io.choices")
	// AttrUserEmail identifies the operator (WithUser only), with
	// OpenTelemetry's name for it.
	AttrUserEmail = attribute.Key("user.email")
	// AttrResendKind is what a re-sent call carried, on
	// interval.host.resends: an interval.ResendKind ("io_call",
	// "loading", "page", "result", "log", "redirect").
	AttrResendKind = attribute.Key("interval.resend.kind")
)

// Outcomes of a run, page or IO call (AttrOutcome).
const (
	OutcomeSuccess  = "success"
	OutcomeError    = "error"
	OutcomeCanceled = "canceled"
	OutcomePanic    = "panic"
)

// Option configures Middleware and ConnectionHook.
type Option func(*config)

type config struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	user     bool
	ioLabels bool
}

// WithTracerProvider uses tp instead of the global TracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider uses mp instead of the global MeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithUser records the operator's email on the action and page spans
// (AttrUserEmail): personal data, off by default.
func WithUser() Option {
	return func(c *config) { c.user = true }
}

// WithIOLabels records the labels of IO calls (AttrIOLabels), which the
// action's code may fill with data ("Refund alice@example.com?"): off by
// default.
func WithIOLabels() Option {
	return func(c *config) { c.ioLabels = true }
}

// instruments are built once per Middleware or page wrapper, from the
// providers known when the first run starts.
type instruments struct {
	cfg      config
	tracer   trace.Tracer
	active   metric.Int64UpDownCounter
	duration metric.Float64Histogram
	ioDur    metric.Float64Histogram
}

// newInstruments returns a function building the instruments once, when
// the first run starts: the global providers are read then.
func newInstruments(opts []Option) func() *instruments {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	return sync.OnceValue(func() *instruments {
		tp, mp := cfg.tp, cfg.mp
		if tp == nil {
			tp = otel.GetTracerProvider()
		}
		if mp == nil {
			mp = otel.GetMeterProvider()
		}
		meter := mp.Meter(ScopeName)
		in := &instruments{cfg: cfg, tracer: tp.Tracer(ScopeName)}
		var err error
		if in.active, err = meter.Int64UpDownCounter("interval.host.runs.active",
			metric.WithDescription("Action runs, page renders and page data updates the host's handlers are serving."),
			metric.WithUnit("{run}")); err != nil {
			otel.Handle(fmt.Errorf("otelinterval: %w", err))
		}
		if in.duration, err = meter.Float64Histogram("interval.host.run.duration",
			metric.WithDescription("Time a handler took to serve an action run or a page, operator's time included."),
			metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600)); err != nil {
			otel.Handle(fmt.Errorf("otelinterval: %w", err))
		}
		if in.ioDur, err = meter.Float64Histogram("interval.host.io.duration",
			metric.WithDescription("Time from an IO call's start to its end: mostly the operator's."),
			metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.01, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600)); err != nil {
			otel.Handle(fmt.Errorf("otelinterval: %w", err))
		}
		return in
	})
}

// Middleware returns the tracing middleware: a span per action run, page
// render and page data update, and per IO call under a run's span. Put it
// first (outermost) on the root router, so that its span covers every other middleware and
// records panics before Recoverer turns them into errors (a
// *middleware.PanicError is recorded as a panic too).
func Middleware(opts ...Option) interval.Middleware {
	get := newInstruments(opts)
	return func(next interval.Handler) interval.Handler {
		return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (res any, err error) {
			in := get()
			attrs := []attribute.KeyValue{AttrAction.String(tx.Action.Slug), AttrEnvironment.String(tx.Environment)}
			name, spanAttrs := "action "+tx.Action.Slug, []attribute.KeyValue{AttrTransaction.String(tx.ID)}
			if tx.Page != nil {
				// The page's key is per opening, like a transaction id.
				name, spanAttrs = "page "+tx.Action.Slug, []attribute.KeyValue{AttrPage.String(tx.Action.Slug), AttrPageKey.String(tx.ID)}
			}
			spanAttrs = append(spanAttrs, attrs...)
			if in.cfg.user {
				spanAttrs = append(spanAttrs, AttrUserEmail.String(tx.User.Email))
			}
			ctx, span := in.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(spanAttrs...))
			ctx = interval.WithIOHook(ctx, in.ioHook(interval.IOHookFrom(ctx)))
			start := time.Now()
			in.add(ctx, 1, attrs)
			defer func() {
				v := recover()
				in.end(ctx, span, start, attrs, err, v)
				if v != nil {
					panic(v)
				}
			}()
			return next.ServeAction(ctx, tx)
		})
	}
}

func (in *instruments) add(ctx context.Context, n int64, attrs []attribute.KeyValue) {
	if in.active != nil {
		in.active.Add(ctx, n, metric.WithAttributes(attrs...))
	}
}

// end ends a run's or page's span with its outcome and records the
// metrics; v is the recovered panic value, if any.
func (in *instruments) end(ctx context.Context, span trace.Span, start time.Time, attrs []attribute.KeyValue, err error, v any) {
	outcome := outcomeOf(err, v)
	span.SetAttributes(AttrOutcome.String(outcome))
	switch outcome {
	case OutcomePanic:
		var pe *middleware.PanicError
		switch {
		case v != nil:
			// Recovered here: the stack is the panicking goroutine's.
			perr := fmt.Errorf("panic: %v", v)
			span.RecordError(perr, trace.WithStackTrace(true))
			span.SetStatus(codes.Error, perr.Error())
		case errors.As(err, &pe):
			// Recovered by Recoverer inside: its stack.
			span.RecordError(err, trace.WithAttributes(attribute.String("exception.stacktrace", string(pe.Stack))))
			span.SetStatus(codes.Error, err.Error())
		}
	case OutcomeError:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	in.add(ctx, -1, attrs)
	if in.duration != nil {
		in.duration.Record(ctx, time.Since(start).Seconds(),
			metric.WithAttributes(append(attrs[:len(attrs):len(attrs)], AttrOutcome.String(outcome))...))
	}
}

// ioHook starts a span per IO call, under the span of ctx; prev is an
// IOHook set by an outer middleware, kept.
func (in *instruments) ioHook(prev interval.IOHook) interval.IOHook {
	return func(ctx context.Context, call interval.IOCall) (context.Context, func(error)) {
		var prevDone func(error)
		if prev != nil {
			ctx, prevDone = prev(ctx, call)
		}
		attrs := []attribute.KeyValue{AttrIOMethods.StringSlice(call.Methods)}
		if call.Choices > 0 {
			attrs = append(attrs, AttrIOChoices.Int(call.Choices))
		}
		if in.cfg.ioLabels {
			attrs = append(attrs, AttrIOLabels.StringSlice(call.Labels))
		}
		name := "io group"
		if len(call.Methods) == 1 {
			name = "io " + call.Methods[0]
		}
		ctx, span := in.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
		start := time.Now()
		return ctx, func(err error) {
			outcome := outcomeOf(err, nil)
			span.SetAttributes(AttrOutcome.String(outcome))
			if outcome == OutcomeError {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
			if in.ioDur != nil {
				in.ioDur.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(AttrOutcome.String(outcome)))
			}
			if prevDone != nil {
				prevDone(err)
			}
		}
	}
}

// outcomeOf classifies a handler's end as Logger does: a cancellation is
// interval.ErrCanceled, interval.ErrClosed or context.Canceled.
func outcomeOf(err error, panicked any) string {
	var pe *middleware.PanicError
	switch {
	case panicked != nil || errors.As(err, &pe):
		return OutcomePanic
	case err == nil:
		return OutcomeSuccess
	case errors.Is(err, interval.ErrCanceled) || errors.Is(err, interval.ErrClosed) || errors.Is(err, context.Canceled):
		return OutcomeCanceled
	}
	return OutcomeError
}

// connInstruments are the instruments of ConnectionHook.
type connInstruments struct {
	connections metric.Int64UpDownCounter
	reconnects  metric.Int64Counter
	downtime    metric.Float64Histogram
	resends     metric.Int64Counter
}

// ConnectionHook returns a hook recording the host's connection metrics;
// set it as the client's interval.Options.OnConnection (the package's doc
// shows the wiring, with Middleware). It records
// interval.host.connections (1 while connected, 0 while away or closed),
// interval.host.reconnects, interval.host.reconnect.downtime and
// interval.host.resends by AttrResendKind. Of the options only
// WithMeterProvider applies; without it the global MeterProvider is read
// when the first event comes.
//
// The hook does not block: it adds to the instruments and returns. Clients
// sharing one MeterProvider, or one hook, add up
// (interval.host.connections counts the connected clients).
func ConnectionHook(opts ...Option) interval.ConnectionHook {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	get := sync.OnceValue(func() *connInstruments {
		mp := cfg.mp
		if mp == nil {
			mp = otel.GetMeterProvider()
		}
		meter := mp.Meter(ScopeName)
		in := &connInstruments{}
		var err error
		if in.connections, err = meter.Int64UpDownCounter("interval.host.connections",
			metric.WithDescription("Connections of the host to the Interval server that are open and initialized: 1 while connected, 0 while away or closed."),
			metric.WithUnit("{connection}")); err != nil {
			otel.Handle(fmt.Errorf("otelinterval: %w", err))
		}
		if in.reconnects, err = meter.Int64Counter("interval.host.reconnects",
			metric.WithDescription("Connections to the Interval server initialized again after a drop."),
			metric.WithUnit("{reconnection}")); err != nil {
			otel.Handle(fmt.Errorf("otelinterval: %w", err))
		}
		if in.downtime, err = meter.Float64Histogram("interval.host.reconnect.downtime",
			metric.WithDescription("Time from a dropped connection to the Interval server to the reconnection."),
			metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.1, 0.5, 1, 3, 5, 10, 30, 60, 300, 900, 3600)); err != nil {
			otel.Handle(fmt.Errorf("otelinterval: %w", err))
		}
		if in.resends, err = meter.Int64Counter("interval.host.resends",
			metric.WithDescription("Calls delivered again to the Interval server over a new connection after a drop, by what they carried."),
			metric.WithUnit("{call}")); err != nil {
			otel.Handle(fmt.Errorf("otelinterval: %w", err))
		}
		return in
	})
	return func(ev interval.ConnectionEvent) {
		in := get()
		ctx := context.Background()
		switch ev.Kind {
		case interval.Connected:
			if in.connections != nil {
				in.connections.Add(ctx, 1)
			}
		case interval.Reconnected:
			if in.connections != nil {
				in.connections.Add(ctx, 1)
			}
			if in.reconnects != nil {
				in.reconnects.Add(ctx, 1)
			}
			if in.downtime != nil {
				in.downtime.Record(ctx, ev.Downtime.Seconds())
			}
		case interval.Disconnected:
			if in.connections != nil {
				in.connections.Add(ctx, -1)
			}
		case interval.Resent:
			if in.resends != nil {
				in.resends.Add(ctx, 1, metric.WithAttributes(AttrResendKind.String(string(ev.Resend))))
			}
		}
	}
}
