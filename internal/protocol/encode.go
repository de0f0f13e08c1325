package protocol

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// This file writes the JSON of the messages a host sends for every
// transaction (an IO call's render and its components' props, the inputs of
// SEND_IO_CALL and MARK_TRANSACTION_COMPLETE, an action's result) without
// encoding/json's reflection. Each function writes byte for byte what
// Marshal (encoding/json without HTML escaping) writes for the same value.

// appendGoString appends s as a JSON string exactly as encoding/json writes
// it with HTML escaping off: '"', '\\' and control characters escaped (\b,
// \f, \n, \r, \t short), invalid UTF-8 bytes as \ufffd, U+2028 and U+2029
// as \u2028 and \u2029. (appendJSONString writes JSON.stringify's form,
// which differs in the last two.)
func appendGoString(b []byte, s string) []byte {
	return appendQuoted(b, s, true)
}

// appendGoFloat appends the finite number f as encoding/json writes a
// float64 (ES6 number formatting).
func appendGoFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendRaw appends raw as encoding/json writes a json.RawMessage: null
// when empty, else compacted (and checked: invalid JSON is an error).
func appendRaw(b []byte, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return append(b, "null"...), nil
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return b, err
	}
	return buf.Bytes(), nil
}

// JSONAppender is a value that writes its own JSON, byte for byte what
// Marshal writes for it, without reflection.
type JSONAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// AppendIORender appends the JSON of r to b: what Marshal(r) writes.
func AppendIORender(b []byte, r *IORender) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendGoString(b, r.ID)
	b = append(b, `,"inputGroupKey":`...)
	b = appendGoString(b, r.InputGroupKey)
	b = append(b, `,"toRender":`...)
	b = append(b, '[') // [] when nil (IORender.MarshalJSON)
	for i := range r.ToRender {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendComponentRender(b, &r.ToRender[i]); err != nil {
			return b, err
		}
	}
	b = append(b, ']')
	if r.ValidationErrorMessage != "" {
		b = append(b, `,"validationErrorMessage":`...)
		b = appendGoString(b, r.ValidationErrorMessage)
	}
	b = append(b, `,"kind":`...)
	b = appendGoString(b, r.Kind)
	if len(r.ChoiceButtons) > 0 {
		b = append(b, `,"choiceButtons":[`...)
		for i, c := range r.ChoiceButtons {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"label":`...)
			b = appendGoString(b, c.Label)
			b = append(b, `,"value":`...)
			b = appendGoString(b, c.Value)
			if c.Theme != "" {
				b = append(b, `,"theme":`...)
				b = appendGoString(b, c.Theme)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if c := r.ContinueButton; c != nil {
		b = append(b, `,"continueButton":{`...)
		if c.Label != "" {
			b = append(b, `"label":`...)
			b = appendGoString(b, c.Label)
		}
		if c.Theme != "" {
			if c.Label != "" {
				b = append(b, ',')
			}
			b = append(b, `"theme":`...)
			b = appendGoString(b, c.Theme)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func appendComponentRender(b []byte, c *ComponentRender) ([]byte, error) {
	b = append(b, `{"methodName":`...)
	b = appendGoString(b, c.MethodName)
	b = append(b, `,"label":`...)
	b = appendGoString(b, c.Label)
	b = append(b, `,"isStateful":`...)
	b = strconv.AppendBool(b, c.IsStateful)
	b = append(b, `,"isOptional":`...)
	b = strconv.AppendBool(b, c.IsOptional)
	b = append(b, `,"isMultiple":`...)
	b = strconv.AppendBool(b, c.IsMultiple)
	if c.ValidationErrorMessage != "" {
		b = append(b, `,"validationErrorMessage":`...)
		b = appendGoString(b, c.ValidationErrorMessage)
	}
	if m := c.MultipleProps; m != nil {
		b = append(b, `,"multipleProps":{`...)
		if m.DefaultValue != nil {
			d, err := marshalNoHTML(m.DefaultValue)
			if err != nil {
				return b, err
			}
			b = append(b, `"defaultValue":`...)
			b = append(b, d...)
		}
		b = append(b, '}')
	}
	b = append(b, `,"props":`...)
	var err error
	if isNullJSON(c.Props) {
		b = append(b, "{}"...) // ComponentRender.MarshalJSON
	} else if b, err = appendRaw(b, c.Props); err != nil {
		return b, err
	}
	if len(c.PropsMeta) > 0 {
		b = append(b, `,"propsMeta":`...)
		if b, err = appendRaw(b, c.PropsMeta); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// AppendJSON appends the JSON of in to b: what Marshal(in) writes.
func (in SendIOCallInputs) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"transactionId":`...)
	b = appendGoString(b, in.TransactionID)
	b = append(b, `,"ioCall":`...)
	b = appendGoString(b, in.IOCall)
	if in.SkipClientCall {
		b = append(b, `,"skipClientCall":true`...)
	}
	return append(b, '}'), nil
}

// AppendJSON appends the JSON of in to b: what Marshal(in) writes.
func (in MarkTransactionCompleteInputs) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"transactionId":`...)
	b = appendGoString(b, in.TransactionID)
	if in.ResultStatus != "" {
		b = append(b, `,"resultStatus":`...)
		b = appendGoString(b, in.ResultStatus)
	}
	if in.Result != "" {
		b = append(b, `,"result":`...)
		b = appendGoString(b, in.Result)
	}
	if in.SkipClientCall {
		b = append(b, `,"skipClientCall":true`...)
	}
	return append(b, '}'), nil
}

// AppendJSON appends the JSON of r to b: what Marshal(r) writes.
func (r ActionResult) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"schemaVersion":`...)
	b = strconv.AppendInt(b, int64(r.SchemaVersion), 10)
	b = append(b, `,"status":`...)
	b = appendGoString(b, r.Status)
	b = append(b, `,"data":`...)
	var err error
	if b, err = appendRaw(b, r.Data); err != nil {
		return b, err
	}
	if len(r.Meta) > 0 {
		b = append(b, `,"meta":`...)
		if b, err = appendRaw(b, r.Meta); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// SerializeJSON is Serialize followed by Marshal of its json half: it
// returns the JSON text of v's superjson json half and its meta half.
// Values of a scalar type (strings, booleans, integers, finite floats) and
// structs whose fields are all such scalars or pointers to them, the props
// of most components, are written without building the tree in between.
func SerializeJSON(v any) (js []byte, meta json.RawMessage, err error) {
	if b, ok := appendFlat(make([]byte, 0, 128), v); ok {
		return b, nil, nil
	}
	plain, meta, err := Serialize(v)
	if err != nil {
		return nil, nil, err
	}
	js, err = marshalNoHTML(plain)
	if err != nil {
		return nil, nil, err
	}
	return js, meta, nil
}

// flatField is one field of a flat struct type: its index, its key as
// written (`"name":`, after the comma), its kind and whether it is a
// pointer, and its omitempty / omitzero options.
type flatField struct {
	index     int
	key       string
	kind      reflect.Kind
	ptr       bool
	omitEmpty bool
	omitZero  bool
}

// flatPlan is how a flat struct type is written; nil for a type that is
// not flat.
type flatPlan struct{ fields []flatField }

var flatPlans sync.Map // reflect.Type → *flatPlan (nil: not flat)

// flatScalar reports whether t is a scalar kind appendFlat writes, with no
// method of its own that Serialize would call.
func flatScalar(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
	default:
		return false
	}
	if t == numberType {
		return false
	}
	return !t.Implements(marshalerType) && !t.Implements(textMarshaler) &&
		!reflect.PointerTo(t).Implements(marshalerType) && !reflect.PointerTo(t).Implements(textMarshaler)
}

// planFor returns the plan of struct type t, nil when t is not flat: a
// field that is embedded, not a scalar or a pointer to one, or a name
// twice makes it go through Serialize.
func planFor(t reflect.Type) *flatPlan {
	if p, ok := flatPlans.Load(t); ok {
		return p.(*flatPlan)
	}
	p := makePlan(t)
	flatPlans.Store(t, p)
	return p
}

func makePlan(t reflect.Type) *flatPlan {
	if t.Implements(marshalerType) || t.Implements(textMarshaler) || t == timeType || t == bigIntType {
		return nil
	}
	p := &flatPlan{}
	seen := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		if f.Anonymous {
			return nil
		}
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		ft, ptr := f.Type, false
		if ft.Kind() == reflect.Pointer {
			if ft.Implements(marshalerType) || ft.Implements(textMarshaler) {
				return nil
			}
			ft, ptr = ft.Elem(), true
		}
		if !flatScalar(ft) {
			return nil
		}
		p.fields = append(p.fields, flatField{
			index: i, key: string(appendJSONString(nil, name)) + ":", kind: ft.Kind(), ptr: ptr,
			omitEmpty: strings.Contains(opts, "omitempty"), omitZero: strings.Contains(opts, "omitzero"),
		})
	}
	return p
}

// appendFlat appends the JSON of v's superjson json half when v is a flat
// struct or a scalar without annotations (a NaN or infinite float has
// one), and reports whether it could.
func appendFlat(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return appendGoString(b, v), true
	case bool:
		return strconv.AppendBool(b, v), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case nil:
		return append(b, "null"...), true
	}
	rv := reflect.ValueOf(v)
	t := rv.Type()
	if t.Kind() != reflect.Struct {
		if flatScalar(t) {
			return appendScalar(b, rv)
		}
		return b, false
	}
	p := planFor(t)
	if p == nil {
		return b, false
	}
	b = append(b, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		fv := rv.Field(f.index)
		if f.ptr {
			if fv.IsNil() {
				if f.omitEmpty || f.omitZero {
					continue
				}
				if !first {
					b = append(b, ',')
				}
				first = false
				b = append(b, f.key...)
				b = append(b, "null"...)
				continue
			}
			fv = fv.Elem()
		} else if f.omitEmpty && isEmpty(fv) || f.omitZero && fv.IsZero() {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		var ok bool
		if b, ok = appendScalar(b, fv); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendScalar appends the scalar rv as Marshal(Serialize(rv)) writes it;
// false for a NaN or infinite float (Serialize annotates those).
func appendScalar(b []byte, rv reflect.Value) ([]byte, bool) {
	switch rv.Kind() {
	case reflect.String:
		return appendGoString(b, rv.String()), true
	case reflect.Bool:
		return strconv.AppendBool(b, rv.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, rv.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, false
		}
		return appendGoFloat(b, f), true
	}
	return b, false
}

// The server's hot calls and answers (a render to the console, an answer
// to the host, a run's end, true or false to a host's SEND_IO_CALL),
// written without reflection as the host's are.

// AppendJSON appends the JSON of in to b: what Marshal(in) writes.
func (in RenderInputs) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"transactionId":`...)
	b = appendGoString(b, in.TransactionID)
	b = append(b, `,"toRender":`...)
	b = appendGoString(b, in.ToRender)
	return append(b, '}'), nil
}

// AppendJSON appends the JSON of in to b: what Marshal(in) writes.
func (in IOResponseInputs) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"value":`...)
	b = appendGoString(b, in.Value)
	b = append(b, `,"transactionId":`...)
	b = appendGoString(b, in.TransactionID)
	return append(b, '}'), nil
}

// AppendJSON appends the JSON of in to b: what Marshal(in) writes.
func (in TransactionCompletedInputs) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"transactionId":`...)
	b = appendGoString(b, in.TransactionID)
	b = append(b, `,"resultStatus":`...)
	b = appendGoString(b, in.ResultStatus)
	if in.Result != "" {
		b = append(b, `,"result":`...)
		b = appendGoString(b, in.Result)
	}
	if in.ResultHTML != "" {
		b = append(b, `,"resultHtml":`...)
		b = appendGoString(b, in.ResultHTML)
	}
	return append(b, '}'), nil
}

// AppendJSON appends the JSON of r to b: what Marshal(r) writes (its
// MarshalJSON).
func (r SendIOCallReturns) AppendJSON(b []byte) ([]byte, error) {
	switch {
	case r.OK:
		return append(b, "true"...), nil
	case r.Message == "":
		return append(b, "false"...), nil
	}
	b = append(b, `{"type":"ERROR","message":`...)
	b = appendGoString(b, r.Message)
	return append(b, '}'), nil
}
