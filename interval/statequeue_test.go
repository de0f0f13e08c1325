package interval_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// State updates of a table whose call already returned (the append UI
// keeps it pageable while the action asks its next question) are applied in
// the order the operator sent them: the re-renders follow the states one by
// one and the last view shown is the last state's.
func TestStateUpdatesAfterReturnApplyInOrder(t *testing.T) {
	type row struct {
		N int `json:"n"`
	}
	rows := make([]row, 100)
	for i := range rows {
		rows[i].N = i
	}
	h := intervaltest.New(t, routes{"pager": func(ctx context.Context, tx *interval.Tx) (any, error) {
		if err := interval.DisplayTable(tx.IO, "Rows", rows).PageSize(1).Run(ctx); err != nil {
			return nil, err
		}
		return tx.IO.Input.Text("Done?").Run(ctx)
	}})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "pager")
	if err != nil {
		t.Fatal(err)
	}
	table, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next, err := run.Next(ctx)
	if err != nil || next.Labels()[0] != "Done?" {
		t.Fatalf("after the table: %v %v", next, err)
	}
	const updates = 30
	for i := 1; i <= updates; i++ {
		if err := table.SetState(ctx, intervaltest.Values{"Rows": map[string]any{"offset": i, "pageSize": 1}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= updates; i++ {
		r, err := run.Next(ctx)
		if err != nil {
			t.Fatalf("re-render %d: %v", i, err)
		}
		var props struct {
			Data []struct{ Key string }
		}
		if err := r.Props("Rows", &props); err != nil {
			t.Fatal(err)
		}
		if len(props.Data) == 0 || props.Data[0].Key != strconv.Itoa(i) {
			t.Fatalf("re-render %d starts at row %+v, want row %d: state updates applied out of order", i, props.Data, i)
		}
	}
	if err := next.Answer(ctx, intervaltest.Values{"Done?": "yes"}); err != nil {
		t.Fatal(err)
	}
	if _, err := run.Result(ctx); err != nil {
		t.Fatal(err)
	}
}
