package interval_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestDisplayGrid(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayGrid(tx.IO, "Cards", accounts(30), func(a account) interval.GridItem {
			return interval.GridItem{Label: a.Name, Description: strconv.Itoa(a.ID), Route: "accounts/show", Params: map[string]any{"id": a.ID},
				Image: &interval.GridImage{URL: "https://x/" + strconv.Itoa(a.ID), Fit: "cover"}}
		}).IdealColumnWidth(200).Run(ctx)
	}, intervaltest.WithoutAppendUI())
	r := a.next()
	var p struct {
		Data         []map[string]any `json:"data"`
		TotalRecords int              `json:"totalRecords"`
		IsFilterable bool             `json:"isFilterable"`
	}
	decodeFresh(t, mustRaw(t, r, "Cards"), &p)
	if len(p.Data) != 30 || p.TotalRecords != 30 || !p.IsFilterable || jsonOf(t, p.Data[2]) != `{"data":{"description":"2","image":{"fit":"cover","url":"https://x/2"},"label":"acct 2","params":{"id":2},"route":"accounts/show"},"filterValue":"2 acct 2 16 1/3/2024 null","key":"2"}` {
		t.Fatalf("grid %s", jsonOf(t, p.Data[2]))
	}
	a.setState(r, intervaltest.Values{"Cards": map[string]any{"queryTerm": "acct 3", "pageSize": 10}})
	r = a.next()
	decodeFresh(t, mustRaw(t, r, "Cards"), &p)
	if len(p.Data) != 4 || p.TotalRecords != 30 || p.Data[1]["key"] != "10" {
		t.Fatalf("after search %d rows, total %d", len(p.Data), p.TotalRecords)
	}
	a.answer(r, intervaltest.Values{})
	a.result()
}

func TestDisplayGridAsync(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayGridAsync(tx.IO, "Photos", func(ctx context.Context, s interval.TableState) ([]account, int, error) {
			return accounts(s.Offset + s.PageSize)[s.Offset:], 5000, nil
		}, func(a account) interval.GridItem { return interval.GridItem{Label: a.Name} }).Run(ctx)
	}, intervaltest.WithoutAppendUI())
	r := a.next()
	if got := mustComponent(t, r, "Photos").Props; got != `{"data":[],"isFilterable":true,"isAsync":true}` {
		t.Fatalf("initial %s", got)
	}
	a.setState(r, intervaltest.Values{"Photos": map[string]any{"offset": 40, "pageSize": 2}})
	r = a.next()
	if got := mustComponent(t, r, "Photos").Props; got != `{"data":[{"key":"40","data":{"label":"acct 5"},"filterValue":"40 acct 5 10 1/13/2024 null"},{"key":"41","data":{"label":"acct 6"},"filterValue":"41 acct 6 23 1/14/2024 null"}],"isFilterable":true,"totalRecords":5000,"isAsync":true}` {
		t.Fatalf("after state %s", got)
	}
	a.answer(r, intervaltest.Values{})
	a.result()
}
