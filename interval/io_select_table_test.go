package interval_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestSelectTable(t *testing.T) {
	rows := accounts(600)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		picked, err := interval.SelectTable(tx.IO, "Accounts", rows).
			InitiallySelected(func(a account) bool { return a.ID < 2 }).
			MinSelections(1).MaxSelections(3).PageSize(10).Run(ctx)
		if err != nil {
			return nil, err
		}
		ids := []string{}
		for _, p := range picked {
			ids = append(ids, strconv.Itoa(p.ID))
		}
		return strings.Join(ids, ","), nil
	})
	r := a.next()
	c, _ := r.Component("Accounts")
	var p struct {
		Columns      []map[string]string `json:"columns"`
		Data         []map[string]any    `json:"data"`
		TotalRecords int                 `json:"totalRecords"`
		SelectedKeys []string            `json:"selectedKeys"`
		IsSortable   *bool               `json:"isSortable"`
	}
	decodeFresh(t, c.Props, &p)
	if c.MethodName != "SELECT_TABLE" || !c.IsStateful || len(p.Data) != 500 || p.TotalRecords != 600 || jsonOf(t, p.SelectedKeys) != `["0","1"]` || p.IsSortable != nil {
		t.Fatalf("render: %d rows, total %d, selected %v", len(p.Data), p.TotalRecords, p.SelectedKeys)
	}
	if got := jsonOf(t, p.Columns); got != `[{"accessorKey":"id","label":"id"},{"accessorKey":"name","label":"Account name"},{"accessorKey":"balance","label":"balance"},{"accessorKey":"opened","label":"opened"},{"accessorKey":"note","label":"note"}]` {
		t.Fatalf("columns %s", got)
	}
	if got := jsonOf(t, p.Data[3]); got != `{"data":{"balance":29,"id":3,"name":"acct 3","note":null,"opened":"2024-01-04T00:00:00.000Z"},"filterValue":"3 acct 3 29 1/4/2024 null","key":"3","menu":null}` {
		t.Fatalf("row 3 %s", got)
	}
	// Select all rows matching a search: selectedKeys are all matches.
	a.setState(r, intervaltest.Values{"Accounts": map[string]any{"queryTerm": "ACCT 6", "offset": 0, "pageSize": 10, "isSelectAll": true, "sortColumn": "balance", "sortDirection": "asc"}})
	r = a.next()
	decodeFresh(t, mustRaw(t, r, "Accounts"), &p)
	if p.TotalRecords != 85 || len(p.SelectedKeys) != 85 || len(p.Data) != 85 || p.Data[0]["filterValue"] != nil {
		t.Fatalf("after search: total %d selected %d rows %d", p.TotalRecords, len(p.SelectedKeys), len(p.Data))
	}
	for i := 1; i < len(p.Data); i++ {
		if p.Data[i-1]["data"].(map[string]any)["balance"].(float64) > p.Data[i]["data"].(map[string]any)["balance"].(float64) {
			t.Fatal("rows not sorted by balance")
		}
	}
	key := func(k string) map[string]string { return map[string]string{"key": k} }
	r = a.rejects(r, "Accounts", []any{}, "Please select at least 1 rows.")
	r = a.rejects(r, "Accounts", []any{key("1"), key("2"), key("3"), key("4")}, "Please select at most 3 rows.")
	r = a.rejects(r, "Accounts", []any{key("600")}, "Please select rows of the table.")
	r = a.rejects(r, "Accounts", []any{key("01")}, "Please select rows of the table.")
	r = a.rejects(r, "Accounts", "everything", "Please select rows of the table.")
	a.answer(r, intervaltest.Values{"Accounts": []any{key("599"), key("5")}})
	if res := a.result(); res.Data != "5,599" {
		t.Fatalf("result %v", res.Data)
	}
}
