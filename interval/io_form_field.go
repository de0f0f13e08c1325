package interval

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/interval-go/sdk/internal/naming"
)

// fieldSpec is one struct field of a Form as its `interval` tag and type
// describe it: what every field builder reads.
type fieldSpec struct {
	ft          reflect.Type // the field's type, pointer removed
	tag         map[string]string
	label       string
	help        string
	placeholder string
	optional    bool     // a pointer field or the optional flag
	min, max    *float64 // min= and max=, nil when absent
	options     []string // options=a|b|c
	in          InputIO
	// loc returns the form's location (Location may change it after the
	// fields are built).
	loc func() *time.Location
}

func (s *fieldSpec) has(key string) bool {
	_, ok := s.tag[key]
	return ok
}

// newFieldSpec reads sf's type and tag; it fails on a min or max that is
// not a number.
func newFieldSpec(c *ioClient, loc func() *time.Location, sf structField) (*fieldSpec, error) {
	s := &fieldSpec{
		ft:          sf.f.Type,
		tag:         sf.tag,
		label:       sf.tag["label"],
		help:        sf.tag["help"],
		placeholder: sf.tag["placeholder"],
		in:          InputIO{c},
		loc:         loc,
	}
	if s.label == "" {
		s.label = naming.Humanize(sf.f.Name)
	}
	if s.ft.Kind() == reflect.Pointer {
		s.ft, s.optional = s.ft.Elem(), true
	}
	if s.has("optional") {
		s.optional = true
	}
	var err error
	if s.min, err = tagFloat(s.tag, "min"); err != nil {
		return nil, err
	}
	if s.max, err = tagFloat(s.tag, "max"); err != nil {
		return nil, err
	}
	if o, ok := s.tag["options"]; ok {
		s.options = strings.Split(o, "|")
	}
	return s, nil
}

// fieldBuilder makes the input of one kind of form field.
type fieldBuilder struct {
	match func(s *fieldSpec) bool
	// build makes the input and binds ff to it (ff.comp, ff.set, ff.def).
	build func(s *fieldSpec, ff *formField) error
}

// fieldBuilders are tried in order and the first that matches builds the
// field: options decide first (a []string or options= field is a select),
// then the type, then the tag (a string field is an email, rich text, URL
// or text input).
var fieldBuilders = []fieldBuilder{
	{isStringSliceField, buildSelectMultipleField},
	{func(s *fieldSpec) bool { return len(s.options) > 0 }, buildSelectSingleField},
	{func(s *fieldSpec) bool { return s.ft == timeType || s.ft == dateTimeType }, buildDateTimeField},
	{func(s *fieldSpec) bool { return s.ft == dateType }, buildDateField},
	{func(s *fieldSpec) bool { return s.ft == timeOfDayType }, buildTimeField},
	{func(s *fieldSpec) bool { return s.ft.Kind() == reflect.Bool }, buildBooleanField},
	{func(s *fieldSpec) bool { return isStringField(s) && s.has("email") }, buildEmailField},
	{func(s *fieldSpec) bool { return isStringField(s) && s.has("richtext") }, buildRichTextField},
	{func(s *fieldSpec) bool { return isStringField(s) && s.has("url") }, buildURLField},
	{isStringField, buildTextField},
	{func(s *fieldSpec) bool { return isNumberKind(s.ft.Kind()) }, buildNumberField},
}

func isStringField(s *fieldSpec) bool { return s.ft.Kind() == reflect.String }

func isStringSliceField(s *fieldSpec) bool {
	return s.ft.Kind() == reflect.Slice && s.ft.Elem().Kind() == reflect.String
}

// buildField makes the input of one struct field of a form on c.
func buildField(c *ioClient, loc func() *time.Location, sf structField) (*formField, error) {
	s, err := newFieldSpec(c, loc, sf)
	if err != nil {
		return nil, err
	}
	for _, b := range fieldBuilders {
		if !b.match(s) {
			continue
		}
		ff := &formField{name: sf.f.Name, key: sf.key, index: sf.f.Index}
		if err := b.build(s, ff); err != nil {
			return nil, err
		}
		return ff, nil
	}
	return nil, fmt.Errorf("unsupported type %s", sf.f.Type)
}

// buildSelectMultipleField: a []string field with options.
func buildSelectMultipleField(s *fieldSpec, ff *formField) error {
	if len(s.options) == 0 {
		return errors.New("a []string field needs options")
	}
	sel := SelectMultiple(s.in, s.label, OptionsOf(s.options...)).HelpText(s.help)
	if s.min != nil {
		sel.MinSelections(int(*s.min))
	}
	if s.max != nil {
		sel.MaxSelections(int(*s.max))
	}
	if s.optional {
		sel.Optional()
	}
	ff.comp = sel
	ff.set = func(dst reflect.Value) {
		dst.FieldByIndex(ff.index).Set(reflect.ValueOf(sel.Value()).Convert(dst.FieldByIndex(ff.index).Type()))
	}
	ff.def = func(src reflect.Value) {
		fv := src.FieldByIndex(ff.index)
		vals := make([]string, fv.Len())
		for i := range vals {
			vals[i] = fv.Index(i).String()
		}
		sel.Default(vals...)
	}
	return nil
}

// buildSelectSingleField: a scalar field with options, parsed into the
// field's type.
func buildSelectSingleField(s *fieldSpec, ff *formField) error {
	ft := s.ft
	if !isPrimitiveType(ft) || ft == timeType {
		return fmt.Errorf("options on a %s field", ft)
	}
	parse := func(o string) (reflect.Value, error) { return parseScalar(ft, o) }
	for _, o := range s.options {
		if _, err := parse(o); err != nil {
			return err
		}
	}
	sel := SelectSingle(s.in, s.label, OptionsOf(s.options...)).HelpText(s.help)
	if s.optional {
		sel.Optional()
	}
	ff.comp = sel
	ff.set = func(dst reflect.Value) {
		v, _ := parse(sel.Value())
		ff.store(dst, v, sel.Answered())
	}
	ff.def = func(src reflect.Value) {
		if v, ok := ff.current(src); ok {
			sel.Default(fmt.Sprint(v.Interface()))
		}
	}
	return nil
}

// buildDateTimeField: a time.Time (in the form's location) or DateTime
// field.
func buildDateTimeField(s *fieldSpec, ff *formField) error {
	isTime := s.ft == timeType
	d := s.in.DateTime(s.label).HelpText(s.help)
	if s.optional {
		d.Optional()
	}
	ff.comp = d
	ff.set = func(dst reflect.Value) {
		var v reflect.Value
		if isTime {
			v = reflect.ValueOf(d.Value().Time(s.loc()))
		} else {
			v = reflect.ValueOf(d.Value())
		}
		ff.store(dst, v, d.Answered())
	}
	ff.def = func(src reflect.Value) {
		if v, ok := ff.current(src); ok {
			if t, isTime := v.Interface().(time.Time); isTime {
				d.Default(DateTimeOf(t.In(s.loc())))
			} else {
				d.Default(v.Interface().(DateTime))
			}
		}
	}
	return nil
}

func buildDateField(s *fieldSpec, ff *formField) error {
	d := s.in.Date(s.label).HelpText(s.help)
	bindValue(ff, d, s.optional, func(v Date) { d.Default(v) })
	return nil
}

func buildTimeField(s *fieldSpec, ff *formField) error {
	t := s.in.Time(s.label).HelpText(s.help)
	bindValue(ff, t, s.optional, func(v TimeOfDay) { t.Default(v) })
	return nil
}

func buildBooleanField(s *fieldSpec, ff *formField) error {
	b := s.in.Boolean(s.label).HelpText(s.help)
	bindValue(ff, b, s.optional, func(v bool) { b.Default(v) })
	return nil
}

func buildEmailField(s *fieldSpec, ff *formField) error {
	e := s.in.Email(s.label).HelpText(s.help).Placeholder(s.placeholder)
	bindValue(ff, e, s.optional, func(v string) { e.Default(v) })
	return nil
}

func buildRichTextField(s *fieldSpec, ff *formField) error {
	r := s.in.RichText(s.label).HelpText(s.help).Placeholder(s.placeholder)
	bindValue(ff, r, s.optional, func(v string) { r.Default(v) })
	return nil
}

// buildURLField: a string field asked as a URL and kept as its text.
func buildURLField(s *fieldSpec, ff *formField) error {
	u := s.in.URL(s.label).HelpText(s.help).Placeholder(s.placeholder)
	u.optional = s.optional // a *url.URL, kept in the field as text
	ff.comp = u
	ff.set = func(dst reflect.Value) {
		if u.Value() == nil {
			ff.store(dst, reflect.Value{}, false)
			return
		}
		ff.store(dst, reflect.ValueOf(u.Value().String()), u.Answered())
	}
	ff.def = func(src reflect.Value) {
		if v, ok := ff.current(src); ok {
			u.Default(v.String())
		}
	}
	return nil
}

// buildTextField: any other string field; min and max bound its length.
func buildTextField(s *fieldSpec, ff *formField) error {
	t := s.in.Text(s.label).HelpText(s.help).Placeholder(s.placeholder)
	if lines, ok := s.tag["multiline"]; ok {
		n, _ := strconv.Atoi(lines)
		t.Multiline(n)
	}
	if s.min != nil {
		t.MinLength(int(*s.min))
	}
	if s.max != nil {
		t.MaxLength(int(*s.max))
	}
	bindValue(ff, t, s.optional, func(v string) { t.Default(v) })
	return nil
}

// buildNumberField: an int, uint or float field of any size; the answer
// must fit the field's type.
func buildNumberField(s *fieldSpec, ff *formField) error {
	ft := s.ft
	n := s.in.Number(s.label).HelpText(s.help).Placeholder(s.placeholder)
	isInt := ft.Kind() != reflect.Float32 && ft.Kind() != reflect.Float64
	if !isInt {
		d := 2
		if v, ok := s.tag["decimals"]; ok {
			var err error
			if d, err = strconv.Atoi(v); err != nil || d < 0 {
				return fmt.Errorf("tag decimals=%q is not a count", v)
			}
		}
		n.Decimals(d)
	}
	if c, ok := s.tag["currency"]; ok {
		n.Currency(c)
	}
	if s.min != nil {
		n.Min(*s.min)
	} else if isUintKind(ft.Kind()) {
		n.Min(0)
	}
	if s.max != nil {
		n.Max(*s.max)
	}
	if s.optional {
		n.Optional()
	}
	n.Validate(numberFits(ft, isInt))
	ff.comp = n
	ff.set = func(dst reflect.Value) {
		var v reflect.Value
		switch {
		case isUintKind(ft.Kind()):
			v = reflect.ValueOf(uint64(n.Value()))
		case isInt:
			v = reflect.ValueOf(int64(n.Value()))
		default:
			v = reflect.ValueOf(n.Value())
		}
		ff.store(dst, v, n.Answered())
	}
	ff.def = func(src reflect.Value) {
		if v, ok := ff.current(src); ok {
			f, _ := number(v.Interface())
			n.Default(f)
		}
	}
	return nil
}

// numberFits returns a validator refusing numbers that overflow ft.
func numberFits(ft reflect.Type, isInt bool) func(v float64) error {
	zero := reflect.New(ft).Elem()
	return func(v float64) error {
		switch {
		case isUintKind(ft.Kind()):
			if v < 0 || v > math.MaxUint64 || zero.OverflowUint(uint64(v)) {
				return errors.New("This number is out of range.")
			}
		case isInt:
			if v < math.MinInt64 || v > math.MaxInt64 || zero.OverflowInt(int64(v)) {
				return errors.New("This number is out of range.")
			}
		case ft.Kind() == reflect.Float32:
			if zero.OverflowFloat(v) {
				return errors.New("This number is out of range.")
			}
		}
		return nil
	}
}
