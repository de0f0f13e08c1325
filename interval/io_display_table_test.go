package interval_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// BenchmarkTableRequestEndToEnd measures one operator request on a
// 1,000,000-row table through a real client and the in-process server
// (websocket, RPC, JSON): SET_STATE sent → re-render received. The states
// cycle through a page, a sort and a search, so no view is reused.
func BenchmarkTableRequestEndToEnd(b *testing.B) {
	rows := bigRows(1_000_000)
	h := intervaltest.New(b, routes{"big": func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayTable(tx.IO, "Big", rows).PageSize(20).Index().Run(ctx)
	}})
	ctx := context.Background()
	run, err := h.Start(ctx, "big", intervaltest.WithoutAppendUI())
	if err != nil {
		b.Fatal(err)
	}
	r, err := run.Next(ctx)
	if err != nil {
		b.Fatal(err)
	}
	states := []map[string]any{
		{"offset": 0, "pageSize": 20},
		{"offset": 0, "pageSize": 20, "sortColumn": "score", "sortDirection": "desc"},
		{"offset": 0, "pageSize": 20, "queryTerm": ""},
		{"offset": 0, "pageSize": 20, "sortColumn": "name", "sortDirection": "asc"},
	}
	i := 0
	for b.Loop() {
		s := states[i%len(states)]
		i++
		if s["queryTerm"] != nil {
			s = map[string]any{"offset": 0, "pageSize": 20, "queryTerm": "row " + strconv.Itoa(i%1000)}
		} else if s["sortColumn"] == nil {
			s = map[string]any{"offset": (i * 7919) % 999_000, "pageSize": 20}
		}
		if err := r.SetState(ctx, intervaltest.Values{"Big": s}); err != nil {
			b.Fatal(err)
		}
		if r, err = run.Next(ctx); err != nil {
			b.Fatal(fmt.Errorf("state %v: %w", s, err))
		}
	}
	b.StopTimer()
	if err := r.Answer(ctx, intervaltest.Values{}); err != nil {
		b.Fatal(err)
	}
	if _, err := run.Result(ctx); err != nil {
		b.Fatal(err)
	}
}
