package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// Option is one choice of a select: what the operator sees (Label, with an
// optional Description and Image) and the Go value Run returns for it.
type Option[T any] struct {
	Label       string
	Value       T
	Description string
	Image       *Image
}

// OptionsOf returns one option per value, labelled with fmt.Sprint(value).
func OptionsOf[T any](values ...T) []Option[T] {
	out := make([]Option[T], len(values))
	for i, v := range values {
		out[i] = Option[T]{Label: fmt.Sprint(v), Value: v}
	}
	return out
}

type wireOption struct {
	Label       string     `json:"label"`
	Value       any        `json:"value"`
	Description string     `json:"description,omitempty"`
	Image       *wireImage `json:"image,omitempty"`
}

type labelValue struct {
	Label string `json:"label"`
	Value any    `json:"value"`
}

// optionSet maps options to wire values and answers back to options. Values
// of a primitive type (strings, numbers, booleans, time.Time) travel as
// themselves, like the Node SDK's; any other type travels as the option's
// index.
type optionSet[T any] struct {
	opts  []Option[T]
	wire  []any
	index map[string]int
}

func isPrimitiveType(t reflect.Type) bool {
	if t == reflect.TypeFor[time.Time]() {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func newOptionSet[T any](opts []Option[T]) (*optionSet[T], error) {
	s := &optionSet[T]{opts: opts, wire: make([]any, len(opts)), index: make(map[string]int, len(opts))}
	prim := isPrimitiveType(reflect.TypeFor[T]())
	for i, o := range opts {
		var w any = strconv.Itoa(i)
		if prim {
			w = o.Value
		}
		s.wire[i] = w
		k, err := compareKey(w)
		if err != nil {
			return nil, err
		}
		if _, dup := s.index[k]; dup {
			return nil, fmt.Errorf("interval: two options have the value %v", w)
		}
		s.index[k] = i
	}
	return s, nil
}

// compareKey is the Node SDK's `${typeof value}:${value}` (dates by their
// timestamp), computed from a Go value or from a decoded answer.
func compareKey(v any) (string, error) {
	plain, _, err := protocol.Serialize(v)
	if err != nil {
		return "", err
	}
	switch x := plain.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return "d:" + strconv.FormatInt(t.UnixMilli(), 10), nil
		}
		return "s:" + x, nil
	case bool:
		return "b:" + strconv.FormatBool(x), nil
	case int64:
		return "n:" + strconv.FormatFloat(float64(x), 'g', -1, 64), nil
	case uint64:
		return "n:" + strconv.FormatFloat(float64(x), 'g', -1, 64), nil
	case float64:
		return "n:" + strconv.FormatFloat(x, 'g', -1, 64), nil
	case time.Time:
		return "d:" + strconv.FormatInt(x.UnixMilli(), 10), nil
	}
	b, err := json.Marshal(plain)
	return "j:" + string(b), err
}

// find returns the option index of an answered {label, value}.
func (s *optionSet[T]) find(raw json.RawMessage) (int, bool) {
	var lv struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal(raw, &lv); err != nil || lv.Value == nil {
		return 0, false
	}
	k, err := compareKey(lv.Value)
	if err != nil {
		return 0, false
	}
	i, ok := s.index[k]
	return i, ok
}

// indexOf returns the index of the option whose value is v.
func (s *optionSet[T]) indexOf(v T) (int, bool) {
	if isPrimitiveType(reflect.TypeFor[T]()) {
		k, err := compareKey(v)
		if err != nil {
			return 0, false
		}
		i, ok := s.index[k]
		return i, ok
	}
	for i, o := range s.opts {
		if reflect.DeepEqual(o.Value, v) {
			return i, true
		}
	}
	return 0, false
}

func (s *optionSet[T]) rich(i int) wireOption {
	o := s.opts[i]
	return wireOption{Label: o.Label, Value: s.wire[i], Description: o.Description, Image: o.Image.wire()}
}

func (s *optionSet[T]) plain(i int) labelValue {
	return labelValue{Label: s.opts[i].Label, Value: s.wire[i]}
}

// SelectSingleInput asks the operator to choose one option; Run returns
// the chosen option's Value.
type SelectSingleInput[T any] struct {
	field[T]
	set *optionSet[T]
	p   selectSingleProps
	def int
}

type selectSingleProps struct {
	Options      []wireOption `json:"options"`
	HelpText     string       `json:"helpText,omitempty"`
	DefaultValue *wireOption  `json:"defaultValue,omitempty"`
	Searchable   bool         `json:"searchable,omitempty"`
	Disabled     bool         `json:"disabled,omitempty"`
}

// SelectSingle asks for one of options (SELECT_SINGLE) and returns the
// chosen option's Value, typed (among plain strings, use
// tx.IO.Select.Single):
//
//	plan, err := interval.SelectSingle(tx, "Plan", []interval.Option[Plan]{
//		{Label: "Free", Value: Free}, {Label: "Pro", Value: Pro, Description: "$10/month"},
//	}).Run(ctx)
func SelectSingle[T any](src Source, label string, options []Option[T]) *SelectSingleInput[T] {
	s := &SelectSingleInput[T]{field: newField[T](sourceOf(src), "SELECT_SINGLE", label), def: -1}
	set, err := newOptionSet(options)
	if err != nil {
		s.err = fmt.Errorf("interval: select %q: %w", label, err)
		set = &optionSet[T]{index: map[string]int{}}
	}
	s.set = set
	s.p.Options = make([]wireOption, len(set.opts))
	for i := range set.opts {
		s.p.Options[i] = set.rich(i)
	}
	s.props = func() any { return s.p }
	s.bind(func(raw json.RawMessage) (T, string) {
		var zero T
		i, ok := s.set.find(raw)
		if !ok {
			return zero, "Please choose one of the options."
		}
		return s.set.opts[i].Value, ""
	})
	return s
}

// Single asks for one of the given strings (SELECT_SINGLE): the way to
// select among strings. For options of another type, or with
// descriptions and images, use SelectSingle.
func (s SelectIO) Single(label string, options ...string) *SelectSingleInput[string] {
	return SelectSingle(s, label, OptionsOf(options...))
}

// HelpText sets the text shown under the label.
func (s *SelectSingleInput[T]) HelpText(t string) *SelectSingleInput[T] { s.p.HelpText = t; return s }

// Default preselects the option whose value is v (ignored when no option
// has it, as in the Node SDK).
func (s *SelectSingleInput[T]) Default(v T) *SelectSingleInput[T] {
	if i, ok := s.set.indexOf(v); ok {
		lv := s.set.plain(i)
		s.p.DefaultValue = &wireOption{Label: lv.Label, Value: lv.Value}
	}
	return s
}

// Searchable shows a search box to filter the options.
func (s *SelectSingleInput[T]) Searchable() *SelectSingleInput[T] { s.p.Searchable = true; return s }

// Disabled shows the select read-only.
func (s *SelectSingleInput[T]) Disabled() *SelectSingleInput[T] { s.p.Disabled = true; return s }

// Optional lets the operator choose nothing.
func (s *SelectSingleInput[T]) Optional() *SelectSingleInput[T] { s.optional = true; return s }

// Validate sets a check of the chosen value.
func (s *SelectSingleInput[T]) Validate(fn func(T) error) *SelectSingleInput[T] {
	s.validate = fn
	return s
}

// Run shows the select alone and returns the chosen value.
func (s *SelectSingleInput[T]) Run(ctx context.Context) (T, error) { return s.run(ctx) }

// SelectMultipleInput asks the operator to choose several options; Run
// returns the chosen options' values in the order of the options.
type SelectMultipleInput[T any] struct {
	field[[]T]
	set *optionSet[T]
	p   selectMultipleProps
}

type selectMultipleProps struct {
	Options       []labelValue `json:"options"`
	HelpText      string       `json:"helpText,omitempty"`
	DefaultValue  []labelValue `json:"defaultValue"`
	MinSelections *int         `json:"minSelections,omitempty"`
	MaxSelections *int         `json:"maxSelections,omitempty"`
	Disabled      bool         `json:"disabled,omitempty"`
}

// SelectMultiple asks for any number of options (SELECT_MULTIPLE) and
// returns the chosen values (among plain strings, use
// tx.IO.Select.Multiple). The wire shows only labels (no descriptions or
// images), as the protocol allows.
func SelectMultiple[T any](src Source, label string, options []Option[T]) *SelectMultipleInput[T] {
	s := &SelectMultipleInput[T]{field: newField[[]T](sourceOf(src), "SELECT_MULTIPLE", label)}
	set, err := newOptionSet(options)
	if err != nil {
		s.err = fmt.Errorf("interval: select %q: %w", label, err)
		set = &optionSet[T]{index: map[string]int{}}
	}
	s.set = set
	s.p.Options = make([]labelValue, len(set.opts))
	s.p.DefaultValue = []labelValue{}
	for i := range set.opts {
		s.p.Options[i] = set.plain(i)
	}
	s.props = func() any { return s.p }
	s.bind(func(raw json.RawMessage) ([]T, string) {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, "Please choose from the options."
		}
		chosen := make([]bool, len(s.set.opts))
		n := 0
		for _, it := range items {
			i, ok := s.set.find(it)
			if !ok {
				return nil, "Please choose from the options."
			}
			if !chosen[i] {
				chosen[i] = true
				n++
			}
		}
		if s.p.MinSelections != nil && n < *s.p.MinSelections {
			return nil, fmt.Sprintf("Please choose at least %d.", *s.p.MinSelections)
		}
		if s.p.MaxSelections != nil && n > *s.p.MaxSelections {
			return nil, fmt.Sprintf("Please choose at most %d.", *s.p.MaxSelections)
		}
		out := make([]T, 0, n)
		for i, c := range chosen {
			if c {
				out = append(out, s.set.opts[i].Value)
			}
		}
		return out, ""
	})
	return s
}

// Multiple asks for any of the given strings (SELECT_MULTIPLE): the way to
// select several among strings. For options of another type, or with
// descriptions and images, use SelectMultiple.
func (s SelectIO) Multiple(label string, options ...string) *SelectMultipleInput[string] {
	return SelectMultiple(s, label, OptionsOf(options...))
}

// HelpText sets the text shown under the label.
func (s *SelectMultipleInput[T]) HelpText(t string) *SelectMultipleInput[T] {
	s.p.HelpText = t
	return s
}

// Default preselects the options with these values (values no option has
// are ignored).
func (s *SelectMultipleInput[T]) Default(values ...T) *SelectMultipleInput[T] {
	s.p.DefaultValue = []labelValue{}
	for _, v := range values {
		if i, ok := s.set.indexOf(v); ok {
			s.p.DefaultValue = append(s.p.DefaultValue, s.set.plain(i))
		}
	}
	return s
}

// MinSelections requires at least n choices.
func (s *SelectMultipleInput[T]) MinSelections(n int) *SelectMultipleInput[T] {
	n = max(n, 0)
	s.p.MinSelections = &n
	return s
}

// MaxSelections allows at most n choices (n ≥ 1).
func (s *SelectMultipleInput[T]) MaxSelections(n int) *SelectMultipleInput[T] {
	n = max(n, 1)
	s.p.MaxSelections = &n
	return s
}

// Disabled shows the select read-only.
func (s *SelectMultipleInput[T]) Disabled() *SelectMultipleInput[T] { s.p.Disabled = true; return s }

// Optional lets the operator submit without answering.
func (s *SelectMultipleInput[T]) Optional() *SelectMultipleInput[T] { s.optional = true; return s }

// Validate sets a check of the chosen values.
func (s *SelectMultipleInput[T]) Validate(fn func([]T) error) *SelectMultipleInput[T] {
	s.validate = fn
	return s
}

// Run shows the select alone and returns the chosen values.
func (s *SelectMultipleInput[T]) Run(ctx context.Context) ([]T, error) { return s.run(ctx) }
