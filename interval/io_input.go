package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// field is the typed part shared by inputs returning a T.
type field[T any] struct {
	component
	value    T
	validate func(T) error
	// decode is the value decoder without the user's validator; lists of
	// the same input (Multiple) reuse it per element.
	decode func(raw json.RawMessage) (T, string)
}

// Value is the operator's answer after Run (of the component or of its
// group); the zero value for an optional component left empty.
func (f *field[T]) Value() T { return f.value }

// Answered reports whether the operator gave a value; false for an
// optional component left empty, or before Run.
func (f *field[T]) Answered() bool { return f.present }

// bind sets the parse function: decode the raw value, check it, validate it.
func (f *field[T]) bind(decode func(raw json.RawMessage) (T, string)) {
	f.decode = decode
	f.clear = func() {
		var zero T
		f.value = zero
	}
	f.parse = func(raw json.RawMessage) (func(), string) {
		v, msg := decode(raw)
		if msg != "" {
			return nil, msg
		}
		if f.validate != nil {
			if err := f.validate(v); err != nil {
				return nil, err.Error()
			}
		}
		return func() { f.value = v }, ""
	}
}

func (f *field[T]) run(ctx context.Context) (T, error) {
	var zero T
	if _, err := f.io.run(ctx, []*component{&f.component}, nil, nil); err != nil {
		return zero, err
	}
	return f.value, nil
}

func newField[T any](c *ioClient, method, label string) field[T] {
	return field[T]{component: component{io: c, method: method, label: label}}
}

func decodeString(raw json.RawMessage) (string, string) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", "Please enter text."
	}
	return s, ""
}

// TextInput asks for a line (or lines) of text.
type TextInput struct {
	field[string]
	p textProps
}

type textProps struct {
	HelpText     string  `json:"helpText,omitempty"`
	Placeholder  string  `json:"placeholder,omitempty"`
	DefaultValue *string `json:"defaultValue,omitempty"`
	Multiline    bool    `json:"multiline,omitempty"`
	Lines        int     `json:"lines,omitempty"`
	MinLength    int     `json:"minLength,omitempty"`
	MaxLength    int     `json:"maxLength,omitempty"`
	Disabled     bool    `json:"disabled,omitempty"`
}

// Text asks for text (INPUT_TEXT).
func (in InputIO) Text(label string) *TextInput {
	t := &TextInput{field: newField[string](in.c, "INPUT_TEXT", label)}
	t.props = func() any { return t.p }
	t.bind(func(raw json.RawMessage) (string, string) {
		s, msg := decodeString(raw)
		if msg != "" {
			return "", msg
		}
		n := utf8.RuneCountInString(s)
		if t.p.MinLength > 0 && n < t.p.MinLength {
			return "", fmt.Sprintf("Please enter at least %d characters.", t.p.MinLength)
		}
		if t.p.MaxLength > 0 && n > t.p.MaxLength {
			return "", fmt.Sprintf("Please enter no more than %d characters.", t.p.MaxLength)
		}
		return s, ""
	})
	return t
}

// HelpText sets the text shown under the label.
func (t *TextInput) HelpText(s string) *TextInput { t.p.HelpText = s; return t }

// Placeholder sets the placeholder of the empty field.
func (t *TextInput) Placeholder(s string) *TextInput { t.p.Placeholder = s; return t }

// Default sets the initial value.
func (t *TextInput) Default(s string) *TextInput { t.p.DefaultValue = &s; return t }

// Multiline shows a text area of the given number of lines (0 = default).
func (t *TextInput) Multiline(lines int) *TextInput {
	t.p.Multiline = true
	t.p.Lines = lines
	return t
}

// MinLength and MaxLength bound the number of characters (0 = no bound).
func (t *TextInput) MinLength(n int) *TextInput { t.p.MinLength = max(n, 0); return t }

// MaxLength bounds the number of characters (0 = no bound).
func (t *TextInput) MaxLength(n int) *TextInput { t.p.MaxLength = max(n, 0); return t }

// Disabled shows the field read-only.
func (t *TextInput) Disabled() *TextInput { t.p.Disabled = true; return t }

// Optional lets the operator leave the field empty; Value is then "" and
// Answered false.
func (t *TextInput) Optional() *TextInput { t.optional = true; return t }

// Validate sets a check of the value; a non-nil error is shown on the field
// and the operator answers again.
func (t *TextInput) Validate(fn func(string) error) *TextInput { t.validate = fn; return t }

// Run shows the field alone and returns the operator's text.
func (t *TextInput) Run(ctx context.Context) (string, error) { return t.run(ctx) }

// EmailInput asks for an email address.
type EmailInput struct {
	field[string]
	p emailProps
}

type emailProps struct {
	HelpText     string  `json:"helpText,omitempty"`
	Placeholder  string  `json:"placeholder,omitempty"`
	DefaultValue *string `json:"defaultValue,omitempty"`
	Disabled     bool    `json:"disabled,omitempty"`
}

// Email asks for an email address (INPUT_EMAIL); the value is checked on
// the host too.
func (in InputIO) Email(label string) *EmailInput {
	e := &EmailInput{field: newField[string](in.c, "INPUT_EMAIL", label)}
	e.props = func() any { return e.p }
	e.bind(func(raw json.RawMessage) (string, string) {
		s, msg := decodeString(raw)
		if msg != "" {
			return "", msg
		}
		s = strings.TrimSpace(s)
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
			return "", "Please enter a valid email address."
		}
		return s, ""
	})
	return e
}

// HelpText sets the text shown under the label.
func (e *EmailInput) HelpText(s string) *EmailInput { e.p.HelpText = s; return e }

// Placeholder sets the placeholder of the empty field.
func (e *EmailInput) Placeholder(s string) *EmailInput { e.p.Placeholder = s; return e }

// Default sets the initial value.
func (e *EmailInput) Default(s string) *EmailInput { e.p.DefaultValue = &s; return e }

// Disabled shows the field read-only.
func (e *EmailInput) Disabled() *EmailInput { e.p.Disabled = true; return e }

// Optional lets the operator leave the field empty.
func (e *EmailInput) Optional() *EmailInput { e.optional = true; return e }

// Validate sets a check of the value.
func (e *EmailInput) Validate(fn func(string) error) *EmailInput { e.validate = fn; return e }

// Run shows the field alone and returns the address.
func (e *EmailInput) Run(ctx context.Context) (string, error) { return e.run(ctx) }

// Currency codes accepted by NumberInput.Currency.
const (
	USD = "USD"
	CAD = "CAD"
	EUR = "EUR"
	GBP = "GBP"
	AUD = "AUD"
	CNY = "CNY"
	JPY = "JPY"
)

// NumberInput asks for a number.
type NumberInput struct {
	field[float64]
	p numberProps
}

type numberProps struct {
	HelpText     string   `json:"helpText,omitempty"`
	Min          *float64 `json:"min,omitempty"`
	Max          *float64 `json:"max,omitempty"`
	Prepend      string   `json:"prepend,omitempty"`
	Placeholder  string   `json:"placeholder,omitempty"`
	DefaultValue *float64 `json:"defaultValue,omitempty"`
	Decimals     int      `json:"decimals,omitempty"`
	Currency     string   `json:"currency,omitempty"`
	Disabled     bool     `json:"disabled,omitempty"`
}

// Number asks for a number (INPUT_NUMBER). Without Decimals the value must
// be a whole number.
func (in InputIO) Number(label string) *NumberInput {
	n := &NumberInput{field: newField[float64](in.c, "INPUT_NUMBER", label)}
	n.props = func() any { return n.p }
	n.bind(func(raw json.RawMessage) (float64, string) {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, "Please enter a number."
		}
		if n.p.Min != nil && f < *n.p.Min {
			return 0, fmt.Sprintf("Please enter a number greater than or equal to %v.", *n.p.Min)
		}
		if n.p.Max != nil && f > *n.p.Max {
			return 0, fmt.Sprintf("Please enter a number less than or equal to %v.", *n.p.Max)
		}
		scale := math.Pow(10, float64(n.p.Decimals))
		if n.p.Currency != "" && n.p.Decimals == 0 {
			scale = 100
		}
		if r := math.Round(f * scale); math.Abs(r-f*scale) > 1e-6*math.Max(1, math.Abs(f*scale)) {
			if scale == 1 {
				return 0, "Please enter a whole number."
			}
			return 0, fmt.Sprintf("Please enter a number with at most %d decimal places.", int(math.Log10(scale)+0.5))
		}
		return f, ""
	})
	return n
}

// HelpText sets the text shown under the label.
func (n *NumberInput) HelpText(s string) *NumberInput { n.p.HelpText = s; return n }

// Placeholder sets the placeholder of the empty field.
func (n *NumberInput) Placeholder(s string) *NumberInput { n.p.Placeholder = s; return n }

// Default sets the initial value.
func (n *NumberInput) Default(v float64) *NumberInput { n.p.DefaultValue = &v; return n }

// Min sets the smallest accepted value.
func (n *NumberInput) Min(v float64) *NumberInput { n.p.Min = &v; return n }

// Max sets the largest accepted value.
func (n *NumberInput) Max(v float64) *NumberInput { n.p.Max = &v; return n }

// Decimals allows that many decimal places (default 0: whole numbers).
func (n *NumberInput) Decimals(d int) *NumberInput { n.p.Decimals = max(d, 0); return n }

// Currency shows the value as money in this currency (USD, CAD, EUR, GBP,
// AUD, CNY or JPY; another code makes Run fail), with two decimal places
// unless Decimals says otherwise.
func (n *NumberInput) Currency(code string) *NumberInput {
	n.p.Currency = code
	if !oneOf(code, USD, CAD, EUR, GBP, AUD, CNY, JPY) && n.err == nil {
		n.err = badValue(n.method, n.label, "currency", code, "USD, CAD, EUR, GBP, AUD, CNY or JPY")
	}
	return n
}

// Prepend shows a short text before the field, such as a unit.
func (n *NumberInput) Prepend(s string) *NumberInput { n.p.Prepend = s; return n }

// Disabled shows the field read-only.
func (n *NumberInput) Disabled() *NumberInput { n.p.Disabled = true; return n }

// Optional lets the operator leave the field empty.
func (n *NumberInput) Optional() *NumberInput { n.optional = true; return n }

// Validate sets a check of the value.
func (n *NumberInput) Validate(fn func(float64) error) *NumberInput { n.validate = fn; return n }

// Run shows the field alone and returns the number.
func (n *NumberInput) Run(ctx context.Context) (float64, error) { return n.run(ctx) }

// BooleanInput asks a yes/no question with a toggle.
type BooleanInput struct {
	field[bool]
	p booleanProps
}

type booleanProps struct {
	HelpText     string `json:"helpText,omitempty"`
	DefaultValue bool   `json:"defaultValue"`
	Disabled     bool   `json:"disabled,omitempty"`
}

// Boolean asks for true or false (INPUT_BOOLEAN).
func (in InputIO) Boolean(label string) *BooleanInput {
	b := &BooleanInput{field: newField[bool](in.c, "INPUT_BOOLEAN", label)}
	b.props = func() any { return b.p }
	b.bind(func(raw json.RawMessage) (bool, string) {
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return false, "Please choose yes or no."
		}
		return v, ""
	})
	return b
}

// HelpText sets the text shown under the label.
func (b *BooleanInput) HelpText(s string) *BooleanInput { b.p.HelpText = s; return b }

// Default sets the initial value.
func (b *BooleanInput) Default(v bool) *BooleanInput { b.p.DefaultValue = v; return b }

// Disabled shows the toggle read-only.
func (b *BooleanInput) Disabled() *BooleanInput { b.p.Disabled = true; return b }

// Optional lets the operator leave the toggle unanswered.
func (b *BooleanInput) Optional() *BooleanInput { b.optional = true; return b }

// Validate sets a check of the value.
func (b *BooleanInput) Validate(fn func(bool) error) *BooleanInput { b.validate = fn; return b }

// Run shows the toggle alone and returns its value.
func (b *BooleanInput) Run(ctx context.Context) (bool, error) { return b.run(ctx) }

// ConfirmInput asks the operator to confirm, with yes/no buttons.
type ConfirmInput struct {
	field[bool]
	p confirmProps
}

type confirmProps struct {
	HelpText string `json:"helpText,omitempty"`
}

// Confirm asks a yes/no question that must be shown alone (CONFIRM); Run
// returns whether the operator confirmed.
func (io *IO) Confirm(label string) *ConfirmInput {
	c := &ConfirmInput{field: newField[bool](io.c, "CONFIRM", label)}
	c.exclusive = true
	c.props = func() any { return c.p }
	c.bind(func(raw json.RawMessage) (bool, string) {
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return false, "Please confirm or cancel."
		}
		return v, ""
	})
	return c
}

// HelpText sets the text shown under the question.
func (c *ConfirmInput) HelpText(s string) *ConfirmInput { c.p.HelpText = s; return c }

// Run asks the question and returns the answer.
func (c *ConfirmInput) Run(ctx context.Context) (bool, error) { return c.run(ctx) }
