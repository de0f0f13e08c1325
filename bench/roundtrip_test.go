package bench

import (
	"context"
	"testing"
	"time"

	"github.com/interval-go/sdk/intervaltest"
)

// BenchmarkIORoundTrip measures one whole one-input transaction over a
// loopback websocket: START_TRANSACTION, SEND_IO_CALL, IO_RESPONSE,
// MARK_TRANSACTION_COMPLETE, CLOSE_TRANSACTION. Both the host and the test
// server run in this process, so ns/op and allocs/op count both sides.
func BenchmarkIORoundTrip(b *testing.B) {
	h := intervaltest.New(b, PerfRoutes{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run, err := h.Start(ctx, "perf_text")
		if err != nil {
			b.Fatal(err)
		}
		r, err := run.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Answer(ctx, intervaltest.Values{"x": "a"}); err != nil {
			b.Fatal(err)
		}
		if res, err := run.Result(ctx); err != nil || res.Data != "ok" {
			b.Fatalf("result %+v %v", res, err)
		}
		if err := run.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
