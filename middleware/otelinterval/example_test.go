package otelinterval_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/middleware/otelinterval"
	"github.com/interval-go/sdk/router"
)

// The middleware goes first on the root router. The action's span is in
// its ctx: the action's own spans and its IO calls nest under it. In
// production the TracerProvider exports to a collector
// (otlptracegrpc.New, sdktrace.WithBatcher; docs/operations.md); here an
// in-memory exporter shows what is recorded.
func ExampleMiddleware() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	otel.SetTracerProvider(tp) // or otelinterval.WithTracerProvider(tp)

	r := router.New()
	r.Use(otelinterval.Middleware(), middleware.RecovererWithLogger(slog.New(slog.DiscardHandler)))
	r.Action("greet", func(ctx context.Context, tx *interval.Tx) (any, error) {
		_, lookup := otel.Tracer("app").Start(ctx, "lookup customer") // nests under the run
		lookup.End()
		name, err := tx.IO.Input.Text("Your name").Run(ctx) // an "io INPUT_TEXT" span
		if err != nil {
			return nil, err
		}
		return "Hello, " + name, nil
	})

	// A test server and a host, to run the action once.
	srv := intervaltest.NewServer()
	defer srv.Close()
	c, err := interval.New(interval.Options{Endpoint: srv.URL, APIKey: "test_key", Routes: r, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()
	defer func() { c.Close(); <-listened }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, err := srv.Start(ctx, "greet")
	if err != nil {
		fmt.Println(err)
		return
	}
	form, _ := run.Next(ctx)
	form.Answer(ctx, intervaltest.Values{"Your name": "Ada"})
	run.Result(ctx)

	names := map[string]string{}
	for _, s := range spans.GetSpans() {
		names[s.SpanContext.SpanID().String()] = s.Name
	}
	for _, s := range spans.GetSpans() {
		parent := names[s.Parent.SpanID().String()]
		if parent == "" {
			parent = "-"
		}
		fmt.Printf("%s (parent: %s)\n", s.Name, parent)
	}
	// Output:
	// lookup customer (parent: action greet)
	// io INPUT_TEXT (parent: action greet)
	// action greet (parent: -)
}

// A host wires both: the middleware on its routes, for the runs, and
// ConnectionHook as the client's OnConnection, for its connection. In
// production the MeterProvider exports to a collector
// (otlpmetricgrpc.New, sdkmetric.NewPeriodicReader; docs/operations.md);
// here a manual reader shows what is recorded when the host's socket drops
// while an IO call waits on the operator.
func ExampleConnectionHook() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	// Or otel.SetMeterProvider(mp), and neither needs the option.
	withMP := otelinterval.WithMeterProvider(mp)

	r := router.New()
	r.Use(otelinterval.Middleware(withMP))
	r.Action("greet", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Text("Your name").Run(ctx)
	})

	srv := intervaltest.NewServer()
	defer srv.Close()
	c, err := interval.New(interval.Options{
		Endpoint: srv.URL, APIKey: "test_key", Routes: r, Logger: slog.New(slog.DiscardHandler),
		RetryInterval: 50 * time.Millisecond,
		OnConnection:  otelinterval.ConnectionHook(withMP),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, err := srv.Start(ctx, "greet")
	if err != nil {
		fmt.Println(err)
		return
	}
	run.Next(ctx)
	host, _ := srv.WaitHost(ctx)
	host.WaitAnswered(ctx, "SEND_IO_CALL", 1)
	host.Drop()              // the network fails…
	form, _ := run.Next(ctx) // …the host reconnects and re-sends the IO call
	again, _ := srv.WaitHost(ctx)
	again.WaitAnswered(ctx, "SEND_IO_CALL", 1)
	form.Answer(ctx, intervaltest.Values{"Your name": "Ada"})
	run.Result(ctx)
	c.Close()
	<-listened

	var rm metricdata.ResourceMetrics
	reader.Collect(ctx, &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					name := m.Name
					if kind, ok := dp.Attributes.Value(otelinterval.AttrResendKind); ok {
						name += "{kind=" + kind.Emit() + "}"
					}
					fmt.Println(name, dp.Value)
				}
			}
		}
	}
	// Unordered output:
	// interval.host.runs.active 0
	// interval.host.connections 0
	// interval.host.reconnects 1
	// interval.host.resends{kind=io_call} 1
}
