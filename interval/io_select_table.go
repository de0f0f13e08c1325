package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// SelectTableInput asks the operator to pick rows of a table; Run returns
// the picked rows (in their order in the data).
type SelectTableInput[T any] struct {
	field[[]T]
	t        tableCore[T]
	p        selectTableProps
	initial  func(T) bool
	selected []string // keys selected by the last state (select all)
}

type selectTableProps struct {
	HelpText        string       `json:"helpText,omitempty"`
	Columns         []wireColumn `json:"columns"`
	Data            []wireRow    `json:"data"`
	DefaultPageSize int          `json:"defaultPageSize,omitempty"`
	MinSelections   *int         `json:"minSelections,omitempty"`
	MaxSelections   *int         `json:"maxSelections,omitempty"`
	Disabled        bool         `json:"disabled,omitempty"`
	IsSortable      *bool        `json:"isSortable,omitempty"`
	IsFilterable    *bool        `json:"isFilterable,omitempty"`
	TotalRecords    int          `json:"totalRecords"`
	SelectedKeys    []string     `json:"selectedKeys"`
}

// SelectTable asks the operator to pick rows of a table (SELECT_TABLE).
// Columns, paging, search and sort work as in DisplayTable.
func SelectTable[T any](src Source, label string, rows []T) *SelectTableInput[T] {
	s := &SelectTableInput[T]{field: newField[[]T](sourceOf(src), "SELECT_TABLE", label)}
	s.t.label, s.t.rows = label, rows
	s.stateful = true
	s.rawProps = func() (any, json.RawMessage, error) {
		data, total, err := s.t.page(func(TableState) int { return tableBufferSize })
		if err != nil {
			return nil, nil, err
		}
		p := s.p
		p.Columns = wireColumns(s.t.resolve)
		p.Data = data
		p.TotalRecords = total
		p.SelectedKeys = s.selected
		if !s.t.touched {
			p.SelectedKeys = []string{}
			if s.initial != nil {
				for i, r := range s.t.rows {
					if s.initial(r) {
						p.SelectedKeys = append(p.SelectedKeys, strconv.Itoa(i))
					}
				}
			}
		}
		return serializeTableProps(p, data)
	}
	s.onState = func(ctx context.Context, raw json.RawMessage) error {
		all, err := s.t.setState(ctx, raw)
		if err != nil {
			return err
		}
		s.selected = []string{}
		if all {
			idx, total := s.t.engine.view(s.t.state.Query, s.t.state.SortColumn, s.t.state.SortDirection)
			s.selected = make([]string, total)
			for p := range total {
				i := p
				if idx != nil {
					i = int(idx[p])
				}
				s.selected[p] = strconv.Itoa(i)
			}
		}
		return nil
	}
	s.bind(func(raw json.RawMessage) ([]T, string) {
		var picked []struct {
			Key *string `json:"key"`
		}
		if err := json.Unmarshal(raw, &picked); err != nil {
			return nil, "Please select rows of the table."
		}
		chosen := make(map[int]bool, len(picked))
		for _, k := range picked {
			if k.Key == nil {
				return nil, "Please select rows of the table."
			}
			i, err := strconv.Atoi(*k.Key)
			if err != nil || i < 0 || i >= len(s.t.rows) || strconv.Itoa(i) != *k.Key {
				return nil, "Please select rows of the table."
			}
			chosen[i] = true
		}
		if s.p.MinSelections != nil && len(chosen) < *s.p.MinSelections {
			return nil, fmt.Sprintf("Please select at least %d rows.", *s.p.MinSelections)
		}
		if s.p.MaxSelections != nil && len(chosen) > *s.p.MaxSelections {
			return nil, fmt.Sprintf("Please select at most %d rows.", *s.p.MaxSelections)
		}
		out := make([]T, 0, len(chosen))
		for i := range s.t.rows {
			if chosen[i] {
				out = append(out, s.t.rows[i])
				if len(out) == len(chosen) {
					break
				}
			}
		}
		return out, ""
	})
	return s
}

// Columns sets the columns shown (default: one per field or map key).
func (s *SelectTableInput[T]) Columns(cols ...Column[T]) *SelectTableInput[T] {
	s.t.cols, s.t.resolve = cols, nil
	return s
}

// RowMenu adds a menu of links to each row.
func (s *SelectTableInput[T]) RowMenu(fn func(T) []MenuItem) *SelectTableInput[T] {
	s.t.menu, s.t.resolve = fn, nil
	return s
}

// InitiallySelected preselects the rows for which fn is true.
func (s *SelectTableInput[T]) InitiallySelected(fn func(T) bool) *SelectTableInput[T] {
	s.initial = fn
	return s
}

// MinSelections requires at least n rows.
func (s *SelectTableInput[T]) MinSelections(n int) *SelectTableInput[T] {
	n = max(n, 0)
	s.p.MinSelections = &n
	return s
}

// MaxSelections allows at most n rows (n ≥ 1).
func (s *SelectTableInput[T]) MaxSelections(n int) *SelectTableInput[T] {
	n = max(n, 1)
	s.p.MaxSelections = &n
	return s
}

// HelpText sets the text shown under the label.
func (s *SelectTableInput[T]) HelpText(t string) *SelectTableInput[T] { s.p.HelpText = t; return s }

// PageSize sets the number of rows per page.
func (s *SelectTableInput[T]) PageSize(n int) *SelectTableInput[T] {
	s.p.DefaultPageSize = max(n, 0)
	return s
}

// Sortable turns column sorting on or off (the console's default: on).
func (s *SelectTableInput[T]) Sortable(on bool) *SelectTableInput[T] { s.p.IsSortable = &on; return s }

// Filterable turns the search box on or off (the console's default: on).
func (s *SelectTableInput[T]) Filterable(on bool) *SelectTableInput[T] {
	s.p.IsFilterable = &on
	return s
}

// Disabled shows the table read-only.
func (s *SelectTableInput[T]) Disabled() *SelectTableInput[T] { s.p.Disabled = true; return s }

// Optional lets the operator submit without selecting.
func (s *SelectTableInput[T]) Optional() *SelectTableInput[T] { s.optional = true; return s }

// Validate sets a check of the selected rows.
func (s *SelectTableInput[T]) Validate(fn func([]T) error) *SelectTableInput[T] {
	s.validate = fn
	return s
}

// Index builds the search and sort indexes now (see TableDisplay.Index).
func (s *SelectTableInput[T]) Index() *SelectTableInput[T] {
	if s.t.ensure() == nil {
		s.t.engine.index()
	}
	return s
}

// Run shows the table alone and returns the selected rows.
func (s *SelectTableInput[T]) Run(ctx context.Context) ([]T, error) { return s.run(ctx) }
