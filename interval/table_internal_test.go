package interval

import (
	"bytes"
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type mixedRow struct {
	V any `json:"v"`
}

// TestTableOrderMatchesReference checks the radix/collation-key index
// against a plain stable sort with the reference comparison (numbers
// before strings, nulls last, ties in data order; descending reverses it, nulls first), both directions, with
// and without a search.
func TestTableOrderMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	words := []string{"apple", "Apple", "banana", "row 9", "row 10", "row 100", "Row 2", "zeta", "éclair", "a-b", "a b", "", "x1y", "x01y"}
	for _, n := range []int{10, 300, 3000} {
		rows := make([]mixedRow, n)
		for i := range rows {
			switch r.IntN(5) {
			case 0:
				rows[i].V = nil
			case 1:
				rows[i].V = float64(r.IntN(20)) - 5.5
			case 2:
				rows[i].V = r.IntN(2) == 0
			default:
				rows[i].V = words[r.IntN(len(words))] + strings.Repeat("q", r.IntN(3)) + strconv.Itoa(r.IntN(30))
			}
		}
		cols, err := resolveColumns[mixedRow](nil, rows)
		if err != nil {
			t.Fatal(err)
		}
		e := newTableEngine(rows, cols, nil)
		ref := func(desc bool, query string) []int32 {
			var idx []int32
			for i := range rows {
				var buf []byte
				if query == "" || strings.Contains(string(appendLower(e.appendFilter(buf, &rows[i]))), query) {
					idx = append(idx, int32(i))
				}
			}
			slices.SortStableFunc(idx, func(a, b int32) int {
				ka, kb := sortKeyOf(rows[a].V), sortKeyOf(rows[b].V)
				c := cmp.Compare(ka.kind, kb.kind)
				switch {
				case c != 0:
				case ka.kind == 0:
					c = cmp.Compare(ka.f, kb.f)
				case ka.kind == 1:
					c = bytes.Compare(collationKey(nil, ka.s), collationKey(nil, kb.s))
				}
				if desc {
					c = -c
				}
				return c
			})
			return idx
		}
		for _, q := range []string{"", "row", "1", "zz"} {
			for _, dir := range []string{"asc", "desc"} {
				e.last.ok = false
				got, total := e.view(q, "v", dir)
				want := ref(dir == "desc", q)
				if total != len(want) || !slices.Equal(got, want) {
					t.Fatalf("n=%d q=%q %s: got %v, want %v", n, q, dir, got[:min(20, len(got))], want[:min(20, len(want))])
				}
			}
		}
	}
}

func TestCollation(t *testing.T) {
	ordered := []string{"", " x", "-x", "1", "2", "10", "a", "A", "a2", "a10", "ab", "b", "row 9", "row 10", "Z", "é"}
	for i := 1; i < len(ordered); i++ {
		if collate(ordered[i-1], ordered[i]) >= 0 {
			t.Errorf("collate(%q, %q) >= 0", ordered[i-1], ordered[i])
		}
	}
	if collate("007", "7") == 0 || collate("row 9", "row 9") != 0 {
		t.Error("ties")
	}
}
