// Package bench holds the project's performance measurements: go test
// benchmarks of one IO round trip (BenchmarkIORoundTrip) and the perf
// program (bench/perf), which runs a Go host in its own process against an
// in-process server and reports throughput, host CPU per transaction and
// host memory per waiting transaction, like the Node SDK baseline in
// ../shared/conformance/node-sdk-traces. The load program (bench/load)
// measures the server: operators over the console API and socket, Go SDK
// hosts, runs/s, latency, lost runs, the server's CPU and memory.
package bench

import (
	"context"

	"github.com/interval-go/sdk/interval"
)

// PerfRoutes is the host both measurements run: perf_text waits for one text
// input and returns "ok", like the Node baseline's perf_text action.
type PerfRoutes struct{}

// RouteTable implements interval.Routes.
func (PerfRoutes) RouteTable() interval.RouteTable {
	return interval.RouteTable{Actions: []interval.ActionRoute{{
		ActionInfo: interval.ActionInfo{Slug: "perf_text"},
		Handler: interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			if _, err := tx.IO.Input.Text("x").Run(ctx); err != nil {
				return nil, err
			}
			return "ok", nil
		}),
	}}}
}
