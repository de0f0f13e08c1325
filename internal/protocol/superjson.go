package protocol

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// JSTimeLayout is JavaScript's Date.prototype.toISOString format.
const JSTimeLayout = "2006-01-02T15:04:05.000Z"

// Superjson annotations.
const (
	AnnotDate      = "Date"
	AnnotBigInt    = "bigint"
	AnnotUndefined = "undefined"
)

// Meta is a superjson meta object: {"values": tree}. An empty Meta is
// omitted from the wire.
type Meta struct {
	Values any `json:"values"`
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	bigIntType    = reflect.TypeFor[big.Int]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	numberType    = reflect.TypeFor[json.Number]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// Serialize turns a Go value into its superjson json half (a tree of
// map[string]any, []any, strings, float64/int64/json.Number, bools and nil)
// and its meta half (nil when nothing needs annotating). time.Time becomes an
// ISO string annotated "Date"; *big.Int a decimal string annotated "bigint".
// Structs follow encoding/json tags.
func Serialize(v any) (jsonValue any, meta json.RawMessage, err error) {
	paths := map[string]string{}
	out, err := plain(reflect.ValueOf(v), "", paths, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(paths) == 0 {
		return out, nil, nil
	}
	var tree any
	if a, ok := paths[""]; ok && len(paths) == 1 {
		tree = []string{a}
	} else {
		m := make(map[string][]string, len(paths))
		for p, a := range paths {
			m[p] = []string{a}
		}
		tree = m
	}
	meta, err = json.Marshal(Meta{Values: tree})
	return out, meta, err
}

func joinPath(base, key string) string {
	key = strings.ReplaceAll(key, ".", `\.`)
	if base == "" {
		return key
	}
	return base + "." + key
}

func plain(v reflect.Value, path string, paths map[string]string, depth int) (any, error) {
	if depth > 64 {
		return nil, fmt.Errorf("superjson: value nested deeper than 64 levels at %q", path)
	}
	if !v.IsValid() {
		return nil, nil
	}
	t := v.Type()
	switch {
	case t == timeType:
		paths[path] = AnnotDate
		return v.Interface().(time.Time).UTC().Format(JSTimeLayout), nil
	case t == bigIntType:
		b := v.Interface().(big.Int)
		paths[path] = AnnotBigInt
		return b.String(), nil
	case t == numberType:
		// A number kept as text (Decoder.UseNumber): stays a JSON number.
		n := json.Number(v.String())
		if _, err := n.Float64(); err != nil {
			return nil, fmt.Errorf("superjson: invalid json.Number %q at %q", string(n), path)
		}
		return n, nil
	case t == rawType:
		raw := v.Interface().(json.RawMessage)
		if len(raw) == 0 {
			return nil, nil
		}
		return raw, nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		if t.Kind() == reflect.Pointer && t.Elem() == bigIntType {
			paths[path] = AnnotBigInt
			return v.Interface().(*big.Int).String(), nil
		}
		if t.Implements(marshalerType) && t.Kind() == reflect.Pointer {
			return marshalRaw(v)
		}
		return plain(v.Elem(), path, paths, depth+1)
	}
	if t.Implements(marshalerType) {
		return marshalRaw(v)
	}
	if t.Implements(textMarshaler) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), err
	}
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint(), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			paths[path] = "number"
			return "NaN", nil
		case math.IsInf(f, 1):
			paths[path] = "number"
			return "Infinity", nil
		case math.IsInf(f, -1):
			paths[path] = "number"
			return "-Infinity", nil
		}
		return f, nil
	case reflect.String:
		return v.String(), nil
	case reflect.Slice:
		if v.IsNil() {
			return nil, nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			b, _ := json.Marshal(v.Bytes())
			return json.RawMessage(b), nil
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			e, err := plain(v.Index(i), joinPath(path, strconv.Itoa(i)), paths, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		if v.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			k, err := mapKey(iter.Key())
			if err != nil {
				return nil, err
			}
			e, err := plain(iter.Value(), joinPath(path, k), paths, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	case reflect.Struct:
		return plainStruct(v, path, paths, depth)
	}
	return nil, fmt.Errorf("superjson: cannot encode %s at %q", t, path)
}

func marshalRaw(v reflect.Value) (any, error) {
	b, err := v.Interface().(json.Marshaler).MarshalJSON()
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", fmt.Errorf("superjson: unsupported map key type %s", k.Type())
}

// orderedObject keeps struct field order when encoded.
type orderedObject struct {
	keys []string
	vals map[string]any
}

func (o *orderedObject) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		vb, err := marshalNoHTML(o.vals[k])
		if err != nil {
			return nil, err
		}
		b = append(b, vb...)
	}
	return append(b, '}'), nil
}

func plainStruct(v reflect.Value, path string, paths map[string]string, depth int) (any, error) {
	obj := &orderedObject{vals: map[string]any{}}
	if err := addFields(obj, v, path, paths, depth); err != nil {
		return nil, err
	}
	return obj, nil
}

func addFields(obj *orderedObject, v reflect.Value, path string, paths map[string]string, depth int) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv, ft = fv.Elem(), ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != timeType {
				if err := addFields(obj, fv, path, paths, depth+1); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "omitempty") && isEmpty(fv) {
			continue
		}
		if strings.Contains(opts, "omitzero") && fv.IsZero() {
			continue
		}
		e, err := plain(fv, joinPath(path, name), paths, depth+1)
		if err != nil {
			return err
		}
		if _, dup := obj.vals[name]; !dup {
			obj.keys = append(obj.keys, name)
		}
		obj.vals[name] = e
	}
	return nil
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// Deserialize decodes a superjson json half (as raw JSON) and applies its
// meta: "Date" values become time.Time, "bigint" *big.Int, "undefined" keys
// are removed, "set" stays a []any, "map" becomes map[string]any where keys
// are strings. Unknown annotations are ignored. Numbers decode as float64.
func Deserialize(raw json.RawMessage, meta json.RawMessage) (any, error) {
	var v any
	if len(raw) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: superjson json: %v", ErrMalformed, err)
	}
	if len(meta) == 0 || string(meta) == "null" {
		return v, nil
	}
	var m struct {
		Values json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		return nil, fmt.Errorf("%w: superjson meta: %v", ErrMalformed, err)
	}
	if len(m.Values) == 0 || string(m.Values) == "null" {
		return v, nil
	}
	var tree any
	if err := json.Unmarshal(m.Values, &tree); err != nil {
		return nil, fmt.Errorf("%w: superjson meta values: %v", ErrMalformed, err)
	}
	v, err := applyNode(v, tree, 0)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(undefinedValue); ok {
		return nil, nil // root undefined
	}
	return v, nil
}

// applyNode applies a node or a map of path → node to v.
func applyNode(v any, tree any, depth int) (any, error) {
	if depth > 64 {
		return nil, fmt.Errorf("%w: superjson meta nested too deep", ErrMalformed)
	}
	switch n := tree.(type) {
	case []any: // [annotation] or [annotation, {children}]
		if len(n) == 0 {
			return v, nil
		}
		if len(n) > 1 {
			children, ok := n[1].(map[string]any)
			if ok {
				var err error
				if v, err = applyPaths(v, children, depth); err != nil {
					return nil, err
				}
			}
		}
		return annotate(v, n[0]), nil
	case map[string]any:
		return applyPaths(v, n, depth)
	}
	return v, nil
}

func applyPaths(v any, paths map[string]any, depth int) (any, error) {
	// Apply deeper paths first so container annotations see final children.
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, p := range keys {
		var err error
		v, err = setPath(v, splitPath(p), paths[p], depth)
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

func splitPath(p string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) && p[i+1] == '.' {
			cur.WriteByte('.')
			i++
			continue
		}
		if p[i] == '.' {
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(p[i])
	}
	return append(parts, cur.String())
}

// undefinedValue marks a value annotated "undefined" until its key is
// removed; a private type cannot collide with decoded JSON.
type undefinedValue struct{}

func setPath(v any, parts []string, node any, depth int) (any, error) {
	if len(parts) == 0 {
		return applyNode(v, node, depth+1)
	}
	switch c := v.(type) {
	case map[string]any:
		child, ok := c[parts[0]]
		if !ok {
			// Never create keys: an annotation for an absent key
			// (including "undefined") changes nothing.
			return v, nil
		}
		nv, err := setPath(child, parts[1:], node, depth+1)
		if err != nil {
			return nil, err
		}
		if _, ok := nv.(undefinedValue); ok {
			delete(c, parts[0])
		} else {
			c[parts[0]] = nv
		}
		return c, nil
	case []any:
		i, err := strconv.Atoi(parts[0])
		if err != nil || i < 0 || i >= len(c) {
			return v, nil
		}
		nv, err := setPath(c[i], parts[1:], node, depth+1)
		if err != nil {
			return nil, err
		}
		if _, ok := nv.(undefinedValue); ok {
			nv = nil
		}
		c[i] = nv
		return c, nil
	}
	return v, nil
}

func annotate(v any, a any) any {
	name, _ := a.(string)
	switch name {
	case AnnotDate:
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t
			}
		}
	case AnnotBigInt:
		if s, ok := v.(string); ok {
			if b, ok := new(big.Int).SetString(s, 10); ok {
				return b
			}
		}
	case AnnotUndefined:
		return undefinedValue{}
	case "number":
		if s, ok := v.(string); ok {
			switch s {
			case "NaN":
				return math.NaN()
			case "Infinity":
				return math.Inf(1)
			case "-Infinity":
				return math.Inf(-1)
			}
		}
	case "map":
		if pairs, ok := v.([]any); ok {
			m := make(map[string]any, len(pairs))
			for _, p := range pairs {
				kv, ok := p.([]any)
				if !ok || len(kv) != 2 {
					return v
				}
				m[fmt.Sprint(kv[0])] = kv[1]
			}
			return m
		}
	}
	return v
}
