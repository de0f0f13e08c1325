package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
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

// SliderInput asks for a number on a slider between a minimum and a maximum.
type SliderInput struct {
	field[float64]
	p sliderProps
}

type sliderProps struct {
	Min          float64  `json:"min"`
	Max          float64  `json:"max"`
	Step         *float64 `json:"step,omitempty"`
	HelpText     string   `json:"helpText,omitempty"`
	DefaultValue *float64 `json:"defaultValue,omitempty"`
	Disabled     bool     `json:"disabled,omitempty"`
}

// Slider asks for a number between min and max with a slider
// (INPUT_SLIDER).
func (in InputIO) Slider(label string, min, max float64) *SliderInput {
	s := &SliderInput{field: newField[float64](in.c, "INPUT_SLIDER", label), p: sliderProps{Min: min, Max: max}}
	s.props = func() any { return s.p }
	s.bind(func(raw json.RawMessage) (float64, string) {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, "Please choose a number."
		}
		if f < s.p.Min || f > s.p.Max {
			return 0, fmt.Sprintf("Please choose a number between %v and %v.", s.p.Min, s.p.Max)
		}
		if s.p.Step != nil && *s.p.Step > 0 {
			n := (f - s.p.Min) / *s.p.Step
			if math.Abs(n-math.Round(n)) > 1e-9*math.Max(1, math.Abs(n)) {
				return 0, fmt.Sprintf("Please choose a multiple of %v from %v.", *s.p.Step, s.p.Min)
			}
		}
		return f, ""
	})
	return s
}

// HelpText sets the text shown under the label.
func (s *SliderInput) HelpText(t string) *SliderInput { s.p.HelpText = t; return s }

// Step sets the slider's increment.
func (s *SliderInput) Step(v float64) *SliderInput { s.p.Step = &v; return s }

// Default sets the initial value.
func (s *SliderInput) Default(v float64) *SliderInput { s.p.DefaultValue = &v; return s }

// Disabled shows the slider read-only.
func (s *SliderInput) Disabled() *SliderInput { s.p.Disabled = true; return s }

// Optional lets the operator leave the slider unanswered.
func (s *SliderInput) Optional() *SliderInput { s.optional = true; return s }

// Validate sets a check of the value.
func (s *SliderInput) Validate(fn func(float64) error) *SliderInput { s.validate = fn; return s }

// Run shows the slider alone and returns the number.
func (s *SliderInput) Run(ctx context.Context) (float64, error) { return s.run(ctx) }

// URLInput asks for a URL.
type URLInput struct {
	field[*url.URL]
	p urlProps
}

type urlProps struct {
	HelpText         string   `json:"helpText,omitempty"`
	Placeholder      string   `json:"placeholder,omitempty"`
	DefaultValue     *string  `json:"defaultValue,omitempty"`
	AllowedProtocols []string `json:"allowedProtocols"`
	Disabled         bool     `json:"disabled,omitempty"`
}

// URL asks for an absolute URL (INPUT_URL) whose scheme is one of the
// allowed protocols (default http and https).
func (in InputIO) URL(label string) *URLInput {
	u := &URLInput{field: newField[*url.URL](in.c, "INPUT_URL", label), p: urlProps{AllowedProtocols: []string{"http", "https"}}}
	u.props = func() any { return u.p }
	u.bind(func(raw json.RawMessage) (*url.URL, string) {
		s, msg := decodeString(raw)
		if msg != "" {
			return nil, "Please enter a URL."
		}
		v, err := url.Parse(strings.TrimSpace(s))
		if err != nil || v.Scheme == "" || (v.Host == "" && v.Opaque == "") {
			return nil, "Please enter a valid URL."
		}
		if !slices.ContainsFunc(u.p.AllowedProtocols, func(p string) bool { return strings.EqualFold(strings.TrimSuffix(p, ":"), v.Scheme) }) {
			return nil, fmt.Sprintf("Please enter a URL starting with %s.", strings.Join(u.p.AllowedProtocols, ", "))
		}
		return v, ""
	})
	return u
}

// HelpText sets the text shown under the label.
func (u *URLInput) HelpText(s string) *URLInput { u.p.HelpText = s; return u }

// Placeholder sets the placeholder of the empty field.
func (u *URLInput) Placeholder(s string) *URLInput { u.p.Placeholder = s; return u }

// Default sets the initial value.
func (u *URLInput) Default(s string) *URLInput { u.p.DefaultValue = &s; return u }

// AllowedProtocols replaces the accepted URL schemes (default http, https).
func (u *URLInput) AllowedProtocols(protocols ...string) *URLInput {
	u.p.AllowedProtocols = append([]string{}, protocols...)
	return u
}

// Disabled shows the field read-only.
func (u *URLInput) Disabled() *URLInput { u.p.Disabled = true; return u }

// Optional lets the operator leave the field empty; Value is then nil.
func (u *URLInput) Optional() *URLInput { u.optional = true; return u }

// Validate sets a check of the value.
func (u *URLInput) Validate(fn func(*url.URL) error) *URLInput { u.validate = fn; return u }

// Run shows the field alone and returns the parsed URL.
func (u *URLInput) Run(ctx context.Context) (*url.URL, error) { return u.run(ctx) }

// RichTextInput asks for formatted text; the value is HTML.
type RichTextInput struct {
	field[string]
	p emailProps // same props: helpText, placeholder, defaultValue, disabled
}

// RichText asks for formatted text with an editor (INPUT_RICH_TEXT); Run
// returns HTML. Sanitize it before showing it anywhere else.
func (in InputIO) RichText(label string) *RichTextInput {
	r := &RichTextInput{field: newField[string](in.c, "INPUT_RICH_TEXT", label)}
	r.props = func() any { return r.p }
	r.bind(decodeString)
	return r
}

// HelpText sets the text shown under the label.
func (r *RichTextInput) HelpText(s string) *RichTextInput { r.p.HelpText = s; return r }

// Placeholder sets the placeholder of the empty editor.
func (r *RichTextInput) Placeholder(s string) *RichTextInput { r.p.Placeholder = s; return r }

// Default sets the initial HTML.
func (r *RichTextInput) Default(html string) *RichTextInput { r.p.DefaultValue = &html; return r }

// Disabled shows the editor read-only.
func (r *RichTextInput) Disabled() *RichTextInput { r.p.Disabled = true; return r }

// Optional lets the operator leave the editor empty.
func (r *RichTextInput) Optional() *RichTextInput { r.optional = true; return r }

// Validate sets a check of the value.
func (r *RichTextInput) Validate(fn func(string) error) *RichTextInput { r.validate = fn; return r }

// Run shows the editor alone and returns the HTML.
func (r *RichTextInput) Run(ctx context.Context) (string, error) { return r.run(ctx) }

// DateInput asks for a calendar day.
type DateInput struct {
	field[Date]
	p dateProps[Date]
}

type dateProps[T any] struct {
	HelpText     string `json:"helpText,omitempty"`
	DefaultValue *T     `json:"defaultValue,omitempty"`
	Min          *T     `json:"min,omitempty"`
	Max          *T     `json:"max,omitempty"`
	Disabled     bool   `json:"disabled,omitempty"`
}

// Date asks for a calendar day (INPUT_DATE).
func (in InputIO) Date(label string) *DateInput {
	d := &DateInput{field: newField[Date](in.c, "INPUT_DATE", label)}
	d.props = func() any { return d.p }
	d.bind(func(raw json.RawMessage) (Date, string) {
		v, ok := decodeDate(raw)
		if !ok {
			return Date{}, "Please enter a valid date."
		}
		if d.p.Min != nil && v.before(*d.p.Min) {
			return Date{}, fmt.Sprintf("Please choose a date on or after %s.", d.p.Min)
		}
		if d.p.Max != nil && d.p.Max.before(v) {
			return Date{}, fmt.Sprintf("Please choose a date on or before %s.", d.p.Max)
		}
		return v, ""
	})
	return d
}

// HelpText sets the text shown under the label.
func (d *DateInput) HelpText(s string) *DateInput { d.p.HelpText = s; return d }

// Default sets the initial day; the zero Date removes it.
func (d *DateInput) Default(v Date) *DateInput { d.p.DefaultValue = nonZero(v); return d }

// Min sets the earliest accepted day; the zero Date removes the bound.
func (d *DateInput) Min(v Date) *DateInput { d.p.Min = nonZero(v); return d }

// Max sets the latest accepted day; the zero Date removes the bound.
func (d *DateInput) Max(v Date) *DateInput { d.p.Max = nonZero(v); return d }

// Disabled shows the picker read-only.
func (d *DateInput) Disabled() *DateInput { d.p.Disabled = true; return d }

// Optional lets the operator leave the field empty: Run then returns the
// zero Date (IsZero true, Time the zero time.Time) and Answered is false.
func (d *DateInput) Optional() *DateInput { d.optional = true; return d }

// Validate sets a check of the value.
func (d *DateInput) Validate(fn func(Date) error) *DateInput { d.validate = fn; return d }

// Run shows the picker alone and returns the day.
func (d *DateInput) Run(ctx context.Context) (Date, error) { return d.run(ctx) }

// TimeInput asks for a wall-clock time.
type TimeInput struct {
	field[TimeOfDay]
	p dateProps[TimeOfDay]
}

// Time asks for a time of day (INPUT_TIME).
func (in InputIO) Time(label string) *TimeInput {
	t := &TimeInput{field: newField[TimeOfDay](in.c, "INPUT_TIME", label)}
	t.props = func() any { return t.p }
	t.bind(func(raw json.RawMessage) (TimeOfDay, string) {
		v, ok := decodeTimeOfDay(raw)
		if !ok {
			return TimeOfDay{}, "Please enter a valid time."
		}
		if t.p.Min != nil && v.minutes() < t.p.Min.minutes() {
			return TimeOfDay{}, fmt.Sprintf("Please choose a time at or after %s.", t.p.Min)
		}
		if t.p.Max != nil && v.minutes() > t.p.Max.minutes() {
			return TimeOfDay{}, fmt.Sprintf("Please choose a time at or before %s.", t.p.Max)
		}
		return v, ""
	})
	return t
}

// HelpText sets the text shown under the label.
func (t *TimeInput) HelpText(s string) *TimeInput { t.p.HelpText = s; return t }

// Default sets the initial time.
func (t *TimeInput) Default(v TimeOfDay) *TimeInput { t.p.DefaultValue = &v; return t }

// Min sets the earliest accepted time.
func (t *TimeInput) Min(v TimeOfDay) *TimeInput { t.p.Min = &v; return t }

// Max sets the latest accepted time.
func (t *TimeInput) Max(v TimeOfDay) *TimeInput { t.p.Max = &v; return t }

// Disabled shows the picker read-only.
func (t *TimeInput) Disabled() *TimeInput { t.p.Disabled = true; return t }

// Optional lets the operator leave the field empty: Run then returns the
// zero TimeOfDay, which is also midnight, so tell an empty field by
// Answered (false).
func (t *TimeInput) Optional() *TimeInput { t.optional = true; return t }

// Validate sets a check of the value.
func (t *TimeInput) Validate(fn func(TimeOfDay) error) *TimeInput { t.validate = fn; return t }

// Run shows the picker alone and returns the time.
func (t *TimeInput) Run(ctx context.Context) (TimeOfDay, error) { return t.run(ctx) }

// DateTimeInput asks for a day and a time.
type DateTimeInput struct {
	field[DateTime]
	p dateProps[DateTime]
}

// DateTime asks for a day and a time of day (INPUT_DATETIME). Convert the
// answer with DateTime.Time(loc).
func (in InputIO) DateTime(label string) *DateTimeInput {
	d := &DateTimeInput{field: newField[DateTime](in.c, "INPUT_DATETIME", label)}
	d.props = func() any { return d.p }
	d.bind(func(raw json.RawMessage) (DateTime, string) {
		v, ok := decodeDateTime(raw)
		if !ok {
			return DateTime{}, "Please enter a valid date and time."
		}
		if d.p.Min != nil && v.before(*d.p.Min) {
			return DateTime{}, fmt.Sprintf("Please choose a time on or after %s.", d.p.Min)
		}
		if d.p.Max != nil && d.p.Max.before(v) {
			return DateTime{}, fmt.Sprintf("Please choose a time on or before %s.", d.p.Max)
		}
		return v, ""
	})
	return d
}

// HelpText sets the text shown under the label.
func (d *DateTimeInput) HelpText(s string) *DateTimeInput { d.p.HelpText = s; return d }

// Default sets the initial value; a DateTime without a day removes it.
func (d *DateTimeInput) Default(v DateTime) *DateTimeInput { d.p.DefaultValue = nonZero(v); return d }

// DefaultTime sets the initial value from t's day and time in t's location;
// the zero time.Time removes it.
func (d *DateTimeInput) DefaultTime(t time.Time) *DateTimeInput {
	if t.IsZero() {
		return d.Default(DateTime{})
	}
	return d.Default(DateTimeOf(t))
}

// Min sets the earliest accepted value; a DateTime without a day removes
// the bound.
func (d *DateTimeInput) Min(v DateTime) *DateTimeInput { d.p.Min = nonZero(v); return d }

// Max sets the latest accepted value; a DateTime without a day removes the
// bound.
func (d *DateTimeInput) Max(v DateTime) *DateTimeInput { d.p.Max = nonZero(v); return d }

// Disabled shows the picker read-only.
func (d *DateTimeInput) Disabled() *DateTimeInput { d.p.Disabled = true; return d }

// Optional lets the operator leave the field empty: Run then returns the
// zero DateTime (IsZero true, Time the zero time.Time) and Answered is
// false.
func (d *DateTimeInput) Optional() *DateTimeInput { d.optional = true; return d }

// Validate sets a check of the value.
func (d *DateTimeInput) Validate(fn func(DateTime) error) *DateTimeInput { d.validate = fn; return d }

// Run shows the picker alone and returns the value.
func (d *DateTimeInput) Run(ctx context.Context) (DateTime, error) { return d.run(ctx) }

// ConfirmIdentityInput asks the operator to confirm their identity (log in
// again) before continuing.
type ConfirmIdentityInput struct {
	field[bool]
	p confirmIdentityProps
}

type confirmIdentityProps struct {
	GracePeriodMs *int64 `json:"gracePeriodMs,omitempty"`
}

// ConfirmIdentity asks the operator to re-authenticate (CONFIRM_IDENTITY);
// it must be shown alone. Run returns whether the identity was confirmed.
func (io *IO) ConfirmIdentity(label string) *ConfirmIdentityInput {
	c := &ConfirmIdentityInput{field: newField[bool](io.ioc(), "CONFIRM_IDENTITY", label)}
	c.exclusive = true
	c.props = func() any { return c.p }
	c.bind(func(raw json.RawMessage) (bool, string) {
		v, msg := decodeJSON[bool](raw, "Please confirm your identity.")
		return v, msg
	})
	return c
}

// GracePeriod skips the check when the operator confirmed their identity
// less than d ago.
func (c *ConfirmIdentityInput) GracePeriod(d time.Duration) *ConfirmIdentityInput {
	ms := d.Milliseconds()
	c.p.GracePeriodMs = &ms
	return c
}

// Run asks for the confirmation and returns whether it was given.
func (c *ConfirmIdentityInput) Run(ctx context.Context) (bool, error) { return c.run(ctx) }

// nonZero returns a pointer to v, or nil for a value without a day (a
// bound or default that is not set).
func nonZero[T interface{ IsZero() bool }](v T) *T {
	if v.IsZero() {
		return nil
	}
	return &v
}
