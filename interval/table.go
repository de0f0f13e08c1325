package interval

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

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
	return wireCell{Label: c.Label, Value: c.Value, Href: c.Href, URL: c.URL, Image: c.Image.wire(),
		Route: c.Route, Params: c.Params, HighlightColor: c.HighlightColor}
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
	accessor := func(name string) (func(*T) any, error) {
		if isMap {
			return mapGetter[T](name), nil
		}
		f, ok := byKey[name]
		if !ok {
			return nil, fmt.Errorf("interval: table column %q: %s has no such field", name, t)
		}
		return fieldGetter[T](f.f.Index), nil
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
				out = append(out, colDef[T]{label: f.label, key: f.key, accessor: f.key, get: fieldGetter[T](f.f.Index)})
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
			g, err := accessor(c.Accessor)
			if err != nil {
				return nil, err
			}
			d.get = g
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
// (search, sort, page) with lazily built indexes: the rows' search texts
// and, per column, the rank of each row in sort order. A view is then a
// linear scan plus a radix sort of row numbers by rank.
type tableEngine[T any] struct {
	rows []T
	cols []colDef[T]
	menu func(T) []MenuItem

	mu      sync.Mutex
	filters []string
	ranks   map[string][]uint32
	last    struct {
		ok             bool
		query, col, dr string
		idx            []int32
	}
}

func newTableEngine[T any](rows []T, cols []colDef[T], menu func(T) []MenuItem) *tableEngine[T] {
	return &tableEngine[T]{rows: rows, cols: cols, menu: menu, ranks: map[string][]uint32{}}
}

// view returns the row numbers of the rows matching query in sort order,
// or nil for all rows in their order, and the number of rows in the view.
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
	var idx []int32
	if query != "" {
		q := strings.ToLower(query)
		fv := e.filterValues()
		idx = make([]int32, 0, 256)
		for i, s := range fv {
			if strings.Contains(s, q) {
				idx = append(idx, int32(i))
			}
		}
	} else {
		idx = make([]int32, len(e.rows))
		for i := range idx {
			idx[i] = int32(i)
		}
	}
	if c != nil {
		idx = sortByRank(idx, e.rankOf(c), dir == "desc")
	}
	e.last.ok, e.last.query, e.last.col, e.last.dr, e.last.idx = true, query, col, dir, idx
	return idx, len(idx)
}

// index builds every search and sort index now.
func (e *tableEngine[T]) index() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.filterValues()
	for i := range e.cols {
		e.rankOf(&e.cols[i])
	}
}

func (e *tableEngine[T]) filterValues() []string {
	if e.filters == nil {
		fv := make([]string, len(e.rows))
		var buf []byte
		for i := range e.rows {
			buf = e.appendFilter(buf[:0], &e.rows[i])
			fv[i] = string(buf)
		}
		e.filters = fv
	}
	return e.filters
}

// appendFilter appends the row's lower-cased search text: its cells'
// labels or values, space-separated (the Node SDK's filterValue).
func (e *tableEngine[T]) appendFilter(buf []byte, row *T) []byte {
	for i := range e.cols {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = appendFilterText(buf, e.cols[i].get(row))
	}
	return appendLower(buf)
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

// compareSortKeys orders numbers before strings and nulls last.
func compareSortKeys(a, b sortKey) int {
	if a.kind != b.kind {
		return cmp.Compare(a.kind, b.kind)
	}
	switch a.kind {
	case 0:
		return cmp.Compare(a.f, b.f)
	case 1:
		return collate(a.s, b.s)
	}
	return 0
}

// collate compares strings like JavaScript's localeCompare with
// {numeric: true} in the root locale, closely enough for sorting tables:
// runs of digits compare by numeric value; other characters compare
// case-insensitively with spaces and punctuation before digits before
// letters; ties break lower case first, then bytewise.
func collate(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			si := i
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			sj := j
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return cmp.Compare(len(na), len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		ra, sa := rune(a[i]), 1
		if ra >= utf8.RuneSelf {
			ra, sa = utf8.DecodeRuneInString(a[i:])
		}
		rb, sb := rune(b[j]), 1
		if rb >= utf8.RuneSelf {
			rb, sb = utf8.DecodeRuneInString(b[j:])
		}
		if ra != rb {
			if wa, wb := collWeight(ra), collWeight(rb); wa != wb {
				return cmp.Compare(wa, wb)
			}
		}
		i += sa
		j += sb
	}
	if c := cmp.Compare(len(a)-i, len(b)-j); c != 0 {
		return c
	}
	// Tertiary difference: lower case first.
	for k := 0; k < len(a) && k < len(b); k++ {
		if a[k] != b[k] {
			la, lb := unicode.IsLower(rune(a[k])), unicode.IsLower(rune(b[k]))
			if la != lb {
				if la {
					return -1
				}
				return 1
			}
			break
		}
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func collWeight(r rune) int64 {
	lr := unicode.ToLower(r)
	switch {
	case unicode.IsLetter(r):
		return 2<<32 | int64(lr)
	case unicode.IsDigit(r):
		return 1<<32 | int64(lr)
	}
	return int64(lr)
}

// rankOf returns each row's rank in the column's ascending order (equal
// values share a rank; nulls get MaxUint32).
func (e *tableEngine[T]) rankOf(c *colDef[T]) []uint32 {
	if r, ok := e.ranks[c.key]; ok {
		return r
	}
	n := len(e.rows)
	keys := make([]sortKey, n)
	allNum := true
	for i := range e.rows {
		keys[i] = sortKeyOf(c.get(&e.rows[i]))
		if keys[i].kind != 0 {
			allNum = false
		}
	}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	if allNum {
		slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(keys[a].f, keys[b].f) })
	} else {
		slices.SortFunc(order, func(a, b int32) int { return compareSortKeys(keys[a], keys[b]) })
	}
	ranks := make([]uint32, n)
	var r uint32
	for j, i := range order {
		if keys[i].kind == 2 {
			ranks[i] = math.MaxUint32
			continue
		}
		if j > 0 && compareSortKeys(keys[order[j-1]], keys[i]) != 0 {
			r++
		}
		ranks[i] = r
	}
	e.ranks[c.key] = ranks
	return ranks
}

// sortByRank stably sorts row numbers by rank (descending when desc, nulls
// last either way) with a two-pass LSD radix sort.
func sortByRank(idx []int32, rank []uint32, desc bool) []int32 {
	key := func(i int32) uint32 {
		r := rank[i]
		if desc && r != math.MaxUint32 {
			return math.MaxUint32 - 1 - r
		}
		return r
	}
	if len(idx) < 512 {
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(key(a), key(b)) })
		return idx
	}
	keys := make([]uint32, len(idx))
	for i, x := range idx {
		keys[i] = key(x)
	}
	tmpIdx := make([]int32, len(idx))
	tmpKeys := make([]uint32, len(idx))
	var count [1 << 16]int
	for shift := uint(0); shift < 32; shift += 16 {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&0xffff]++
		}
		sum := 0
		for b, c := range count {
			count[b] = sum
			sum += c
		}
		for i, k := range keys {
			b := (k >> shift) & 0xffff
			tmpIdx[count[b]] = idx[i]
			tmpKeys[count[b]] = k
			count[b]++
		}
		idx, tmpIdx = tmpIdx, idx
		keys, tmpKeys = tmpKeys, keys
	}
	return idx
}

// wireRows serializes rows [from, to) of a view (nil idx: the rows in
// order), keyed by their index in the data.
func (e *tableEngine[T]) wireRows(idx []int32, from, to int, withFilter bool) []wireRow {
	total := len(e.rows)
	if idx != nil {
		total = len(idx)
	}
	from, to = max(0, min(from, total)), max(0, min(to, total))
	out := make([]wireRow, 0, to-from)
	var buf []byte
	for p := from; p < to; p++ {
		i := p
		if idx != nil {
			i = int(idx[p])
		}
		row := &e.rows[i]
		wr := wireRow{Key: strconv.Itoa(i), Data: make(map[string]any, len(e.cols))}
		for _, c := range e.cols {
			wr.Data[c.key] = wireCellValue(c.get(row))
		}
		if e.menu != nil {
			wr.Menu = wireMenu(e.menu(*row))
			if wr.Menu == nil {
				wr.Menu = []buttonItem{}
			}
		}
		if withFilter {
			buf = e.appendFilter(buf[:0], row)
			wr.FilterValue = string(buf)
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
	values := map[string]any{}
	if len(meta) > 0 {
		var m struct {
			Values map[string]any `json:"values"`
		}
		if err := json.Unmarshal(meta, &m); err != nil {
			return nil, nil, fmt.Errorf("table props meta: %w", err)
		}
		values = m.Values
		if values == nil {
			values = map[string]any{}
		}
	}
	for _, p := range undef {
		values[p] = []string{protocol.AnnotUndefined}
	}
	meta, err = json.Marshal(protocol.Meta{Values: values})
	return plain, meta, err
}
