package interval

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// Params are an action's or page's params: strings, float64 numbers,
// booleans, nil, time.Time (superjson dates) and *big.Int (bigints).
type Params map[string]any

func decodeParams(raw, meta json.RawMessage) (Params, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return Params{}, nil
	}
	v, err := protocol.Deserialize(raw, meta)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: params are not an object", protocol.ErrMalformed)
	}
	return Params(m), nil
}

// String returns the param as a string (numbers and booleans formatted)
// and whether it was present.
func (p Params) String(key string) (string, bool) {
	switch v := p[key].(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	case *big.Int:
		return v.String(), true
	case time.Time:
		return v.Format(time.RFC3339Nano), true
	}
	return "", false
}

// Int returns the param as an int, parsing strings; ok is false when it is
// absent or not a whole number.
func (p Params) Int(key string) (int, bool) {
	switch v := p[key].(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), true
		}
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	case *big.Int:
		if v.IsInt64() {
			return int(v.Int64()), true
		}
	}
	return 0, false
}

// Float returns the param as a float64, parsing strings.
func (p Params) Float(key string) (float64, bool) {
	switch v := p[key].(type) {
	case float64:
		return v, true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

// Bool returns the param as a bool, parsing "true"/"false".
func (p Params) Bool(key string) (bool, bool) {
	switch v := p[key].(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return false, false
}

// Time returns the param as a time: a superjson Date, or an RFC 3339
// string.
func (p Params) Time(key string) (time.Time, bool) {
	switch v := p[key].(type) {
	case time.Time:
		return v, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		return t, err == nil
	}
	return time.Time{}, false
}
