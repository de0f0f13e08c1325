package interval_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// TestParamsHelpers reads params of every wire type with each typed
// helper: conversions that make sense succeed, the others report false.
func TestParamsHelpers(t *testing.T) {
	when := time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		p := tx.Params
		var out []string
		for _, k := range []string{"s", "n", "f", "b", "d", "big", "sn", "sb", "nil", "missing"} {
			s, sok := p.String(k)
			i, iok := p.Int(k)
			f, fok := p.Float(k)
			b, bok := p.Bool(k)
			tm, tok := p.Time(k)
			out = append(out, fmt.Sprintf("%s:%q/%v %d/%v %v/%v %v/%v %v/%v", k, s, sok, i, iok, f, fok, b, bok, tm.Unix(), tok))
		}
		return out, nil
	}, intervaltest.WithParams(map[string]any{"s": "hello", "n": 42, "f": 2.5, "b": true, "d": when,
		"big": bigOf("12345678901234567"), "sn": "17", "sb": "false", "nil": nil}))
	res := a.result()
	got := fmt.Sprint(res.Data)
	want := fmt.Sprint([]string{
		`s:"hello"/true 0/false 0/false false/false -62135596800/false`,
		`n:"42"/true 42/true 42/true false/false -62135596800/false`,
		`f:"2.5"/true 0/false 2.5/true false/false -62135596800/false`,
		`b:"true"/true 0/false 0/false true/true -62135596800/false`,
		fmt.Sprintf(`d:"2024-03-09T12:00:00Z"/true 0/false 0/false false/false %d/true`, when.Unix()),
		`big:"12345678901234567"/true 12345678901234567/true 0/false false/false -62135596800/false`,
		`sn:"17"/true 17/true 17/true false/false -62135596800/false`,
		`sb:"false"/true 0/false 0/false false/true -62135596800/false`,
		`nil:""/false 0/false 0/false false/false -62135596800/false`,
		`missing:""/false 0/false 0/false false/false -62135596800/false`,
	})
	if got != want {
		t.Fatalf("params\n got %s\nwant %s", got, want)
	}
}
