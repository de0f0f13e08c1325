package protocol

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// This file reads the messages a host gets for every transaction (the
// envelope's data, START_TRANSACTION's inputs, an IO response) without
// encoding/json's scanner and reflection. Each reader takes the compact
// shapes the servers and SDKs write and reports false for anything else
// (whitespace, an escaped or unknown-cased key, a duplicate key, a value of
// another type), which the caller then decodes with encoding/json: the
// result is the same either way.

// maxNesting is encoding/json's limit of nested arrays and objects.
const maxNesting = 10000

// validJSON reports whether s is one JSON value, surrounded by whitespace
// or not: what json.Valid reports, in one pass of plain code.
func validJSON(s string) bool {
	i := skipSpace(s, 0)
	end, ok := scanValue(s, i, 0)
	return ok && skipSpace(s, end) == len(s)
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// scanValue returns the end of the JSON value that starts at s[i], depth
// being the arrays and objects around it, and false when there is none.
// Whitespace inside arrays and objects is taken as encoding/json takes it.
func scanValue(s string, i, depth int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c == '"':
		return scanString(s, i)
	case c == '{':
		return scanObject(s, i, depth+1)
	case c == '[':
		return scanArray(s, i, depth+1)
	case c == 't':
		return scanLiteral(s, i, "true")
	case c == 'f':
		return scanLiteral(s, i, "false")
	case c == 'n':
		return scanLiteral(s, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return scanNumber(s, i)
	}
	return 0, false
}

func scanLiteral(s string, i int, lit string) (int, bool) {
	if strings.HasPrefix(s[i:], lit) {
		return i + len(lit), true
	}
	return 0, false
}

// scanString returns the end of the string literal at s[i] (a quote):
// escapes must be JSON's, control characters escaped; other bytes, invalid
// UTF-8 included, are taken as they are (encoding/json takes them).
func scanString(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(s) {
				return 0, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 >= len(s) {
					return 0, false
				}
				for _, h := range []byte(s[i+2 : i+6]) {
					if !isHex(h) {
						return 0, false
					}
				}
				i += 5
			default:
				return 0, false
			}
		case c < 0x20:
			return 0, false
		}
	}
	return 0, false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber returns the end of the number at s[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(s string, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return 0, false
		}
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return 0, false
		}
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	return i, true
}

func scanObject(s string, i, depth int) (int, bool) {
	if depth > maxNesting {
		return 0, false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return 0, false
		}
		var ok bool
		if i, ok = scanString(s, i); !ok {
			return 0, false
		}
		i = skipSpace(s, i)
		if i >= len(s) || s[i] != ':' {
			return 0, false
		}
		if i, ok = scanValue(s, skipSpace(s, i+1), depth); !ok {
			return 0, false
		}
		i = skipSpace(s, i)
		if i >= len(s) {
			return 0, false
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

func scanArray(s string, i, depth int) (int, bool) {
	if depth > maxNesting {
		return 0, false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = scanValue(s, i, depth); !ok {
			return 0, false
		}
		i = skipSpace(s, i)
		if i >= len(s) {
			return 0, false
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// objReader reads a compact JSON object key by key.
type objReader struct {
	s    string
	i    int
	keys []string // the object's field names, for the case-insensitive check
	seen uint32   // keys read, by index in keys
}

// open starts reading the object at s[i]; false when there is none.
func (r *objReader) open() bool {
	if r.i >= len(r.s) || r.s[r.i] != '{' {
		return false
	}
	r.i++
	return true
}

// next reads the next key and its colon. It returns the key's index in
// r.keys, -1 for a key that is none of them (its value is to be skipped),
// and done at the object's end. ok is false for what encoding/json would
// read otherwise: an escaped or non-ASCII key, one that matches a field
// only without regard to case, a key read before, a syntax error.
func (r *objReader) next() (field int, done, ok bool) {
	s := r.s
	if r.i < len(s) && s[r.i] == '}' {
		r.i++
		return 0, true, true
	}
	if r.seen != 0 {
		if r.i >= len(s) || s[r.i] != ',' {
			return 0, false, false
		}
		r.i++
	}
	if r.i >= len(s) || s[r.i] != '"' {
		return 0, false, false
	}
	end := strings.IndexByte(s[r.i+1:], '"')
	if end < 0 {
		return 0, false, false
	}
	key := s[r.i+1 : r.i+1+end]
	r.i += end + 2
	if r.i >= len(s) || s[r.i] != ':' || !plainASCII([]byte(key)) {
		return 0, false, false
	}
	r.i++
	field = -1
	for k, name := range r.keys {
		if name == key {
			field = k
			break
		}
		if strings.EqualFold(name, key) {
			return 0, false, false
		}
	}
	bit := uint32(1) << 31 // a key not read into a field: only marks "not first"
	if field >= 0 {
		bit = 1 << field
	}
	if field >= 0 && r.seen&bit != 0 {
		return 0, false, false
	}
	r.seen |= bit
	return field, false, true
}

// null reads a null; false (reading nothing) when the value is not null.
func (r *objReader) null() bool {
	if strings.HasPrefix(r.s[r.i:], "null") {
		r.i += 4
		return true
	}
	return false
}

// str reads a string value into *dst; null leaves *dst as it is.
func (r *objReader) str(dst *string) bool {
	if r.null() {
		return true
	}
	v, ok := r.stringValue()
	if ok {
		*dst = v
	}
	return ok
}

// stringValue reads a string literal and returns its value.
func (r *objReader) stringValue() (string, bool) {
	s := r.s
	if r.i >= len(s) || s[r.i] != '"' {
		return "", false
	}
	j := r.i + 1
	for j < len(s) && s[j] != '"' && s[j] != '\\' && s[j] >= 0x20 && s[j] < utf8.RuneSelf {
		j++
	}
	if j < len(s) && s[j] == '"' { // plain ASCII
		v := s[r.i+1 : j]
		r.i = j + 1
		return v, true
	}
	end, ok := scanString(s, r.i)
	if !ok {
		return "", false
	}
	v, ok := unquote(s[r.i:end])
	r.i = end
	return v, ok
}

// raw reads any value and returns its text.
func (r *objReader) raw() (string, bool) {
	// The value is nested in at most 3 arrays and objects here; taking
	// it as 4 may refuse a value nested just under encoding/json's
	// limit, which it then reads, never the other way round.
	end, ok := scanValue(r.s, r.i, 4)
	if !ok {
		return "", false
	}
	v := r.s[r.i:end]
	r.i = end
	return v, true
}

// skip reads any value.
func (r *objReader) skip() bool {
	_, ok := r.raw()
	return ok
}

// boolPtr reads true, false or null into *dst (null: nil).
func (r *objReader) boolPtr(dst **bool) bool {
	switch {
	case r.null():
		*dst = nil
	case strings.HasPrefix(r.s[r.i:], "true"):
		r.i += 4
		v := true
		*dst = &v
	case strings.HasPrefix(r.s[r.i:], "false"):
		r.i += 5
		v := false
		*dst = &v
	default:
		return false
	}
	return true
}

// stringPtr reads a string or null into *dst (null: nil).
func (r *objReader) stringPtr(dst **string) bool {
	if r.null() {
		*dst = nil
		return true
	}
	v, ok := r.stringValue()
	if ok {
		*dst = &v
	}
	return ok
}

// rawMessage reads any value into *dst as encoding/json fills a
// json.RawMessage (null included, as "null").
func (r *objReader) rawMessage(dst *json.RawMessage) bool {
	v, ok := r.raw()
	if ok {
		*dst = json.RawMessage(v)
	}
	return ok
}

// strings reads an array of strings, or null (nil), into *dst.
func (r *objReader) strings(dst *[]string) bool {
	if r.null() {
		*dst = nil
		return true
	}
	s := r.s
	if r.i >= len(s) || s[r.i] != '[' {
		return false
	}
	r.i++
	out := []string{}
	for {
		if r.i < len(s) && s[r.i] == ']' {
			r.i++
			*dst = out
			return true
		}
		if len(out) > 0 {
			if r.i >= len(s) || s[r.i] != ',' {
				return false
			}
			r.i++
		}
		if r.null() {
			out = append(out, "") // encoding/json leaves the element zero
			continue
		}
		v, ok := r.stringValue()
		if !ok {
			return false
		}
		out = append(out, v)
	}
}

// end reports whether the object read was the whole text.
func (r *objReader) end() bool { return r.i == len(r.s) }

var startTransactionKeys = []string{"transactionId", "displayResolvesImmediately", "actionName", "action", "environment", "user", "params", "paramsMeta"}

// DecodeStartTransaction decodes START_TRANSACTION's inputs: what
// json.Unmarshal gives, and the same error when it fails.
func DecodeStartTransaction(data []byte) (StartTransactionInputs, error) {
	var in StartTransactionInputs
	if decodeStartTransactionFast(string(data), &in) {
		return in, nil
	}
	in = StartTransactionInputs{}
	err := json.Unmarshal(data, &in)
	return in, err
}

// object reads the object at r.i, whose field names are keys: field is
// called with the index in keys of each field it meets, the reader at its
// value, and reads it; the values of other keys are skipped. False for
// what it cannot read as encoding/json would (see next).
func (r *objReader) object(keys []string, field func(o *objReader, k int) bool) bool {
	o := objReader{s: r.s, i: r.i, keys: keys}
	if !o.open() {
		return false
	}
	for {
		k, done, ok := o.next()
		if !ok {
			return false
		}
		if done {
			r.i = o.i
			return true
		}
		if k < 0 {
			ok = o.skip()
		} else {
			ok = field(&o, k)
		}
		if !ok {
			return false
		}
	}
}

func decodeStartTransactionFast(s string, in *StartTransactionInputs) bool {
	r := objReader{s: s}
	return r.object(startTransactionKeys, func(o *objReader, k int) bool {
		switch k {
		case 0:
			return o.str(&in.TransactionID)
		case 1:
			return o.boolPtr(&in.DisplayResolvesImmediately)
		case 2:
			return o.str(&in.ActionName)
		case 3:
			return o.null() || o.actionRef(&in.Action)
		case 4:
			return o.str(&in.Environment)
		case 5:
			return o.null() || o.user(&in.User)
		case 6:
			return o.rawMessage(&in.Params)
		default:
			return o.rawMessage(&in.ParamsMeta)
		}
	}) && r.end()
}

var actionRefKeys = []string{"slug", "url"}

// actionRef reads an ActionRef object.
func (r *objReader) actionRef(a *ActionRef) bool {
	return r.object(actionRefKeys, func(o *objReader, k int) bool {
		if k == 0 {
			return o.str(&a.Slug)
		}
		return o.str(&a.URL)
	})
}

var userKeys = []string{"email", "firstName", "lastName", "role", "teams"}

// user reads a User object.
func (r *objReader) user(u *User) bool {
	return r.object(userKeys, func(o *objReader, k int) bool {
		switch k {
		case 0:
			return o.str(&u.Email)
		case 1:
			return o.stringPtr(&u.FirstName)
		case 2:
			return o.stringPtr(&u.LastName)
		case 3:
			return o.str(&u.Role)
		default:
			return o.strings(&u.Teams)
		}
	})
}

var ioResponseKeys = []string{"id", "transactionId", "inputGroupKey", "values", "valuesMeta", "choice", "kind"}

// decodeIOResponseFast reads an IO response, reporting besides whether id
// and transactionId were there (DecodeIOResponse requires them).
func decodeIOResponseFast(s string, resp *IOResponse) (hasID, hasTx, ok bool) {
	r := objReader{s: s}
	ok = r.object(ioResponseKeys, func(o *objReader, k int) bool {
		switch k {
		case 0:
			// A null id is no id: DecodeIOResponse's *string stays nil.
			if o.null() {
				return true
			}
			hasID = true
			return o.str(&resp.ID)
		case 1:
			if o.null() {
				return true
			}
			hasTx = true
			return o.str(&resp.TransactionID)
		case 2:
			return o.str(&resp.InputGroupKey)
		case 3:
			return o.values(&resp.Values)
		case 4:
			return o.rawMessage(&resp.ValuesMeta)
		case 5:
			return o.str(&resp.Choice)
		default:
			return o.str(&resp.Kind)
		}
	}) && r.end()
	if !ok {
		return false, false, false
	}
	return hasID, hasTx, true
}

// values reads an array of raw values, or null (nil), into *dst.
func (r *objReader) values(dst *[]json.RawMessage) bool {
	if r.null() {
		*dst = nil
		return true
	}
	s := r.s
	if r.i >= len(s) || s[r.i] != '[' {
		return false
	}
	r.i++
	out := []json.RawMessage{}
	for {
		if r.i < len(s) && s[r.i] == ']' {
			r.i++
			*dst = out
			return true
		}
		if len(out) > 0 {
			if r.i >= len(s) || s[r.i] != ',' {
				return false
			}
			r.i++
		}
		v, ok := r.raw()
		if !ok {
			return false
		}
		out = append(out, json.RawMessage(v))
	}
}
