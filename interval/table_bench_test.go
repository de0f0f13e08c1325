package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

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
