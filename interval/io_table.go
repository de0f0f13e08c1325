package interval

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	xnumber "golang.org/x/text/number"

	"github.com/interval-go/sdk/internal/protocol"
)

// tableBufferSize is the Node SDK's TABLE_DATA_BUFFER_SIZE: the most rows
// one render carries.
const tableBufferSize = 500

// Highlight colours of table cells.
const (
	HighlightRed    = "red"
	HighlightOrange = "orange"
	HighlightYellow = "yellow"
	HighlightGreen  = "green"
	HighlightBlue   = "blue"
	HighlightPurple = "purple"
	HighlightPink   = "pink"
	HighlightGray   = "gray"
)

// Cell is a rich table cell: a Label shown for a Value (used for sorting),
// optionally a link (Href/URL, or Route with Params), an Image and a
// HighlightColor (HighlightRed, …).
type Cell struct {
	Label          string
	Value          any
	Href           string
	URL            string
	Route          string
	Params         map[string]any
	Image          *Image
	HighlightColor string
}

// knownHighlight drops a colour the protocol does not know (the console
// would refuse the table).
func knownHighlight(c string) string {
	if oneOf(c, HighlightRed, HighlightOrange, HighlightYellow, HighlightGreen, HighlightBlue, HighlightPurple, HighlightPink, HighlightGray) {
		return c
	}
	return ""
}

type wireCell struct {
	Label          string         `json:"label,omitempty"`
	Value          any            `json:"value,omitempty"`
	Href           string         `json:"href,omitempty"`
	URL            string         `json:"url,omitempty"`
	Image          *wireImage     `json:"image,omitempty"`
	Route          string         `json:"route,omitempty"`
	Params         map[string]any `json:"params,omitempty"`
	HighlightColor string         `json:"highlightColor,omitempty"`
}

func (c Cell) wire() wireCell {
	return wireCell{Label: c.Label, Value: c.Value, Href: c.Href, URL: c.URL, Image: c.Image.cellWire(),
		Route: c.Route, Params: c.Params, HighlightColor: knownHighlight(c.HighlightColor)}
}

// Column is one column of a table over rows of type T. Without columns, a
// table shows one column per exported struct field (or map key).
type Column[T any] struct {
	// Label is the column header.
	Label string
	// Accessor names the struct field (by json tag or Go name) or map key
	// the column shows; it is also the column's key on the wire
	// (accessorKey) and in TableState.SortColumn. Columns without one are
	// keyed by their index ("0", "1", …), like the Node SDK's.
	Accessor string
	// Value computes the cell's value instead of reading Accessor.
	Value func(T) any
	// Render computes a rich cell (label, link, image, highlight).
	Render func(T) Cell
}

// colDef is a resolved column.
type colDef[T any] struct {
	label    string
	key      string // data key: accessor or index
	accessor string // accessorKey on the wire ("" for none)
	get      func(*T) any
	// text and sortKey, when set, are allocation-free versions of
	// appendFilterText(get(row)) and sortKeyOf(get(row)) for plain fields.
	text    func(buf []byte, row *T) []byte
	sortKey func(row *T) sortKey
}

// fastField sets the allocation-free accessors of a struct field column
// whose type is a string, number, bool or time.Time (not a pointer).
func fastField[T any](d *colDef[T], ft reflect.Type, index []int) {
	field := func(row *T) (reflect.Value, bool) {
		v := reflect.ValueOf(row).Elem()
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return v, false
			}
			v = v.Elem()
		}
		return v.FieldByIndex(index), true
	}
	null := func(buf []byte) []byte { return append(buf, "null"...) }
	switch {
	case ft == reflect.TypeFor[time.Time]():
		d.text = func(buf []byte, row *T) []byte {
			f, ok := field(row)
			if !ok {
				return null(buf)
			}
			return f.Addr().Interface().(*time.Time).UTC().AppendFormat(buf, "1/2/2006")
		}
		d.sortKey = func(row *T) sortKey {
			f, ok := field(row)
			if !ok {
				return sortKey{kind: 2}
			}
			return sortKey{f: float64(f.Addr().Interface().(*time.Time).UnixMilli())}
		}
	case ft.Kind() == reflect.String:
		d.text = func(buf []byte, row *T) []byte {
			f, ok := field(row)
			if !ok {
				return null(buf)
			}
			return append(buf, f.String()...)
		}
		d.sortKey = func(row *T) sortKey {
			f, ok := field(row)
			if !ok {
				return sortKey{kind: 2}
			}
			return sortKey{kind: 1, s: f.String()}
		}
	case ft.Kind() == reflect.Bool:
		d.text = func(buf []byte, row *T) []byte {
			f, ok := field(row)
			if !ok {
				return null(buf)
			}
			return strconv.AppendBool(buf, f.Bool())
		}
		d.sortKey = func(row *T) sortKey {
			f, ok := field(row)
			if !ok {
				return sortKey{kind: 2}
			}
			if f.Bool() {
				return sortKey{f: 1}
			}
			return sortKey{}
		}
	case isNumberKind(ft.Kind()):
		num := func(f reflect.Value) float64 {
			switch {
			case f.CanInt():
				return float64(f.Int())
			case f.CanUint():
				return float64(f.Uint())
			}
			return f.Float()
		}
		d.text = func(buf []byte, row *T) []byte {
			f, ok := field(row)
			if !ok {
				return null(buf)
			}
			if f.CanInt() {
				return strconv.AppendInt(buf, f.Int(), 10)
			}
			return appendJSNumber(buf, num(f))
		}
		d.sortKey = func(row *T) sortKey {
			f, ok := field(row)
			if !ok {
				return sortKey{kind: 2}
			}
			x := num(f)
			if math.IsNaN(x) {
				return sortKey{kind: 2}
			}
			return sortKey{f: x}
		}
	}
}

type wireColumn struct {
	Label       string `json:"label"`
	AccessorKey string `json:"accessorKey,omitempty"`
}

// parseTag splits an `interval:"..."` tag: a first item without "=" is the
// label; "key=value" items and bare flags follow, comma-separated.
func parseTag(tag string) map[string]string {
	out := map[string]string{}
	if tag == "" {
		return out
	}
	for i, part := range strings.Split(tag, ",") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		switch {
		case ok:
			out[k] = v
		case i == 0 && k != "-" && !isTagFlag(k):
			out["label"] = part
		default:
			out[k] = ""
		}
	}
	return out
}

func isTagFlag(k string) bool {
	switch k {
	case "optional", "multiline", "email", "richtext", "url", "-":
		return true
	}
	return false
}

// structField is an exported field usable as a column or form field.
type structField struct {
	f     reflect.StructField
	key   string // json name or Go name
	label string
	tag   map[string]string
}

func structFields(t reflect.Type) []structField {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []structField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous || len(f.Index) > 1 && !promoted(t, f) {
			continue
		}
		tag := parseTag(f.Tag.Get("interval"))
		if _, skip := tag["-"]; skip {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key == "-" {
			continue
		}
		if key == "" {
			key = f.Name
		}
		label := tag["label"]
		if label == "" {
			label = key
		}
		out = append(out, structField{f: f, key: key, label: label, tag: tag})
	}
	return out
}

// promoted reports whether a field of an embedded struct is reachable
// without nil pointers (only value embeddings are followed).
func promoted(t reflect.Type, f reflect.StructField) bool {
	for _, i := range f.Index[:len(f.Index)-1] {
		ft := t.Field(i)
		if ft.Type.Kind() != reflect.Struct {
			return false
		}
		t = ft.Type
	}
	return true
}

// fieldGetter returns a getter of the field at index for rows of type T
// (a struct or a pointer to one).
func fieldGetter[T any](index []int) func(*T) any {
	return func(row *T) any {
		v := reflect.ValueOf(row).Elem()
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		f := v.FieldByIndex(index)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				return nil
			}
			if f.Type().Elem() != reflect.TypeFor[big.Int]() {
				f = f.Elem()
			}
		}
		return f.Interface()
	}
}

// mapGetter returns a getter of key for map rows.
func mapGetter[T any](key string) func(*T) any {
	return func(row *T) any {
		v := reflect.ValueOf(row).Elem()
		if v.Kind() != reflect.Map || v.IsNil() {
			return nil
		}
		e := v.MapIndex(reflect.ValueOf(key).Convert(v.Type().Key()))
		if !e.IsValid() {
			return nil
		}
		return e.Interface()
	}
}

// resolveColumns turns explicit columns, or T's fields / the rows' map
// keys, into column definitions.
func resolveColumns[T any](cols []Column[T], rows []T) ([]colDef[T], error) {
	t := reflect.TypeFor[T]()
	isMap := t.Kind() == reflect.Map && t.Key().Kind() == reflect.String
	fields := structFields(t)
	byKey := map[string]structField{}
	for _, f := range fields {
		byKey[f.key] = f
		if _, ok := byKey[f.f.Name]; !ok {
			byKey[f.f.Name] = f
		}
	}
	var fastAccessor func(*colDef[T]) // set by accessor for struct fields
	accessor := func(name string) (func(*T) any, error) {
		if isMap {
			return mapGetter[T](name), nil
		}
		f, ok := byKey[name]
		if !ok {
			return nil, fmt.Errorf("interval: table column %q: %s has no such field", name, t)
		}
		fastAccessor = func(d *colDef[T]) { fastField(d, f.f.Type, f.f.Index) }
		return moneyGetter(f, fieldGetter[T](f.f.Index))
	}
	if len(cols) == 0 {
		var out []colDef[T]
		switch {
		case isMap:
			keys := map[string]bool{}
			for i := range rows {
				for _, k := range reflect.ValueOf(rows[i]).MapKeys() {
					keys[k.String()] = true
				}
			}
			names := make([]string, 0, len(keys))
			for k := range keys {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				out = append(out, colDef[T]{label: k, key: k, accessor: k, get: mapGetter[T](k)})
			}
		case len(fields) > 0:
			for _, f := range fields {
				get, err := moneyGetter(f, fieldGetter[T](f.f.Index))
				if err != nil {
					return nil, err
				}
				d := colDef[T]{label: f.label, key: f.key, accessor: f.key, get: get}
				fastField(&d, f.f.Type, f.f.Index)
				out = append(out, d)
			}
		default:
			out = append(out, colDef[T]{label: "Value", key: "value", accessor: "value", get: func(r *T) any { return *r }})
		}
		return out, nil
	}
	out := make([]colDef[T], len(cols))
	for i, c := range cols {
		d := colDef[T]{label: c.Label, key: c.Accessor, accessor: c.Accessor}
		if d.key == "" {
			d.key = strconv.Itoa(i)
		}
		switch {
		case c.Render != nil:
			render := c.Render
			d.get = func(r *T) any { return render(*r) }
		case c.Value != nil:
			value := c.Value
			d.get = func(r *T) any { return value(*r) }
		case c.Accessor != "":
			fastAccessor = nil
			g, err := accessor(c.Accessor)
			if err != nil {
				return nil, err
			}
			d.get = g
			if fastAccessor != nil {
				fastAccessor(&d)
			}
		default:
			return nil, fmt.Errorf("interval: table column %d (%q) has no Accessor, Value or Render", i, c.Label)
		}
		if d.label == "" {
			d.label = c.Accessor
		}
		out[i] = d
	}
	return out, nil
}

// moneyGetter returns get, or for a number field tagged
// `interval:"currency=USD"` (any ISO 4217 code) a getter of cells that
// show the amount as money ("$1,234.50", the currency's own decimals) and
// keep the number as their value, which the console sorts, aligns and
// exports by.
func moneyGetter[T any](f structField, get func(*T) any) (func(*T) any, error) {
	code, ok := f.tag["currency"]
	if !ok {
		return get, nil
	}
	ft := f.f.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if !isNumberKind(ft.Kind()) {
		return nil, fmt.Errorf("interval: table column %q: currency=%s needs a number field, not %s", f.key, code, f.f.Type)
	}
	unit, err := currency.ParseISO(code)
	if err != nil {
		return nil, fmt.Errorf("interval: table column %q: currency=%q: %w", f.key, code, err)
	}
	scale, _ := currency.Standard.Rounding(unit)
	p := message.NewPrinter(language.AmericanEnglish)
	symbol := p.Sprint(currency.Symbol(unit))
	return func(r *T) any {
		v := reflect.ValueOf(get(r))
		if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
			return nil
		}
		v = reflect.Indirect(v)
		var n float64
		switch {
		case v.CanInt():
			n = float64(v.Int())
		case v.CanUint():
			n = float64(v.Uint())
		case v.CanFloat():
			n = v.Float()
		default:
			return get(r)
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return n
		}
		label := symbol + p.Sprint(xnumber.Decimal(math.Abs(n), xnumber.Scale(scale)))
		if n < 0 {
			label = "-" + label
		}
		return Cell{Label: label, Value: n}
	}, nil
}

// TableState is the operator's view of a table: the rows wanted (Offset,
// PageSize), the search Query, and the sort (SortColumn is a column key,
// SortDirection "asc", "desc" or "").
type TableState struct {
	Offset        int
	PageSize      int
	Query         string
	SortColumn    string
	SortDirection string
}

type wireTableState struct {
	QueryTerm     *string `json:"queryTerm"`
	SortColumn    *string `json:"sortColumn"`
	SortDirection *string `json:"sortDirection"`
	Offset        *int    `json:"offset"`
	PageSize      *int    `json:"pageSize"`
	IsSelectAll   bool    `json:"isSelectAll"`
}

func decodeTableState(raw json.RawMessage) (TableState, bool, error) {
	var w wireTableState
	if err := json.Unmarshal(raw, &w); err != nil {
		return TableState{}, false, fmt.Errorf("table state: %w", err)
	}
	var s TableState
	if w.PageSize == nil {
		return s, false, fmt.Errorf("table state without pageSize")
	}
	s.PageSize = *w.PageSize
	if w.Offset != nil {
		s.Offset = *w.Offset
	}
	if s.Offset < 0 || s.PageSize < 0 {
		return s, false, fmt.Errorf("table state with negative offset or pageSize")
	}
	s.PageSize = min(s.PageSize, tableBufferSize) // a page never needs more rows than a render carries
	if w.QueryTerm != nil {
		s.Query = *w.QueryTerm
	}
	if w.SortColumn != nil && w.SortDirection != nil {
		switch *w.SortDirection {
		case "asc", "desc":
			s.SortColumn, s.SortDirection = *w.SortColumn, *w.SortDirection
		default:
			return s, false, fmt.Errorf("table state with sortDirection %q", *w.SortDirection)
		}
	}
	return s, w.IsSelectAll, nil
}

type wireRow struct {
	Key         string         `json:"key"`
	Data        map[string]any `json:"data"`
	Menu        []buttonItem   `json:"menu"`
	FilterValue string         `json:"filterValue,omitempty"`
}

// tableEngine holds a static table's rows and answers views of them
// (search, sort, page) with lazily built indexes, like a database: one
// contiguous block of the rows' lower-cased search texts, scanned with
// bytes.Index, and per column the rows in sort order with each row's rank.
// A sorted view is then a slice of that order (or a filter of it by the
// search matches) and paging through a view reuses it.
type tableEngine[T any] struct {
	rows []T
	cols []colDef[T]
	menu func(T) []MenuItem

	mu     sync.Mutex
	blob   []byte  // search texts, each followed by 0
	starts []int32 // start of each row's text in blob; len(rows)+1 entries
	sorted map[string]*colIndex
	last   struct {
		ok             bool
		query, col, dr string
		idx            []int32
	}
}

// colIndex is a column's sort index.
type colIndex struct {
	rank []uint32 // per row; nulls get MaxUint32
	asc  []int32  // rows ascending, nulls last, ties in data order
	desc []int32  // rows descending, nulls last, ties in data order (lazy)
}

func newTableEngine[T any](rows []T, cols []colDef[T], menu func(T) []MenuItem) *tableEngine[T] {
	return &tableEngine[T]{rows: rows, cols: cols, menu: menu, sorted: map[string]*colIndex{}}
}

// view returns the row numbers of the rows matching query in sort order,
// or nil for all rows in their order, and the number of rows in the view.
// The returned slice must not be modified.
func (e *tableEngine[T]) view(query, col, dir string) ([]int32, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var c *colDef[T]
	if dir == "asc" || dir == "desc" {
		for i := range e.cols {
			if e.cols[i].key == col {
				c = &e.cols[i]
			}
		}
	}
	if query == "" && c == nil {
		return nil, len(e.rows)
	}
	if e.last.ok && e.last.query == query && e.last.col == col && e.last.dr == dir {
		return e.last.idx, len(e.last.idx)
	}
	var order []int32
	if c != nil {
		order = e.order(c, dir == "desc")
	}
	idx := order
	if query != "" {
		matches := e.search(strings.ToLower(query))
		switch {
		case c == nil:
			idx = matches
		case len(matches)*16 < len(e.rows):
			rank := e.sorted[c.key].rank
			desc := dir == "desc"
			slices.SortStableFunc(matches, func(a, b int32) int { return cmp.Compare(sortRank(rank[a], desc), sortRank(rank[b], desc)) })
			idx = matches
		default:
			in := make([]bool, len(e.rows))
			for _, i := range matches {
				in[i] = true
			}
			idx = make([]int32, 0, len(matches))
			for _, i := range order {
				if in[i] {
					idx = append(idx, i)
				}
			}
		}
	}
	e.last.ok, e.last.query, e.last.col, e.last.dr, e.last.idx = true, query, col, dir, idx
	return idx, len(idx)
}

func sortRank(r uint32, desc bool) uint32 {
	if desc {
		return math.MaxUint32 - r
	}
	return r
}

// index builds every search and sort index now.
func (e *tableEngine[T]) index() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buildSearch()
	for i := range e.cols {
		e.order(&e.cols[i], true)
	}
}

func (e *tableEngine[T]) buildSearch() {
	if e.starts != nil {
		return
	}
	starts := make([]int32, 0, len(e.rows)+1)
	// Size the block from 64 rows spread over the table.
	sample, probes := 0, min(len(e.rows), 64)
	var probe []byte
	for p := range probes {
		probe = e.appendFilter(probe[:0], &e.rows[p*len(e.rows)/probes])
		sample += len(probe) + 1
	}
	blob := make([]byte, 0, sample*len(e.rows)/max(1, probes)*9/8+64)
	for i := range e.rows {
		starts = append(starts, int32(len(blob)))
		n := len(blob)
		blob = e.appendFilter(blob, &e.rows[i])
		blob = append(blob[:n], appendLower(blob[n:])...)
		blob = append(blob, 0)
	}
	starts = append(starts, int32(len(blob)))
	e.blob, e.starts = blob, starts
}

// rowFilter returns row i's lower-cased search text (the filterValue),
// from the index when built.
func (e *tableEngine[T]) rowFilter(i int, buf *[]byte) string {
	e.mu.Lock()
	built := e.starts != nil
	e.mu.Unlock()
	if built {
		return string(e.blob[e.starts[i] : e.starts[i+1]-1])
	}
	*buf = appendLower(e.appendFilter((*buf)[:0], &e.rows[i]))
	return string(*buf)
}

// search returns the rows whose search text contains q, in data order.
// Large tables are scanned in parallel, one part per CPU.
func (e *tableEngine[T]) search(q string) []int32 {
	e.buildSearch()
	if strings.IndexByte(q, 0) >= 0 {
		return []int32{}
	}
	sep := []byte(q)
	parts := runtime.GOMAXPROCS(0)
	if len(e.blob) < 1<<22 || parts < 2 {
		return e.searchRows(sep, 0, len(e.rows), nil)
	}
	results := make([][]int32, parts)
	var wg sync.WaitGroup
	for p := range parts {
		from, to := len(e.rows)*p/parts, len(e.rows)*(p+1)/parts
		wg.Go(func() { results[p] = e.searchRows(sep, from, to, nil) })
	}
	wg.Wait()
	out := results[0]
	for _, r := range results[1:] {
		out = append(out, r...)
	}
	return out
}

// searchRows appends the rows in [from, to) whose text contains sep.
func (e *tableEngine[T]) searchRows(sep []byte, from, to int, out []int32) []int32 {
	if out == nil {
		out = make([]int32, 0, 64)
	}
	blob := e.blob[:e.starts[to]]
	row := from
	for pos := int(e.starts[from]); pos < len(blob); {
		j := bytes.Index(blob[pos:], sep)
		if j < 0 {
			break
		}
		at := int32(pos + j)
		// The row holding at: the last start ≤ at.
		row += sort.Search(to+1-row, func(k int) bool { return e.starts[row+k] > at }) - 1
		out = append(out, int32(row))
		row++
		pos = int(e.starts[row])
	}
	return out
}

// appendFilter appends the row's search text: its cells' labels or
// values, space-separated (the Node SDK's filterValue, not lower-cased).
func (e *tableEngine[T]) appendFilter(buf []byte, row *T) []byte {
	for i := range e.cols {
		if i > 0 {
			buf = append(buf, ' ')
		}
		if c := &e.cols[i]; c.text != nil {
			buf = c.text(buf, row)
		} else {
			buf = appendFilterText(buf, c.get(row))
		}
	}
	return buf
}

func appendLower(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return b
	}
	lower := strings.ToLower(string(b))
	return append(b[:0], lower...)
}

func appendFilterText(buf []byte, v any) []byte {
	switch x := v.(type) {
	case Cell:
		if x.Label != "" {
			return append(buf, x.Label...)
		}
		return buf
	case *Cell:
		if x != nil && x.Label != "" {
			return append(buf, x.Label...)
		}
		return buf
	case time.Time:
		return x.UTC().AppendFormat(buf, "1/2/2006")
	case nil:
		return append(buf, "null"...)
	case string:
		return append(buf, x...)
	case bool:
		return strconv.AppendBool(buf, x)
	case int:
		return strconv.AppendInt(buf, int64(x), 10)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case float64:
		return appendJSNumber(buf, x)
	}
	if f, ok := number(v); ok {
		return appendJSNumber(buf, f)
	}
	return fmt.Append(buf, v)
}

// appendJSNumber formats f as JavaScript's String(number) does for the
// usual ranges.
func appendJSNumber(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(buf, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}

// number converts Go numbers (and *big.Int) to float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case *big.Int:
		if x == nil {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// sortKey is a cell's sortable value: a number, a string or null.
type sortKey struct {
	kind uint8 // 0 number, 1 string, 2 null
	f    float64
	s    string
}

// sortKeyOf is the Node SDK's getSortableValue: a rich cell sorts by its
// value, else its label; dates by time, booleans as 0/1.
func sortKeyOf(v any) sortKey {
	switch x := v.(type) {
	case Cell:
		if x.Value != nil {
			return sortKeyOf(x.Value)
		}
		if x.Label != "" {
			return sortKey{kind: 1, s: x.Label}
		}
		return sortKey{kind: 2}
	case *Cell:
		if x == nil {
			return sortKey{kind: 2}
		}
		return sortKeyOf(*x)
	case nil:
		return sortKey{kind: 2}
	case string:
		return sortKey{kind: 1, s: x}
	case bool:
		if x {
			return sortKey{f: 1}
		}
		return sortKey{}
	case time.Time:
		return sortKey{f: float64(x.UnixMilli())}
	}
	if f, ok := number(v); ok {
		if math.IsNaN(f) {
			return sortKey{kind: 2}
		}
		return sortKey{f: f}
	}
	return sortKey{kind: 1, s: fmt.Sprint(v)}
}

// collationKey returns a byte string whose bytewise order sorts strings
// like JavaScript's localeCompare with {numeric: true} in the root locale,
// closely enough for tables: runs of digits compare by numeric value,
// letters case-insensitively, spaces and punctuation before digits before
// letters; ties break lower case first, then bytewise.
func collationKey(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isDigit(c):
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			num := strings.TrimLeft(s[i:j], "0")
			if num == "" {
				num = "0"
			}
			dst = append(dst, 0x30, byte(min(len(num), 255)))
			dst = append(dst, num...)
			i = j
		case c < utf8.RuneSelf:
			switch {
			case 'A' <= c && c <= 'Z':
				dst = append(dst, c+'a'-'A')
			case 'a' <= c && c <= 'z':
				dst = append(dst, c)
			default:
				dst = append(dst, punctWeight[c])
			}
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
			i += n
		}
	}
	dst = append(dst, 0)
	for i := 0; i < len(s); i++ { // tertiary: lower case first
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// punctWeight maps ASCII spaces, controls and punctuation to weights below
// the digit marker 0x30, keeping their ASCII order.
var punctWeight = func() (w [128]byte) {
	next := byte(1)
	for c := 0; c < 128; c++ {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			w[c] = min(next, 0x2f)
			next++
		}
	}
	return w
}()

// collate compares two strings by their collation keys.
func collate(a, b string) int {
	return bytes.Compare(collationKey(nil, a), collationKey(nil, b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// order returns the column's rows in ascending (or descending) order,
// building the column's index on first use. Ascending: numbers before
// strings, nulls last; descending is its reverse (nulls first), as in the
// Node SDK; ties stay in data order either way.
func (e *tableEngine[T]) order(c *colDef[T], desc bool) []int32 {
	ix := e.sorted[c.key]
	if ix == nil {
		ix = e.buildIndex(c)
		e.sorted[c.key] = ix
	}
	if !desc {
		return ix.asc
	}
	if ix.desc == nil {
		// Groups of equal rank from the highest (nulls first, as the Node
		// SDK's reversed comparison does), each in data order.
		d := make([]int32, 0, len(ix.asc))
		for hi := len(ix.asc); hi > 0; {
			lo := hi - 1
			for lo > 0 && ix.rank[ix.asc[lo-1]] == ix.rank[ix.asc[hi-1]] {
				lo--
			}
			d = append(d, ix.asc[lo:hi]...)
			hi = lo
		}
		ix.desc = d
	}
	return ix.desc
}

func (e *tableEngine[T]) buildIndex(c *colDef[T]) *colIndex {
	n := len(e.rows)
	var numRows, strRows, nullRows []int32
	nums := make([]float64, n)
	var strs [][]byte
	var arena []byte   // every string's collation key, back to back
	var spans [][2]int // each row's key in arena
	var raw []string
	size := 0
	for i := range e.rows {
		var k sortKey
		if c.sortKey != nil {
			k = c.sortKey(&e.rows[i])
		} else {
			k = sortKeyOf(c.get(&e.rows[i]))
		}
		switch k.kind {
		case 0:
			nums[i] = k.f
			numRows = append(numRows, int32(i))
		case 1:
			if spans == nil {
				spans = make([][2]int, n)
				raw = make([]string, n)
			}
			raw[i] = k.s
			size += 2*len(k.s) + 3
			strRows = append(strRows, int32(i))
		default:
			nullRows = append(nullRows, int32(i))
		}
	}
	if spans != nil {
		arena = make([]byte, 0, size)
		for _, i := range strRows {
			at := len(arena)
			arena = collationKey(arena, raw[i])
			spans[i] = [2]int{at, len(arena)}
		}
		raw = nil
		strs = make([][]byte, n)
		for _, i := range strRows {
			strs[i] = arena[spans[i][0]:spans[i][1]:spans[i][1]]
		}
	}
	// Numbers: radix sort of their order-preserving bit patterns.
	keys := make([]uint64, len(numRows))
	for j, i := range numRows {
		b := math.Float64bits(nums[i])
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[j] = b
	}
	numRows = radixSort(numRows, keys)
	// Strings: radix sort by 16 bytes after the common prefix, then sort
	// runs of equal prefixes by the whole key.
	if len(strRows) > 0 {
		first := strs[strRows[0]]
		common := len(first)
		for _, i := range strRows[1:] {
			k := strs[i]
			m := min(common, len(k))
			p := 0
			for p < m && k[p] == first[p] {
				p++
			}
			common = p
		}
		word := func(k []byte, off int) uint64 {
			var w uint64
			for b := range 8 {
				w <<= 8
				if off+b < len(k) {
					w |= uint64(k[off+b])
				}
			}
			return w
		}
		lo := make([]uint64, len(strRows))
		hi := make([]uint64, len(strRows))
		for j, i := range strRows {
			hi[j], lo[j] = word(strs[i], common), word(strs[i], common+8)
		}
		perm := make([]int32, len(strRows))
		for j := range perm {
			perm[j] = int32(j)
		}
		perm = radixSort(perm, lo)
		hi2 := make([]uint64, len(perm))
		for j, p := range perm {
			hi2[j] = hi[p]
		}
		perm = radixSort(perm, hi2)
		sorted := make([]int32, len(perm))
		for j, p := range perm {
			sorted[j] = strRows[p]
		}
		for a := 0; a < len(sorted); {
			b := a + 1
			for b < len(sorted) && hi[perm[b]] == hi[perm[a]] && lo[perm[b]] == lo[perm[a]] {
				b++
			}
			if b-a > 1 {
				slices.SortStableFunc(sorted[a:b], func(x, y int32) int { return bytes.Compare(strs[x], strs[y]) })
			}
			a = b
		}
		strRows = sorted
	}
	asc := make([]int32, 0, n)
	asc = append(append(append(asc, numRows...), strRows...), nullRows...)
	rank := make([]uint32, n)
	var r uint32
	for j, i := range asc {
		switch {
		case j < len(numRows):
			if j > 0 && nums[asc[j-1]] != nums[i] {
				r++
			}
		case j < len(numRows)+len(strRows):
			if j > 0 && (j == len(numRows) || !bytes.Equal(strs[asc[j-1]], strs[i])) {
				r++
			}
		default:
			rank[i] = math.MaxUint32
			continue
		}
		rank[i] = r
	}
	return &colIndex{rank: rank, asc: asc}
}

// radixSort stably sorts rows by keys (keys[j] belongs to rows[j]) with an
// LSD radix sort in 16-bit digits, skipping digits all keys share.
func radixSort(rows []int32, keys []uint64) []int32 {
	if len(rows) < 256 {
		type pair struct {
			k uint64
			r int32
		}
		ps := make([]pair, len(rows))
		for j := range rows {
			ps[j] = pair{keys[j], rows[j]}
		}
		slices.SortStableFunc(ps, func(a, b pair) int { return cmp.Compare(a.k, b.k) })
		for j := range ps {
			rows[j] = ps[j].r
		}
		return rows
	}
	var or, and uint64 = 0, math.MaxUint64
	for _, k := range keys {
		or |= k
		and &= k
	}
	diff := or ^ and
	tmpRows := make([]int32, len(rows))
	tmpKeys := make([]uint64, len(keys))
	count := make([]int, 1<<16)
	for shift := uint(0); shift < 64; shift += 16 {
		if (diff>>shift)&0xffff == 0 {
			continue
		}
		clear(count)
		for _, k := range keys {
			count[(k>>shift)&0xffff]++
		}
		sum := 0
		for b, c := range count {
			count[b] = sum
			sum += c
		}
		for j, k := range keys {
			d := (k >> shift) & 0xffff
			tmpRows[count[d]] = rows[j]
			tmpKeys[count[d]] = k
			count[d]++
		}
		rows, tmpRows = tmpRows, rows
		keys, tmpKeys = tmpKeys, keys
	}
	return rows
}

// wireRows serializes rows [from, to) of a view (nil idx: the rows in
// order), keyed by their index in the data.
func (e *tableEngine[T]) wireRows(idx []int32, from, to int, withFilter bool) []wireRow {
	from, to = viewWindow(idx, len(e.rows), from, to)
	out := make([]wireRow, 0, to-from)
	var buf []byte
	for p := from; p < to; p++ {
		i := viewRow(idx, p)
		row := &e.rows[i]
		wr := wireRow{Key: strconv.Itoa(i), Data: make(map[string]any, len(e.cols))}
		for _, c := range e.cols {
			wr.Data[c.key] = wireCellValue(c.get(row))
		}
		if e.menu != nil {
			wr.Menu = wireRowMenu(e.menu(*row))
			if wr.Menu == nil {
				wr.Menu = []buttonItem{}
			}
		}
		if withFilter {
			wr.FilterValue = e.rowFilter(i, &buf)
		}
		out = append(out, wr)
	}
	return out
}

func wireCellValue(v any) any {
	switch x := v.(type) {
	case Cell:
		return x.wire()
	case *Cell:
		if x == nil {
			return nil
		}
		return x.wire()
	}
	return v
}

func wireColumns[T any](cols []colDef[T]) []wireColumn {
	out := make([]wireColumn, len(cols))
	for i, c := range cols {
		out[i] = wireColumn{Label: c.label, AccessorKey: c.accessor}
	}
	return out
}

// serializeTableProps encodes table props with superjson and, like the
// Node SDK, marks the menu of each row without one as undefined.
func serializeTableProps(props any, rows []wireRow) (any, json.RawMessage, error) {
	plain, meta, err := protocol.Serialize(props)
	if err != nil {
		return nil, nil, err
	}
	var undef []string
	for i, r := range rows {
		if r.Menu == nil {
			undef = append(undef, "data."+strconv.Itoa(i)+".menu")
		}
	}
	if len(undef) == 0 {
		return plain, meta, nil
	}
	meta, err = addUndefined(meta, undef)
	return plain, meta, err
}

// viewWindow clamps [from, to) to a view of n rows (idx nil: all rows in
// order; otherwise the row indexes of the view).
func viewWindow(idx []int32, n, from, to int) (int, int) {
	if idx != nil {
		n = len(idx)
	}
	from, to = max(0, min(from, n)), max(0, min(to, n))
	return from, max(to, from)
}

// viewRow is the data index of position p of a view.
func viewRow(idx []int32, p int) int {
	if idx != nil {
		return int(idx[p])
	}
	return p
}
