package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// SpreadsheetInput asks for rows of typed values in an editable grid; each
// row is decoded into a T.
type SpreadsheetInput[T any] struct {
	field[[]T]
	p    spreadsheetProps
	cols []sheetColumn
}

type sheetColumn struct {
	key      string
	kind     string // string, number, boolean
	optional bool
}

type spreadsheetProps struct {
	HelpText     string           `json:"helpText,omitempty"`
	Columns      sheetColumns     `json:"columns"`
	DefaultValue []map[string]any `json:"defaultValue,omitempty"`
}

// sheetColumns is the columns prop: a JSON object of column name → type
// ("string", "number?", ...) in the order of T's fields, which the console
// shows them in (a Go map would sort them by name).
type sheetColumns []sheetColumn

// MarshalJSON writes the columns as one JSON object, in order.
func (cs sheetColumns) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(c.key)
		if err != nil {
			return nil, err
		}
		kind := c.kind
		if c.optional {
			kind += "?"
		}
		b = append(append(append(b, k...), ':'), '"')
		b = append(append(b, kind...), '"')
	}
	return append(b, '}'), nil
}

// Spreadsheet asks for rows of values (INPUT_SPREADSHEET). The columns come
// from T's exported fields (named by their json tag): strings, numbers and
// booleans; pointer fields are optional columns. Run returns the rows
// decoded into T.
func Spreadsheet[T any](src Source, label string) *SpreadsheetInput[T] {
	s := &SpreadsheetInput[T]{field: newField[[]T](sourceOf(src), "INPUT_SPREADSHEET", label)}
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		s.err = fmt.Errorf("interval: Spreadsheet %q: %s is not a struct", label, t)
	}
	for i := 0; t.Kind() == reflect.Struct && i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		ft, optional := f.Type, false
		if ft.Kind() == reflect.Pointer {
			ft, optional = ft.Elem(), true
		}
		var kind string
		switch ft.Kind() {
		case reflect.String:
			kind = "string"
		case reflect.Bool:
			kind = "boolean"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			kind = "number"
		default:
			s.err = fmt.Errorf("interval: Spreadsheet %q: field %s has unsupported type %s", label, f.Name, f.Type)
			continue
		}
		s.cols = append(s.cols, sheetColumn{key: name, kind: kind, optional: optional})
	}
	s.p.Columns = s.cols
	s.props = func() any { return s.p }
	s.bind(s.decodeRows)
	return s
}

func (s *SpreadsheetInput[T]) decodeRows(raw json.RawMessage) ([]T, string) {
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, "Please enter the rows as a table."
	}
	out := make([]T, 0, len(rows))
	for i, r := range rows {
		for _, c := range s.cols {
			v, ok := r[c.key]
			if !ok || isNull(v) {
				if !c.optional {
					return nil, fmt.Sprintf("Row %d: %s is required.", i+1, c.key)
				}
				continue
			}
			var bad bool
			switch c.kind {
			case "string":
				_, msg := decodeJSON[string](v, "x")
				bad = msg != ""
			case "number":
				_, msg := decodeJSON[float64](v, "x")
				bad = msg != ""
			case "boolean":
				_, msg := decodeJSON[bool](v, "x")
				bad = msg != ""
			}
			if bad {
				return nil, fmt.Sprintf("Row %d: %s must be a %s.", i+1, c.key, c.kind)
			}
		}
		b, _ := json.Marshal(r)
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Sprintf("Row %d: %v.", i+1, err)
		}
		out = append(out, v)
	}
	return out, ""
}

// HelpText sets the text shown under the label.
func (s *SpreadsheetInput[T]) HelpText(t string) *SpreadsheetInput[T] { s.p.HelpText = t; return s }

// Default sets the initial rows.
func (s *SpreadsheetInput[T]) Default(rows ...T) *SpreadsheetInput[T] {
	s.p.DefaultValue = nil
	for _, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			s.err = fmt.Errorf("interval: Spreadsheet %q default row: %w", s.label, err)
			return s
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			s.err = fmt.Errorf("interval: Spreadsheet %q default row: %w", s.label, err)
			return s
		}
		s.p.DefaultValue = append(s.p.DefaultValue, m)
	}
	return s
}

// Optional lets the operator submit no rows.
func (s *SpreadsheetInput[T]) Optional() *SpreadsheetInput[T] { s.optional = true; return s }

// Validate sets a check of the rows.
func (s *SpreadsheetInput[T]) Validate(fn func([]T) error) *SpreadsheetInput[T] {
	s.validate = fn
	return s
}

// Run shows the spreadsheet alone and returns its rows.
func (s *SpreadsheetInput[T]) Run(ctx context.Context) ([]T, error) { return s.run(ctx) }
