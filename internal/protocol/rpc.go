package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
)

// RPC envelope kinds.
const (
	KindCall     = "CALL"
	KindResponse = "RESPONSE"
)

// Envelope is the DuplexRPC message carried as the string data of a MESSAGE
// frame. Data is the method input (CALL) or return value (RESPONSE); it is
// nil for void returns, in which case the key is omitted on the wire.
type Envelope struct {
	ID         string
	Kind       string
	MethodName string
	Data       json.RawMessage
}

// AppendEnvelope appends the JSON of e to b with the key order the Node SDK
// uses: CALL {"id","kind","data","methodName"} and RESPONSE
// {"id","kind","methodName","data"?}.
func AppendEnvelope(b []byte, e Envelope) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, e.Kind)
	if e.Kind == KindCall {
		b = append(b, `,"data":`...)
		if len(e.Data) == 0 {
			b = append(b, `{}`...)
		} else {
			b = append(b, e.Data...)
		}
		b = append(b, `,"methodName":`...)
		b = appendJSONString(b, e.MethodName)
		return append(b, '}')
	}
	b = append(b, `,"methodName":`...)
	b = appendJSONString(b, e.MethodName)
	if len(e.Data) > 0 && string(e.Data) != "null" {
		b = append(b, `,"data":`...)
		b = append(b, e.Data...)
	}
	return append(b, '}')
}

type rawEnvelope struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	MethodName string          `json:"methodName"`
	Data       json.RawMessage `json:"data"`
}

// DecodeEnvelope parses an RPC envelope. A JSON null data is returned as nil.
func DecodeEnvelope(s string) (Envelope, error) {
	if e, ok := decodeEnvelopeFast(s); ok {
		return e, nil
	}
	return decodeEnvelopeSlow(s)
}

func decodeEnvelopeSlow(s string) (Envelope, error) {
	var re rawEnvelope
	if err := json.Unmarshal([]byte(s), &re); err != nil {
		return Envelope{}, fmt.Errorf("%w: rpc envelope: %v", ErrMalformed, err)
	}
	if re.ID == "" || re.MethodName == "" {
		return Envelope{}, fmt.Errorf("%w: rpc envelope without id or methodName", ErrMalformed)
	}
	if re.Kind != KindCall && re.Kind != KindResponse {
		return Envelope{}, fmt.Errorf("%w: rpc envelope kind %q", ErrMalformed, re.Kind)
	}
	if string(re.Data) == "null" {
		re.Data = nil
	}
	return Envelope(re), nil
}

// decodeEnvelopeFast decodes the exact shapes AppendEnvelope and the
// official SDKs write, CALL {"id","kind","data","methodName"} and RESPONSE
// {"id","kind","methodName","data"?}, with plain ids and method names,
// without encoding/json's reflection. It reports false for anything else
// (which then goes through encoding/json); when it reports true the result
// is what encoding/json gives.
func decodeEnvelopeFast(s string) (Envelope, bool) {
	const (
		idPrefix   = `{"id":"`
		kindCall   = `","kind":"CALL","data":`
		kindResp   = `","kind":"RESPONSE","methodName":"`
		methodName = `,"methodName":"`
		dataKey    = `","data":`
	)
	rest, ok := strings.CutPrefix(s, idPrefix)
	if !ok {
		return Envelope{}, false
	}
	i := strings.IndexByte(rest, '"')
	if i <= 0 || !plainASCII([]byte(rest[:i])) {
		return Envelope{}, false
	}
	e := Envelope{ID: rest[:i]}
	rest = rest[i:]
	var data string
	switch {
	case strings.HasPrefix(rest, kindCall):
		e.Kind = KindCall
		// {"id":"…","kind":"CALL","data":DATA,"methodName":"M"}
		body, ok := strings.CutSuffix(rest[len(kindCall):], `"}`)
		j := strings.LastIndex(body, methodName)
		if !ok || j < 0 {
			return Envelope{}, false
		}
		data, e.MethodName = body[:j], body[j+len(methodName):]
		if data == "" {
			return Envelope{}, false
		}
	case strings.HasPrefix(rest, kindResp):
		e.Kind = KindResponse
		// {"id":"…","kind":"RESPONSE","methodName":"M"(,"data":DATA)?}
		body, ok := strings.CutSuffix(rest[len(kindResp):], "}")
		if !ok {
			return Envelope{}, false
		}
		if j := strings.IndexByte(body, '"'); j >= 0 && j == len(body)-1 {
			e.MethodName = body[:j]
		} else if k := strings.Index(body, dataKey); k >= 0 {
			e.MethodName, data = body[:k], body[k+len(dataKey):]
			if data == "" {
				return Envelope{}, false
			}
		} else {
			return Envelope{}, false
		}
	default:
		return Envelope{}, false
	}
	if e.MethodName == "" || !plainASCII([]byte(e.MethodName)) {
		return Envelope{}, false
	}
	if data != "" && data != "null" {
		if isSpace(data[0]) || isSpace(data[len(data)-1]) || !validJSON(data) {
			return Envelope{}, false
		}
		e.Data = json.RawMessage(data)
	}
	return e, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
