package interval

import (
	"context"
	"encoding/json"
	"fmt"
)

// ListInput is an input that takes several values (a Multiple() of an
// input that supports it: File, Search). Its value is a []T.
type ListInput[T any] struct {
	field[[]T]
	toWire func(T) (any, bool) // default value → wire value
}

// newList turns the single-value component core into a list of it.
func newList[T any](base component, elem func(json.RawMessage) (T, string), toWire func(T) (any, bool)) *ListInput[T] {
	l := &ListInput[T]{toWire: toWire}
	l.component = base
	l.multiple = true
	l.multiDef = nil
	l.bind(func(raw json.RawMessage) ([]T, string) {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, "Please choose one or more values."
		}
		out := make([]T, 0, len(items))
		for i, it := range items {
			v, msg := elem(it)
			if msg != "" {
				if len(items) > 1 {
					msg = fmt.Sprintf("Item %d: %s", i+1, msg)
				}
				return nil, msg
			}
			out = append(out, v)
		}
		return out, ""
	})
	return l
}

// Default sets the initially chosen values.
func (l *ListInput[T]) Default(values ...T) *ListInput[T] {
	def := make([]any, 0, len(values))
	for _, v := range values {
		if w, ok := l.toWire(v); ok {
			def = append(def, w)
		}
	}
	l.multiDef = def
	return l
}

// Optional lets the operator give no value; Value is then nil.
func (l *ListInput[T]) Optional() *ListInput[T] { l.optional = true; return l }

// Validate sets a check of the values.
func (l *ListInput[T]) Validate(fn func([]T) error) *ListInput[T] { l.validate = fn; return l }

// Run shows the input alone and returns the values.
func (l *ListInput[T]) Run(ctx context.Context) ([]T, error) { return l.run(ctx) }
