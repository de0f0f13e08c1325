package otelinterval_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/middleware/otelinterval"
	"github.com/interval-go/sdk/router"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	operator = "sue@example.com"
	secret   = "4111-1111-1111-1111" // an answer and a param: never on a span
)

// telemetry is an in-memory trace exporter and a manual metric reader.
type telemetry struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		tel.tp.Shutdown(context.Background())
		tel.mp.Shutdown(context.Background())
	})
	return tel
}

func (tel *telemetry) opts(more ...otelinterval.Option) []otelinterval.Option {
	return append([]otelinterval.Option{otelinterval.WithTracerProvider(tel.tp), otelinterval.WithMeterProvider(tel.mp)}, more...)
}

// span returns the ended span named name; the test fails without one.
func (tel *telemetry) span(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	var names []string
	for _, s := range tel.spans.GetSpans() {
		if s.Name == name {
			return s
		}
		names = append(names, s.Name)
	}
	t.Fatalf("no span %q; spans: %v", name, names)
	return tracetest.SpanStub{}
}

// waitSpan waits until a span named name has ended.
func (tel *telemetry) waitSpan(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, s := range tel.spans.GetSpans() {
			if s.Name == name {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("span %q never ended", name)
		}
		time.Sleep(time.Millisecond)
	}
}

func attr(s tracetest.SpanStub, k attribute.Key) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if a.Key == k {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

func wantAttr(t *testing.T, s tracetest.SpanStub, k attribute.Key, want string) {
	t.Helper()
	v, ok := attr(s, k)
	if !ok || v.Emit() != want {
		t.Errorf("span %q: %s = %q (set %v), want %q", s.Name, k, v.Emit(), ok, want)
	}
}

// routes are the actions under test, with the middleware outermost and
// Recoverer inside it.
func routes(tel *telemetry, extra ...otelinterval.Option) *router.Mux {
	r := router.New()
	r.Use(otelinterval.Middleware(tel.opts(extra...)...), middleware.RecovererWithLogger(slog.New(slog.DiscardHandler)))
	user := tel.tp.Tracer("user-code")
	r.Action("refund", func(ctx context.Context, tx *interval.Tx) (any, error) {
		_, db := user.Start(ctx, "db.query")
		db.End()
		card, err := tx.IO.Input.Text("Card of " + tx.User.Email).Run(ctx)
		if err != nil {
			return nil, err
		}
		a, b := tx.IO.Input.Text("Reason"), tx.IO.Input.Email("Notify")
		if _, err := tx.IO.Group(a, b).Run(ctx); err != nil {
			return nil, err
		}
		return "refunded " + card, nil
	})
	r.Action("decline", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return nil, errors.New("card declined")
	})
	r.Action("boom", func(ctx context.Context, tx *interval.Tx) (any, error) {
		panic("nil map")
	})
	r.Action("wait", func(ctx context.Context, tx *interval.Tx) (any, error) {
		_, err := tx.IO.Input.Text("Anything").Run(ctx)
		return nil, err
	})
	r.Page("dashboard", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		_, s := user.Start(ctx, "load.stats")
		s.End()
		return &interval.Layout{Title: "Dashboard"}, nil
	})
	return r
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runRefund runs "refund" to its end as the operator.
func runRefund(t *testing.T, h *intervaltest.Harness) {
	t.Helper()
	ctx := ctxFor(t)
	run, err := h.Start(ctx, "refund", intervaltest.As(intervaltest.User{Email: operator, Role: "member"}),
		intervaltest.WithParams(map[string]any{"card": secret}))
	if err != nil {
		t.Fatal(err)
	}
	form, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := form.Answer(ctx, intervaltest.Values{"Card of " + operator: secret}); err != nil {
		t.Fatal(err)
	}
	group, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := group.Answer(ctx, intervaltest.Values{"Reason": "duplicate", "Notify": operator}); err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Status != "SUCCESS" {
		t.Fatalf("refund: %+v %v", res, err)
	}
}

// An action run is a server span with the slug, environment, transaction
// id and outcome; the handler's own spans and each IO call nest under it;
// nothing personal is recorded.
func TestActionSpan(t *testing.T) {
	tel := newTelemetry(t)
	h := intervaltest.New(t, routes(tel))
	runRefund(t, h)

	action := tel.span(t, "action refund")
	if action.SpanKind != trace.SpanKindServer || action.Status.Code != codes.Unset {
		t.Errorf("action span: kind %v status %v", action.SpanKind, action.Status)
	}
	wantAttr(t, action, otelinterval.AttrAction, "refund")
	wantAttr(t, action, otelinterval.AttrEnvironment, "development")
	wantAttr(t, action, otelinterval.AttrOutcome, otelinterval.OutcomeSuccess)
	if v, ok := attr(action, otelinterval.AttrTransaction); !ok || v.AsString() == "" {
		t.Error("no transaction id")
	}
	db := tel.span(t, "db.query")
	one := tel.span(t, "io INPUT_TEXT")
	group := tel.span(t, "io group")
	for _, child := range []tracetest.SpanStub{db, one, group} {
		if child.Parent.SpanID() != action.SpanContext.SpanID() || child.SpanContext.TraceID() != action.SpanContext.TraceID() {
			t.Errorf("span %q is not a child of the action's span", child.Name)
		}
	}
	wantAttr(t, one, otelinterval.AttrIOMethods, `["INPUT_TEXT"]`)
	wantAttr(t, one, otelinterval.AttrOutcome, otelinterval.OutcomeSuccess)
	wantAttr(t, group, otelinterval.AttrIOMethods, `["INPUT_TEXT","INPUT_EMAIL"]`)
	if !one.StartTime.After(db.EndTime) && !one.StartTime.Equal(db.EndTime) || one.EndTime.After(action.EndTime) {
		t.Error("the IO span does not lie within the run, after the handler's own span")
	}
	// No personal data by default: not the operator, the params, the
	// answers or the labels.
	for _, s := range tel.spans.GetSpans() {
		for _, a := range s.Attributes {
			if v := a.Value.Emit(); strings.Contains(v, operator) || strings.Contains(v, secret) {
				t.Errorf("span %q holds personal data: %s=%s", s.Name, a.Key, v)
			}
		}
		if _, ok := attr(s, otelinterval.AttrIOLabels); ok {
			t.Errorf("span %q records labels by default", s.Name)
		}
	}
}

// With WithUser and WithIOLabels, the operator's email and the labels are
// recorded.
func TestOptInPersonalData(t *testing.T) {
	tel := newTelemetry(t)
	h := intervaltest.New(t, routes(tel, otelinterval.WithUser(), otelinterval.WithIOLabels()))
	runRefund(t, h)
	wantAttr(t, tel.span(t, "action refund"), otelinterval.AttrUserEmail, operator)
	wantAttr(t, tel.span(t, "io INPUT_TEXT"), otelinterval.AttrIOLabels, `["Card of `+operator+`"]`)
}

// Errors and panics fail the span with the error recorded; a panic
// recovered by Recoverer inside keeps its stack; a cancellation is no
// error.
func TestErrorsPanicsCancel(t *testing.T) {
	tel := newTelemetry(t)
	h := intervaltest.New(t, routes(tel))
	ctx := ctxFor(t)
	for _, slug := range []string{"decline", "boom"} {
		run, err := h.Start(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := run.Result(ctx); err != nil || res.Status != "FAILURE" {
			t.Fatalf("%s: %+v %v", slug, res, err)
		}
	}
	run, err := h.Start(ctx, "wait")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if err := run.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	// A canceled run sends no result: its span ends when its handler
	// returns.
	tel.waitSpan(t, "action wait")

	decline := tel.span(t, "action decline")
	if decline.Status.Code != codes.Error || decline.Status.Description != "card declined" {
		t.Errorf("decline status %+v", decline.Status)
	}
	wantAttr(t, decline, otelinterval.AttrOutcome, otelinterval.OutcomeError)
	if len(decline.Events) != 1 || decline.Events[0].Name != "exception" {
		t.Errorf("decline events %+v, want one exception", decline.Events)
	}

	boom := tel.span(t, "action boom")
	wantAttr(t, boom, otelinterval.AttrOutcome, otelinterval.OutcomePanic)
	if boom.Status.Code != codes.Error || !strings.Contains(boom.Status.Description, "nil map") {
		t.Errorf("boom status %+v", boom.Status)
	}
	stack := false
	for _, ev := range boom.Events {
		for _, a := range ev.Attributes {
			if a.Key == "exception.stacktrace" && strings.Contains(a.Value.AsString(), "goroutine") {
				stack = true
			}
		}
	}
	if !stack {
		t.Errorf("boom: no exception with a stack trace: %+v", boom.Events)
	}

	wait := tel.span(t, "action wait")
	wantAttr(t, wait, otelinterval.AttrOutcome, otelinterval.OutcomeCanceled)
	if wait.Status.Code == codes.Error {
		t.Error("a canceled run is an error span")
	}
	wantAttr(t, tel.span(t, "io INPUT_TEXT"), otelinterval.AttrOutcome, otelinterval.OutcomeCanceled)
}

// A panic with no Recoverer inside is recorded and goes on up (the client
// fails the run).
func TestPanicWithoutRecoverer(t *testing.T) {
	tel := newTelemetry(t)
	r := router.New()
	r.Use(otelinterval.Middleware(tel.opts()...))
	r.Action("boom", func(ctx context.Context, tx *interval.Tx) (any, error) { panic(fmt.Errorf("bad state")) })
	h := intervaltest.New(t, r)
	ctx := ctxFor(t)
	run, err := h.Start(ctx, "boom")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Status != "FAILURE" {
		t.Fatalf("boom: %+v %v", res, err)
	}
	boom := tel.span(t, "action boom")
	wantAttr(t, boom, otelinterval.AttrOutcome, otelinterval.OutcomePanic)
	if boom.Status.Code != codes.Error || boom.Status.Description != "panic: bad state" {
		t.Errorf("status %+v", boom.Status)
	}
}

// The middleware wraps pages too: a page's render is a span, with the
// handler's spans under it.
func TestPageSpan(t *testing.T) {
	tel := newTelemetry(t)
	h := intervaltest.New(t, routes(tel))
	ctx := ctxFor(t)
	p, err := h.OpenPage(ctx, "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := p.Next(ctx); err != nil || l.Title == nil || *l.Title != "Dashboard" {
		t.Fatalf("layout %+v %v", l, err)
	}
	page := tel.span(t, "page dashboard")
	wantAttr(t, page, otelinterval.AttrPage, "dashboard")
	wantAttr(t, page, otelinterval.AttrPageKey, p.Key)
	if page.SpanKind != trace.SpanKindServer {
		t.Errorf("page span kind %v", page.SpanKind)
	}
	wantAttr(t, page, otelinterval.AttrOutcome, otelinterval.OutcomeSuccess)
	if s := tel.span(t, "load.stats"); s.Parent.SpanID() != page.SpanContext.SpanID() {
		t.Error("the page handler's span is not under the page's")
	}
}

// The host's metrics move: runs by outcome, their duration, IO calls, and
// the active runs back to zero.
func TestMetrics(t *testing.T) {
	tel := newTelemetry(t)
	h := intervaltest.New(t, routes(tel))
	runRefund(t, h)
	ctx := ctxFor(t)
	run, err := h.Start(ctx, "decline")
	if err != nil {
		t.Fatal(err)
	}
	run.Result(ctx)

	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	runs := map[string]uint64{}
	var io uint64
	active := int64(-1)
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelinterval.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			switch m.Name {
			case "interval.host.run.duration":
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					slug, _ := dp.Attributes.Value(otelinterval.AttrAction)
					outcome, _ := dp.Attributes.Value(otelinterval.AttrOutcome)
					if _, ok := dp.Attributes.Value(otelinterval.AttrTransaction); ok {
						t.Error("transaction id on a metric: unbounded")
					}
					runs[slug.AsString()+"/"+outcome.AsString()] += dp.Count
				}
			case "interval.host.io.duration":
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					io += dp.Count
				}
			case "interval.host.runs.active":
				active = 0
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					active += dp.Value
				}
			}
		}
	}
	if runs["refund/success"] != 1 || runs["decline/error"] != 1 {
		t.Errorf("run.duration counts %v", runs)
	}
	if io != 2 {
		t.Errorf("io.duration count %d, want 2", io)
	}
	if active != 0 {
		t.Errorf("runs.active %d after the runs, want 0", active)
	}
}

// connMetrics are the connection metrics read from a collection.
type connMetrics struct {
	connections, reconnects int64
	downtimes               uint64
	resends                 map[string]int64 // by AttrResendKind
}

func (tel *telemetry) connMetrics(t *testing.T, ctx context.Context) connMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	cm := connMetrics{resends: map[string]int64{}}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelinterval.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			switch m.Name {
			case "interval.host.connections":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					cm.connections += dp.Value
				}
			case "interval.host.reconnects":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					cm.reconnects += dp.Value
				}
			case "interval.host.reconnect.downtime":
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					cm.downtimes += dp.Count
				}
			case "interval.host.resends":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					kind, _ := dp.Attributes.Value(otelinterval.AttrResendKind)
					if dp.Attributes.Len() != 1 {
						t.Errorf("resends attributes %v, want the kind only", dp.Attributes.ToSlice())
					}
					cm.resends[kind.AsString()] += dp.Value
				}
			}
		}
	}
	return cm
}

// waitRefused waits until the server has refused n connection attempts.
func waitRefused(t *testing.T, ctx context.Context, h *intervaltest.Harness, n int) {
	t.Helper()
	for h.Refused() < n {
		select {
		case <-ctx.Done():
			t.Fatalf("the host stopped trying to reconnect after %d attempts", h.Refused())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// ConnectionHook's metrics move with a real drop of the host's socket: the
// connection goes down and up again, the reconnection and its downtime are
// counted, and the pending IO call and the open page's layout re-sent over
// the new connection are counted by kind.
func TestConnectionMetrics(t *testing.T) {
	tel := newTelemetry(t)
	h := intervaltest.New(t, routes(tel), func(o *interval.Options) {
		o.OnConnection = otelinterval.ConnectionHook(otelinterval.WithMeterProvider(tel.mp))
	})
	ctx := ctxFor(t)
	run, err := h.Start(ctx, "wait")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Next(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := h.OpenPage(ctx, "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := page.Next(ctx); err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx)
	// Nothing in flight: the IO call and the layout come again only
	// because the host re-sends them.
	for _, m := range []string{"SEND_IO_CALL", "SEND_PAGE"} {
		if err := host.WaitAnswered(ctx, m, 1); err != nil {
			t.Fatal(err)
		}
	}
	if cm := tel.connMetrics(t, ctx); cm.connections != 1 || cm.reconnects != 0 {
		t.Fatalf("connected: %+v, want 1 connection, no reconnection", cm)
	}

	h.Refuse(true)
	host.Drop()
	// A refused attempt: the host noticed the drop (and reported it)
	// before it tried again.
	waitRefused(t, ctx, h, 2)
	if cm := tel.connMetrics(t, ctx); cm.connections != 0 {
		t.Fatalf("away: %d connections, want 0", cm.connections)
	}
	h.Refuse(false)
	if _, err := run.Next(ctx); err != nil { // the IO call, re-sent
		t.Fatal(err)
	}
	if _, err := page.Next(ctx); err != nil { // the layout, re-sent
		t.Fatal(err)
	}
	again, _ := h.WaitHost(ctx)
	for _, m := range []string{"SEND_IO_CALL", "SEND_PAGE"} {
		if err := again.WaitAnswered(ctx, m, 1); err != nil {
			t.Fatal(err)
		}
	}
	if cm := tel.connMetrics(t, ctx); cm.connections != 1 || cm.reconnects != 1 || cm.downtimes != 1 {
		t.Fatalf("reconnected: %+v, want 1 connection, 1 reconnection and its downtime", cm)
	}

	// Closing waits for the client's re-sending goroutine: every re-send
	// is counted, and the connection is down.
	h.Client.Close()
	cm := tel.connMetrics(t, ctx)
	if cm.resends["io_call"] != 1 || cm.resends["page"] != 1 || len(cm.resends) != 2 {
		t.Errorf("resends %v, want 1 io_call and 1 page", cm.resends)
	}
	if cm.connections != 0 || cm.reconnects != 1 {
		t.Errorf("closed: %+v, want no connection, 1 reconnection", cm)
	}
}
