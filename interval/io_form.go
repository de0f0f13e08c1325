package interval

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// FormInput renders a struct type as a form: one input per exported field.
// Run returns a filled T.
type FormInput[T any] struct {
	c        *ioClient
	title    string
	heading  *HeadingDisplay
	fields   []*formField
	err      error
	validate func(*T) error
	choices  []Choice
	choice   string
	loc      *time.Location
}

type formField struct {
	name  string // Go field name
	key   string // json name
	index []int
	comp  Component
	// set stores the component's value in the field; def shows the
	// field's value as the component's default.
	set func(dst reflect.Value)
	def func(src reflect.Value)
}

// store sets the field (allocating pointer fields) from a value, or
// clears it when the input was not answered.
func (ff *formField) store(dst reflect.Value, v reflect.Value, answered bool) {
	fv := dst.FieldByIndex(ff.index)
	if !answered {
		fv.SetZero()
		return
	}
	if fv.Kind() == reflect.Pointer {
		p := reflect.New(fv.Type().Elem())
		p.Elem().Set(v.Convert(fv.Type().Elem()))
		fv.Set(p)
		return
	}
	fv.Set(v.Convert(fv.Type()))
}

// current returns the field's value for defaults (ok false when zero or
// nil).
func (ff *formField) current(src reflect.Value) (reflect.Value, bool) {
	fv := src.FieldByIndex(ff.index)
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return fv, false
		}
		return fv.Elem(), true
	}
	return fv, !fv.IsZero()
}

// valued is an input whose value a form field can take as it is.
type valued[V any] interface {
	Component
	Value() V
	Answered() bool
}

// bindValue makes c the field's input, optional when the field is: the
// field takes c's value (converted to the field's type) and c's default is
// the field's current value, given to setDefault.
func bindValue[V any](ff *formField, c valued[V], optional bool, setDefault func(V)) {
	c.core().optional = optional
	ff.comp = c
	ff.set = func(dst reflect.Value) { ff.store(dst, reflect.ValueOf(c.Value()), c.Answered()) }
	ff.def = func(src reflect.Value) {
		if v, ok := ff.current(src); ok {
			setDefault(v.Convert(reflect.TypeFor[V]()).Interface().(V))
		}
	}
}

// FormError is returned by a form's Validate function to show Message on
// the input of the struct field named Field (its Go or json name).
type FormError struct {
	Field   string
	Message string
}

// Error returns "Field: Message".
func (e *FormError) Error() string { return e.Field + ": " + e.Message }

// Form asks for a T, a struct, with one input per exported field, shown
// together as one form under a heading (title; "" for none). Field types:
// string, bool, every int, uint and float type, time.Time (asked as a
// date and time in UTC, see Location), Date,
// TimeOfDay, DateTime, pointers to these (optional fields), and []string
// with options. The `interval` tag configures a field, comma-separated:
//
//	Name  string    `interval:"Full name,help=As on the passport,min=2,max=80"`
//	Email string    `interval:"email"`
//	Bio   string    `interval:"label=About you,multiline=4,optional"`
//	Age   int       `interval:"min=18,max=130"`
//	Price float64   `interval:"decimals=2,currency=EUR"`
//	Plan  string    `interval:"options=free|pro|team"`
//	Tags  []string  `interval:"options=a|b|c,min=1"`
//	Start time.Time `interval:"label=Starts at"`
//	Notes string    `interval:"-"` // not in the form
//
// A first item without "=" is the label (default: the field name in
// words, by the rule that names slugs: "FirstName" → "First name", "UserID"
// → "User id"). min/max bound lengths of strings, values of numbers and the
// count of []string choices; other keys: help, placeholder, optional,
// multiline[=lines], email, richtext, url, decimals, currency, options.
func Form[T any](src Source, title string) *FormInput[T] {
	f := &FormInput[T]{c: sourceOf(src), title: title, loc: time.UTC}
	if title != "" {
		f.heading = DisplayIO{f.c}.Heading(title)
	}
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		f.err = fmt.Errorf("interval: Form: %s is not a struct", t)
		return f
	}
	for _, sf := range structFields(t) {
		ff, err := buildField(f.c, func() *time.Location { return f.loc }, sf)
		if err != nil {
			f.err = fmt.Errorf("interval: Form field %s: %w", sf.f.Name, err)
			return f
		}
		f.fields = append(f.fields, ff)
	}
	if len(f.fields) == 0 {
		f.err = fmt.Errorf("interval: Form: %s has no exported fields", t)
	}
	return f
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	dateType      = reflect.TypeFor[Date]()
	timeOfDayType = reflect.TypeFor[TimeOfDay]()
	dateTimeType  = reflect.TypeFor[DateTime]()
)

func tagFloat(tag map[string]string, key string) (*float64, error) {
	s, ok := tag[key]
	if !ok {
		return nil, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return nil, fmt.Errorf("tag %s=%q is not a number", key, s)
	}
	return &v, nil
}

func isNumberKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		return true
	}
	return isUintKind(k)
}

func isUintKind(k reflect.Kind) bool {
	switch k {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// parseScalar parses an option of a string, bool or number field.
func parseScalar(t reflect.Type, s string) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	switch {
	case t.Kind() == reflect.String:
		v.SetString(s)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return v, fmt.Errorf("option %q is not a bool", s)
		}
		v.SetBool(b)
	case isUintKind(t.Kind()):
		u, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return v, fmt.Errorf("option %q is not a %s", s, t)
		}
		v.SetUint(u)
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil {
			return v, fmt.Errorf("option %q is not a %s", s, t)
		}
		v.SetFloat(f)
	default:
		i, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return v, fmt.Errorf("option %q is not a %s", s, t)
		}
		v.SetInt(i)
	}
	return v, nil
}

// Location sets the time zone in which time.Time fields are asked and
// read (default UTC).
func (f *FormInput[T]) Location(loc *time.Location) *FormInput[T] {
	if loc != nil {
		f.loc = loc
	}
	return f
}

// Default prefills the form with v's non-zero fields.
func (f *FormInput[T]) Default(v T) *FormInput[T] {
	src := reflect.ValueOf(&v).Elem()
	for _, ff := range f.fields {
		ff.def(src)
	}
	return f
}

// Validate sets a check of the whole filled T. Return a *FormError to show
// the message on one field's input; any other error is shown on the form.
func (f *FormInput[T]) Validate(fn func(*T) error) *FormInput[T] { f.validate = fn; return f }

// WithChoices replaces the submit button with these buttons; Choice then
// returns the one clicked.
func (f *FormInput[T]) WithChoices(choices ...Choice) *FormInput[T] { f.choices = choices; return f }

// Choice is the value of the button the operator clicked ("" for the
// default submit button), after Run.
func (f *FormInput[T]) Choice() string { return f.choice }

// Field returns the input built for the struct field named name (Go or
// json name), to adjust it before Run, or nil.
func (f *FormInput[T]) Field(name string) Component {
	for _, ff := range f.fields {
		if ff.name == name || ff.key == name {
			return ff.comp
		}
	}
	return nil
}

func (f *FormInput[T]) fill() T {
	var v T
	dst := reflect.ValueOf(&v).Elem()
	for _, ff := range f.fields {
		ff.set(dst)
	}
	return v
}

// Run shows the form and returns the filled T once every field and the
// Validate function accept the answers.
func (f *FormInput[T]) Run(ctx context.Context) (T, error) {
	var zero T
	if f.err != nil {
		return zero, f.err
	}
	comps := make([]*component, 0, len(f.fields)+1)
	if f.heading != nil {
		comps = append(comps, f.heading.core())
	}
	for _, ff := range f.fields {
		comps = append(comps, ff.comp.core())
	}
	var validate func(string) error
	if f.validate != nil {
		validate = func(string) error {
			v := f.fill()
			err := f.validate(&v)
			var fe *FormError
			if errors.As(err, &fe) {
				if c := f.Field(fe.Field); c != nil {
					return FieldError(c, fe.Message)
				}
			}
			return err
		}
	}
	choice, err := f.c.run(ctx, comps, f.choices, validate)
	if err != nil {
		return zero, err
	}
	f.choice = choice
	return f.fill(), nil
}
