package protocol

import (
	"encoding/json"
	"fmt"
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
