package main

import (
	"strings"
	"testing"

	"github.com/interval-go/sdk/interval"
)

// The async table and grid follow the operator's filter and sort (they
// offered both and ignored them), then page.
func TestQueryCustomersFiltersSortsAndPages(t *testing.T) {
	all := customers(40)
	rows, total, err := queryCustomers(all, interval.TableState{Query: "GRACE", SortColumn: "mrr", SortDirection: "desc", PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, c := range all {
		if strings.Contains(strings.ToLower(c.Name+" "+c.Email+" "+c.Plan), "grace") {
			want++
		}
	}
	if want == 0 || total != want || len(rows) != min(3, want) {
		t.Fatalf("total %d (want %d), %d rows", total, want, len(rows))
	}
	for i, c := range rows {
		if !strings.Contains(strings.ToLower(c.Name+c.Email), "grace") || (i > 0 && c.MRR > rows[i-1].MRR) {
			t.Fatalf("row %d: %+v (not matching, or not by MRR descending)", i, c)
		}
	}
	if rows, total, _ := queryCustomers(all, interval.TableState{Offset: 39, PageSize: 10, SortColumn: "name"}); total != 40 || len(rows) != 1 {
		t.Fatalf("last page: %d rows of %d", len(rows), total)
	}
	if rows, _, _ := queryCustomers(all, interval.TableState{Offset: 40, PageSize: 10}); rows != nil {
		t.Fatalf("past the end: %d rows", len(rows))
	}
}
