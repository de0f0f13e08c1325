package interval_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestInputSpreadsheet(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		rows, err := interval.Spreadsheet[lineItem](tx.IO, "Items").Default(lineItem{Name: "pen", Price: 1.5}).Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("%d %s %v %v", len(rows), rows[0].Name, rows[0].Qty == nil, *rows[1].Qty), nil
	})
	r := a.next()
	if got := mustComponent(t, r, "Items").Props; got != `{"columns":{"name":"string","qty":"number?","price":"number","gift":"boolean"},"defaultValue":[{"gift":false,"name":"pen","price":1.5,"qty":null}]}` {
		t.Fatalf("props %s", got)
	}
	r = a.rejects(r, "Items", "x", "Please enter the rows as a table.")
	r = a.rejects(r, "Items", []any{map[string]any{"price": 1, "gift": true}}, "Row 1: name is required.")
	r = a.rejects(r, "Items", []any{map[string]any{"name": "a", "price": "cheap", "gift": true}}, "Row 1: price must be a number.")
	a.answer(r, intervaltest.Values{"Items": []any{
		map[string]any{"name": "a", "price": 1, "gift": true, "qty": nil},
		map[string]any{"name": "b", "price": 2.5, "gift": false, "qty": 3},
	}})
	if res := a.result(); res.Data != "2 a true 3" {
		t.Fatalf("result %v", res.Data)
	}
}
