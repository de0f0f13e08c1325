package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// TableFetcher loads one view of a table whose rows are not in memory:
// the rows from state.Offset (up to a few pages of state.PageSize) matching
// state.Query in the state's sort order, and the total number of matching
// rows.
type TableFetcher[T any] func(ctx context.Context, state TableState) (rows []T, total int, err error)

// tableCore is what display and select tables share: rows or a fetcher,
// columns, row menus and the operator's current view.
type tableCore[T any] struct {
	label  string
	rows   []T
	fetch  TableFetcher[T]
	cols   []Column[T]
	menu   func(T) []MenuItem
	engine *tableEngine[T]
	err    error

	state   TableState
	touched bool // a state update arrived
	fetched []T  // async: the rows of the last fetch
	total   int  // async: the total of the last fetch
	resolve []colDef[T]
}

func (t *tableCore[T]) ensure() error {
	if t.err != nil {
		return t.err
	}
	if t.resolve == nil {
		cols, err := resolveColumns(t.cols, t.rows)
		if err != nil {
			t.err = fmt.Errorf("interval: table %q: %w", t.label, err)
			return t.err
		}
		t.resolve = cols
		t.engine = newTableEngine(t.rows, cols, t.menu)
	}
	return nil
}

// page returns the rows to send and the view's total.
func (t *tableCore[T]) page(window func(TableState) int) ([]wireRow, int, error) {
	if err := t.ensure(); err != nil {
		return nil, 0, err
	}
	if t.fetch != nil {
		if !t.touched {
			return []wireRow{}, 0, nil
		}
		cols := t.resolve
		if len(t.cols) == 0 && len(t.fetched) > 0 {
			var err error
			if cols, err = resolveColumns(t.cols, t.fetched); err != nil {
				return nil, 0, err
			}
			t.resolve = cols
		}
		e := newTableEngine(t.fetched, cols, t.menu)
		rows := e.wireRows(nil, 0, len(t.fetched), true)
		for i := range rows {
			rows[i].Key = strconv.Itoa(t.state.Offset + i)
		}
		return rows, t.total, nil
	}
	if !t.touched {
		return t.engine.wireRows(nil, 0, tableBufferSize, true), len(t.rows), nil
	}
	idx, total := t.engine.view(t.state.Query, t.state.SortColumn, t.state.SortDirection)
	n := window(t.state)
	return t.engine.wireRows(idx, t.state.Offset, t.state.Offset+n, t.state.Query == ""), total, nil
}

// setState handles a SET_STATE: decode, store, fetch for async tables.
func (t *tableCore[T]) setState(ctx context.Context, raw json.RawMessage) (bool, error) {
	s, all, err := decodeTableState(raw)
	if err != nil {
		return false, err
	}
	if err := t.ensure(); err != nil {
		return false, err
	}
	if t.fetch != nil {
		rows, total, err := t.fetch(ctx, s)
		if err != nil {
			return false, fmt.Errorf("table %q data: %w", t.label, err)
		}
		t.fetched, t.total = rows, total
	}
	t.state, t.touched = s, true
	return all, nil
}

// TableDisplay shows rows of T as a table that the operator can page,
// search and sort; the host answers each view.
type TableDisplay[T any] struct {
	display
	t tableCore[T]
	p displayTableProps
}

type displayTableProps struct {
	HelpText        string       `json:"helpText,omitempty"`
	Columns         []wireColumn `json:"columns"`
	Data            []wireRow    `json:"data"`
	Orientation     string       `json:"orientation"`
	DefaultPageSize int          `json:"defaultPageSize,omitempty"`
	IsSortable      bool         `json:"isSortable"`
	IsFilterable    bool         `json:"isFilterable"`
	TotalRecords    *int         `json:"totalRecords,omitempty"`
	IsAsync         bool         `json:"isAsync"`
}

// DisplayTable shows rows (a slice of structs, pointers to structs or
// maps) as a table (DISPLAY_TABLE). Columns default to the exported
// fields (labelled by an `interval:"Label"` tag, keyed by the json name;
// a number field tagged `interval:"MRR,currency=USD"` shows as money,
// "$1,234.50", and sorts as a number). The first 500 rows are sent at once; paging beyond them, search and sort
// are answered by the host from rows, so millions of rows work.
func DisplayTable[T any](src Source, label string, rows []T) *TableDisplay[T] {
	d := &TableDisplay[T]{display: newDisplay(sourceOf(src), "DISPLAY_TABLE", label)}
	d.t.label, d.t.rows = label, rows
	d.init()
	return d
}

// DisplayTableAsync shows a table whose rows fetch loads per view (for
// data that does not fit in memory): the host calls it with the
// operator's offset, page size, search and sort.
func DisplayTableAsync[T any](src Source, label string, fetch TableFetcher[T]) *TableDisplay[T] {
	d := &TableDisplay[T]{display: newDisplay(sourceOf(src), "DISPLAY_TABLE", label)}
	d.t.label, d.t.fetch = label, fetch
	if fetch == nil {
		d.t.err = fmt.Errorf("interval: table %q: nil fetcher", label)
	}
	d.p.IsAsync = true
	d.init()
	return d
}

func (d *TableDisplay[T]) init() {
	d.stateful = true
	d.p.Orientation = "horizontal"
	d.p.IsSortable, d.p.IsFilterable = true, true
	d.rawProps = func() (any, json.RawMessage, error) {
		rows, total, err := d.t.page(func(s TableState) int { return min(s.PageSize*3, tableBufferSize) })
		if err != nil {
			return nil, nil, err
		}
		p := d.p
		p.Columns = wireColumns(d.t.resolve)
		p.Data = rows
		if d.t.fetch == nil || d.t.touched {
			p.TotalRecords = &total
		}
		return serializeTableProps(p, rows)
	}
	d.onState = func(ctx context.Context, raw json.RawMessage) error {
		_, err := d.t.setState(ctx, raw)
		return err
	}
}

// Columns sets the columns shown (default: one per field or map key).
func (d *TableDisplay[T]) Columns(cols ...Column[T]) *TableDisplay[T] {
	d.t.cols, d.t.resolve = cols, nil
	return d
}

// RowMenu adds a menu of links to each row.
func (d *TableDisplay[T]) RowMenu(fn func(T) []MenuItem) *TableDisplay[T] {
	d.t.menu, d.t.resolve = fn, nil
	return d
}

// HelpText sets the text shown under the label.
func (d *TableDisplay[T]) HelpText(s string) *TableDisplay[T] { d.p.HelpText = s; return d }

// PageSize sets the number of rows per page.
func (d *TableDisplay[T]) PageSize(n int) *TableDisplay[T] { d.p.DefaultPageSize = max(n, 0); return d }

// Vertical shows each row as a block of label/value lines instead of a
// horizontal table row.
func (d *TableDisplay[T]) Vertical() *TableDisplay[T] { d.p.Orientation = "vertical"; return d }

// Sortable turns column sorting on (default) or off.
func (d *TableDisplay[T]) Sortable(on bool) *TableDisplay[T] { d.p.IsSortable = on; return d }

// Filterable turns the search box on (default) or off.
func (d *TableDisplay[T]) Filterable(on bool) *TableDisplay[T] { d.p.IsFilterable = on; return d }

// Index builds the search and sort indexes of a large in-memory table now
// instead of on the operator's first search or sort of each column.
func (d *TableDisplay[T]) Index() *TableDisplay[T] {
	if d.t.ensure() == nil && d.t.fetch == nil {
		d.t.engine.index()
	}
	return d
}
