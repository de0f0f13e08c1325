package testhost

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Column is a table column.
type Column struct {
	Label       string `json:"label"`
	AccessorKey string `json:"accessorKey,omitempty"`
}

// Row is a table row on the wire.
type Row struct {
	Key         string         `json:"key"`
	Data        map[string]any `json:"data"`
	Menu        []any          `json:"menu,omitempty"`
	FilterValue string         `json:"filterValue,omitempty"`
}

// Rows turns records into wire rows keyed by their index.
func Rows(records []map[string]any) []Row {
	out := make([]Row, len(records))
	for i, r := range records {
		var parts []string
		for _, v := range r {
			parts = append(parts, strings.ToLower(cellText(v)))
		}
		slices.Sort(parts)
		out[i] = Row{Key: strconv.Itoa(i), Data: r, FilterValue: strings.Join(parts, " ")}
	}
	return out
}

func cellText(v any) string {
	if m, ok := v.(map[string]any); ok {
		if l, ok := m["label"]; ok {
			return fmt.Sprint(l)
		}
		return fmt.Sprint(m["value"])
	}
	return fmt.Sprint(v)
}

func sortKey(v any) any {
	if m, ok := v.(map[string]any); ok {
		if x, ok := m["value"]; ok {
			return x
		}
		return m["label"]
	}
	return v
}

func compareCells(a, b any) int {
	a, b = sortKey(a), sortKey(b)
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	fa, aok := toFloat(a)
	fb, bok := toFloat(b)
	if aok && bok {
		return cmp.Compare(fa, fb)
	}
	return strings.Compare(strings.ToLower(fmt.Sprint(a)), strings.ToLower(fmt.Sprint(b)))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// TableState is the SET_STATE of DISPLAY_TABLE and SELECT_TABLE.
type TableState struct {
	QueryTerm     string `json:"queryTerm"`
	SortColumn    string `json:"sortColumn"`
	SortDirection string `json:"sortDirection"`
	Offset        int    `json:"offset"`
	PageSize      int    `json:"pageSize"`
	IsSelectAll   bool   `json:"isSelectAll"`
}

// StaticTable is a table over in-memory rows that filters, sorts and pages
// on the host, as the Node SDK does for static data (PROTOCOL.md §5.3/5.4).
// Every state it receives is recorded in States.
type StaticTable struct {
	Rows   []Row
	Select bool // SELECT_TABLE: 500-row buffers

	mu     sync.Mutex
	states []TableState
}

// States returns the states received so far.
func (s *StaticTable) States() []TableState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.states)
}

func (s *StaticTable) window(st TableState) (rows []Row, total int) {
	all := s.Rows
	if q := strings.ToLower(strings.TrimSpace(st.QueryTerm)); q != "" {
		all = slices.DeleteFunc(slices.Clone(all), func(r Row) bool { return !strings.Contains(r.FilterValue, q) })
	}
	if st.SortColumn != "" && st.SortDirection != "" {
		all = slices.Clone(all)
		slices.SortStableFunc(all, func(a, b Row) int {
			c := compareCells(a.Data[st.SortColumn], b.Data[st.SortColumn])
			if st.SortDirection == "desc" {
				return -c
			}
			return c
		})
	}
	size := 500
	if !s.Select && st.PageSize > 0 {
		size = min(st.PageSize*3, 500)
	}
	lo := min(max(st.Offset, 0), len(all))
	hi := min(lo+size, len(all))
	return all[lo:hi], len(all)
}

// Comp returns the component (method DISPLAY_TABLE or SELECT_TABLE).
func (s *StaticTable) Comp(method, label string, columns []Column, extra map[string]any) *Comp {
	s.Select = method == "SELECT_TABLE"
	rows, total := s.window(TableState{})
	props := map[string]any{"columns": columns, "data": rows, "totalRecords": total, "isSortable": true, "isFilterable": true}
	if s.Select {
		props["selectedKeys"] = []string{}
	} else {
		props["orientation"] = "horizontal"
	}
	for k, v := range extra {
		props[k] = v
	}
	return &Comp{Method: method, Label: label, Props: props, OnState: func(raw json.RawMessage) map[string]any {
		var st TableState
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil
		}
		s.mu.Lock()
		s.states = append(s.states, st)
		s.mu.Unlock()
		rows, total := s.window(st)
		out := map[string]any{"data": rows, "totalRecords": total}
		if s.Select {
			keys := []string{}
			if st.IsSelectAll {
				for _, r := range rows {
					keys = append(keys, r.Key)
				}
			}
			out["selectedKeys"] = keys
		}
		return out
	}}
}
