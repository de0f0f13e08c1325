package protocol

import (
	"bytes"
	"unicode/utf8"
)

// FlatField is one field of a flat JSON object DecodeFlat fills: a string
// (S set) or a bool (B set) under the JSON key Name.
type FlatField struct {
	Name string
	S    *string
	B    *bool
}

// DecodeFlat decodes data, a compact JSON object whose values are strings,
// booleans or null (the inputs of most protocol methods), into fields
// without encoding/json's reflection, and reports whether it could. It
// reports false, having possibly set some fields, for anything it does
// not take (whitespace, numbers, nested values, an escaped key, a key
// that matches a field only without regard to case, a value of the wrong
// type, invalid JSON): the caller then decodes with encoding/json into a
// zeroed value. When it reports true the fields hold what encoding/json
// would have set: unknown keys ignored, null leaving a field as it was,
// the last of duplicate keys winning.
func DecodeFlat(data []byte, fields ...FlatField) bool {
	p := data
	if len(p) < 2 || p[0] != '{' {
		return false
	}
	p = p[1:]
	if p[0] == '}' {
		return len(p) == 1
	}
	for {
		// "key":
		if len(p) == 0 || p[0] != '"' {
			return false
		}
		end := bytes.IndexByte(p[1:], '"')
		if end < 0 {
			return false
		}
		key := p[1 : 1+end]
		if !plainASCII(key) {
			return false
		}
		p = p[2+end:]
		if len(p) == 0 || p[0] != ':' {
			return false
		}
		p = p[1:]
		var f *FlatField
		for i := range fields {
			if fields[i].Name == string(key) {
				f = &fields[i]
				break
			}
			if bytes.EqualFold([]byte(fields[i].Name), key) {
				return false // encoding/json's case-insensitive match
			}
		}
		// The value.
		switch {
		case len(p) > 0 && p[0] == '"':
			n, escaped, ok := stringLiteral(p)
			if !ok {
				return false
			}
			if f != nil {
				if f.S == nil {
					return false
				}
				lit := p[:n]
				if !escaped && utf8.Valid(lit) {
					*f.S = string(lit[1 : n-1])
				} else if *f.S, ok = unquote(lit); !ok {
					return false
				}
			} else if escaped {
				if _, ok := unquote(p[:n]); !ok {
					return false
				}
			}
			p = p[n:]
		case bytes.HasPrefix(p, []byte("true")), bytes.HasPrefix(p, []byte("false")):
			v := p[0] == 't'
			n := 5
			if v {
				n = 4
			}
			if f != nil {
				if f.B == nil {
					return false
				}
				*f.B = v
			}
			p = p[n:]
		case bytes.HasPrefix(p, []byte("null")):
			p = p[4:]
		default:
			return false
		}
		// , or the end.
		if len(p) == 0 {
			return false
		}
		switch p[0] {
		case ',':
			p = p[1:]
		case '}':
			return len(p) == 1
		default:
			return false
		}
	}
}

// stringLiteral returns the length of the JSON string literal at the
// start of p (quotes included), whether it holds escapes, and false when
// there is none (no closing quote, a raw control character).
func stringLiteral(p []byte) (n int, escaped, ok bool) {
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			escaped = true
			i++
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return 0, false, false
		}
	}
	return 0, false, false
}
