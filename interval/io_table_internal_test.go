package interval

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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

// FuzzComponentInput feeds arbitrary JSON to every component's answer
// parser and state handler: bad input gets a message or an error, never a
// panic.
func FuzzComponentInput(f *testing.F) {
	for _, seed := range []string{`null`, `1`, `"x"`, `"1:0"`, `"default:0"`, `[]`, `[{"key":"1"}]`, `[{"key":"-1"}]`,
		`{"offset":9223372036854775807,"pageSize":9223372036854775807}`, `{"offset":-1,"pageSize":1}`, `{"pageSize":5,"queryTerm":"a","sortColumn":"v","sortDirection":"desc","isSelectAll":true}`,
		`{"year":2024,"month":13,"day":1}`, `{"hour":-1,"minute":0}`, `{"label":"a","value":"a"}`, `[{"label":"a","value":1}]`,
		`{"name":"a.csv","url":"u","size":1e308,"lastModified":-1e308}`, `[{"name":null}]`, `{"files":[{"name":"a","type":"b"}]}`, `{"queryTerm":"q"}`} {
		f.Add([]byte(seed))
	}
	rows := []mixedRow{{V: 1.5}, {V: "a"}, {V: nil}, {V: true}}
	type sheet struct {
		N *int   `json:"n"`
		S string `json:"s"`
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		in, d := InputIO{}, DisplayIO{}
		comps := []Component{
			in.Text("t").MinLength(1), in.Email("e"), in.Number("n").Min(0).Decimals(1), in.Boolean("b"),
			in.Slider("s", 0, 1).Step(0.1), in.URL("u"), in.RichText("r"), in.Date("d").Min(Date{2024, 1, 1}),
			in.Time("tm"), in.DateTime("dt"), in.File("f").AllowedExtensions("csv"), in.File("fm").Multiple(),
			Spreadsheet[sheet](in, "sh"), SelectSingle(in, "ss", OptionsOf("a", "b")), SelectMultiple(in, "sm", OptionsOf(1, 2)).MaxSelections(1),
			SelectTable(in, "st", rows), DisplayTable(d, "dt", rows), DisplayGrid(d, "g", rows, func(mixedRow) GridItem { return GridItem{} }),
			Search(in, "q", func(context.Context, string) ([]int, error) { return []int{1}, nil }, func(int) SearchResult { return SearchResult{} }),
		}
		for _, c := range comps {
			cp := c.core()
			if cp.parse != nil {
				if commit, msg := cp.parse(raw); msg == "" && commit != nil {
					commit()
				}
			}
			if cp.onState != nil {
				_ = cp.onState(context.Background(), raw)
			}
			if _, err := cp.render(); err != nil {
				t.Fatalf("%s render after %s: %v", cp.method, raw, err)
			}
		}
	})
}

// A number column tagged currency=CODE shows money (symbol, grouping, the
// currency's decimals) and keeps the number as the cell's value, which
// the console sorts, aligns and exports by; a bad tag is an error.
func TestTableCurrencyColumns(t *testing.T) {
	type invoice struct {
		Amount float64  `json:"amount" interval:"Amount,currency=USD"`
		Yen    int      `json:"yen" interval:"currency=JPY"`
		Tip    *float64 `json:"tip" interval:"currency=EUR"`
	}
	tip := 0.5
	cols, err := resolveColumns[invoice](nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cells := func(r invoice) []any {
		var out []any
		for _, c := range cols {
			out = append(out, c.get(&r))
		}
		return out
	}
	got := cells(invoice{Amount: 1234.5, Yen: 98765, Tip: &tip})
	want := []any{Cell{Label: "$1,234.50", Value: 1234.5}, Cell{Label: "¥98,765", Value: 98765.0}, Cell{Label: "€0.50", Value: 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("cells %#v, want %#v", got, want)
	}
	if got := cells(invoice{Amount: -5})[0]; !reflect.DeepEqual(got, Cell{Label: "-$5.00", Value: -5.0}) {
		t.Fatalf("negative: %#v", got)
	}
	if got := cells(invoice{})[2]; got != nil {
		t.Fatalf("a nil amount: %#v", got)
	}
	b, _ := json.Marshal(wireCellValue(cells(invoice{Amount: 1})[0]))
	if string(b) != `{"label":"$1.00","value":1}` {
		t.Fatalf("wire %s", b)
	}

	type badKind struct {
		Name string `interval:"currency=USD"`
	}
	if _, err := resolveColumns[badKind](nil, nil); err == nil || !strings.Contains(err.Error(), "needs a number") {
		t.Fatalf("currency on a string: %v", err)
	}
	type badCode struct {
		N float64 `interval:"currency=DOLLARS"`
	}
	if _, err := resolveColumns[badCode](nil, nil); err == nil {
		t.Fatal("an unknown currency was accepted")
	}
}

// Benchmarks of a 1,000,000-row in-memory table: each op is one operator
// request (a SET_STATE) handled as the host does it: decode the state,
// compute the view, build and encode the re-render's props (superjson +
// JSON). Run: go test -run '^$' -bench Table -benchtime 20x ./interval/

type benchRow struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Score     float64   `json:"score"`
	CreatedAt time.Time `json:"createdAt"`
}

const benchRows = 1_000_000

var benchData = sync.OnceValue(func() []benchRow {
	rows := make([]benchRow, benchRows)
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		rows[i] = benchRow{ID: i, Name: "user " + strconv.Itoa(r.IntN(benchRows)), Email: "u" + strconv.Itoa(i) + "@example.com",
			Score: float64(r.IntN(100000)) / 100, CreatedAt: base.Add(time.Duration(r.IntN(1e6)) * time.Minute)}
	}
	return rows
})

func benchTable(b *testing.B, index bool) *TableDisplay[benchRow] {
	b.Helper()
	d := DisplayTable[benchRow](nil, "Users", benchData()).PageSize(20)
	if _, err := d.render(); err != nil {
		b.Fatal(err)
	}
	if index {
		d.Index()
	}
	return d
}

func benchRequest(b *testing.B, d *TableDisplay[benchRow], state string) int {
	if err := d.onState(context.Background(), json.RawMessage(state)); err != nil {
		b.Fatal(err)
	}
	r, err := d.render()
	if err != nil {
		b.Fatal(err)
	}
	out, err := json.Marshal(r)
	if err != nil {
		b.Fatal(err)
	}
	return len(out)
}

// BenchmarkTablePage: a page of 20 (60 rows sent) at a random offset.
func BenchmarkTablePage(b *testing.B) {
	d := benchTable(b, false)
	r := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for b.Loop() {
		benchRequest(b, d, fmt.Sprintf(`{"offset":%d,"pageSize":20}`, r.IntN(benchRows-60)))
	}
}

// BenchmarkTableSort: sort all rows by a column, alternating columns and
// directions so no view is reused (per-column rank indexes built by
// Index, see BenchmarkTableIndex).
func BenchmarkTableSort(b *testing.B) {
	d := benchTable(b, true)
	states := []string{
		`{"offset":0,"pageSize":20,"sortColumn":"score","sortDirection":"desc"}`,
		`{"offset":40,"pageSize":20,"sortColumn":"name","sortDirection":"asc"}`,
		`{"offset":0,"pageSize":20,"sortColumn":"createdAt","sortDirection":"asc"}`,
		`{"offset":20,"pageSize":20,"sortColumn":"name","sortDirection":"desc"}`,
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		benchRequest(b, d, states[i%len(states)])
		i++
	}
}

// BenchmarkTableSearch: a different search term each request (a scan of
// all rows' search texts), first page of the matches.
func BenchmarkTableSearch(b *testing.B) {
	d := benchTable(b, true)
	r := rand.New(rand.NewPCG(5, 6))
	b.ResetTimer()
	for b.Loop() {
		benchRequest(b, d, fmt.Sprintf(`{"offset":0,"pageSize":20,"queryTerm":"user %d"}`, r.IntN(1000)))
	}
}

// BenchmarkTableSearchSort: search and sort the matches.
func BenchmarkTableSearchSort(b *testing.B) {
	d := benchTable(b, true)
	r := rand.New(rand.NewPCG(7, 8))
	b.ResetTimer()
	for b.Loop() {
		benchRequest(b, d, fmt.Sprintf(`{"offset":0,"pageSize":20,"queryTerm":"user %d","sortColumn":"score","sortDirection":"desc"}`, r.IntN(100)))
	}
}

// BenchmarkTableIndex: the one-time cost of the search index and the
// sort ranks of every column (paid on the first search or sort of each
// column, or up front with Index).
func BenchmarkTableIndex(b *testing.B) {
	for b.Loop() {
		d := DisplayTable[benchRow](nil, "Users", benchData())
		d.Index()
	}
}
